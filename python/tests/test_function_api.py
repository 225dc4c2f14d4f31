"""tune.run with function trainables: grid/random spaces, reporter(...) and tune.report,
the analysis as pandas, and the trials' processes."""
import os
import threading

import pandas as pd

import tune


def test_grid_search_with_reporter_gives_one_row_per_trial(run_kwargs):
    def train(config, reporter):
        for i in range(3):
            reporter(mean_loss=(config["x"] - 2) ** 2 + 1.0 / (i + 1))

    analysis = tune.run(train, config={"x": tune.grid_search([1, 2, 3])}, **run_kwargs)
    df = analysis.dataframe()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 3
    assert sorted(df["config/x"]) == [1, 2, 3]
    assert set(df["status"]) == {"TERMINATED"}
    assert list(df["training_iteration"]) == [3, 3, 3]
    assert analysis.get_best_config(metric="mean_loss", mode="min") == {"x": 2}
    frames = analysis.trial_dataframes
    assert len(frames) == 3
    assert all(len(f) == 3 for f in frames.values())


def test_tune_report_and_random_search_sample_within_bounds(run_kwargs):
    def train(config):
        tune.report(score=config["lr"] * config["n"], trial_id=tune.get_trial_id())
        assert os.path.isdir(tune.get_trial_dir())

    analysis = tune.run(train, num_samples=5, config={
        "lr": tune.loguniform(1e-4, 1e-1), "n": tune.randint(1, 4), "act": tune.choice(["relu", "tanh"]),
        "double": tune.sample_from(lambda spec: spec.config.n * 2)}, **run_kwargs)
    df = analysis.dataframe()
    assert len(df) == 5
    assert df["config/lr"].between(1e-4, 1e-1).all()
    assert set(df["config/n"]) <= {1, 2, 3}
    assert (df["config/double"] == 2 * df["config/n"]).all()
    assert set(df["config/act"]) <= {"relu", "tanh"}


def test_trials_run_in_processes_other_than_the_drivers_and_closures_need_no_pickling(run_kwargs):
    unpicklable = threading.Lock()  # pickling a lock fails: a fork needs no pickling
    seen = {"calls": 0}

    def train(config):
        with unpicklable:
            seen["calls"] += 1  # changes the trial's copy only
        tune.report(trial_pid=os.getpid(), calls=seen["calls"])

    analysis = tune.run(train, num_samples=3, **run_kwargs)
    df = analysis.dataframe()
    assert os.getpid() not in set(df["trial_pid"])
    assert len(set(df["trial_pid"])) == 3
    assert list(df["calls"]) == [1, 1, 1]
    assert seen["calls"] == 0


def test_thread_execution_runs_in_the_driver(run_kwargs):
    def train(config):
        tune.report(trial_pid=os.getpid())

    analysis = tune.run(train, num_samples=2, execution="thread", **run_kwargs)
    assert set(analysis.dataframe()["trial_pid"]) == {os.getpid()}


def test_experiment_analysis_reads_the_directory_again(run_kwargs):
    def train(config, reporter):
        reporter(acc=config["a"])

    first = tune.run(train, name="again", config={"a": tune.grid_search([0.1, 0.9])}, **run_kwargs)
    again = tune.ExperimentAnalysis(first.experiment_dir)
    assert again.get_best_config(metric="acc", mode="max") == {"a": 0.9}
    assert len(again.get_all_configs()) == 2
