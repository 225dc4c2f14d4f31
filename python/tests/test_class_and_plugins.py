"""Class trainables (both naming styles), schedulers, searchers, stoppers, callbacks and
loggers written in Python, all on the engine's plugins."""
import json
import os

import pytest

import tune
from tune.schedulers import AsyncHyperBandScheduler, MedianStoppingRule, PopulationBasedTraining
from tune.suggest import ConcurrencyLimiter, Repeater, TPESearch


class OldStyle(tune.Trainable):
    def _setup(self, config):
        self.x = config["x"]
        self.steps = 0

    def _train(self):
        self.steps += 1
        return {"value": self.x * self.steps}

    def _save(self, checkpoint_dir):
        return {"steps": self.steps}

    def _restore(self, checkpoint):
        self.steps = checkpoint["steps"]


class NewStyle(tune.Trainable):
    def setup(self, config):
        self.x = config["x"]
        self.steps = 0

    def step(self):
        self.steps += 1
        return {"value": self.x * self.steps, "pid": os.getpid()}

    def save_checkpoint(self, checkpoint_dir):
        path = os.path.join(checkpoint_dir, "state.json")
        with open(path, "w") as f:
            json.dump({"steps": self.steps}, f)
        return path

    def load_checkpoint(self, path):
        with open(path) as f:
            self.steps = json.load(f)["steps"]


@pytest.mark.parametrize("cls", [OldStyle, NewStyle])
def test_class_trainables_in_both_naming_styles_step_and_checkpoint(cls, run_kwargs):
    analysis = tune.run(cls, config={"x": tune.grid_search([1, 2])}, stop={"training_iteration": 4},
                        checkpoint_freq=2, checkpoint_at_end=True, **run_kwargs)
    df = analysis.dataframe()
    assert sorted(df["value"]) == [4, 8]
    for trial in analysis.trials:
        paths = analysis.get_trial_checkpoints_paths(trial)
        assert [os.path.basename(p) for p, _ in paths] == ["checkpoint_2", "checkpoint_4"]


def test_restore_runs_a_class_trial_on_from_a_checkpoint(run_kwargs):
    first = tune.run(NewStyle, config={"x": 3}, stop={"training_iteration": 2}, checkpoint_at_end=True,
                     **run_kwargs)
    (path, _), = first.get_trial_checkpoints_paths(first.trials[0])
    second = tune.run(NewStyle, config={"x": 3}, stop={"training_iteration": 4}, restore=path, **run_kwargs)
    assert second.trials[0]["last_result"]["value"] == 12


def test_asha_stops_bad_trials_early(run_kwargs):
    def train(config, reporter):
        for i in range(1, 28):
            reporter(loss=config["q"] / i)

    asha = AsyncHyperBandScheduler(metric="loss", mode="min", max_t=27, grace_period=1, reduction_factor=3)
    analysis = tune.run(train, config={"q": tune.grid_search(list(range(1, 10)))}, scheduler=asha,
                        execution="thread", **run_kwargs)
    iterations = sorted(analysis.dataframe()["training_iteration"])
    assert iterations[-1] == 27 and iterations[0] < 27


def test_median_stopping_rule_accepts_rays_keywords_and_rejects_a_typo():
    MedianStoppingRule(metric="loss", mode="min", grace_period=2)
    with pytest.raises(tune.TuneError, match="grace_period"):
        MedianStoppingRule(metric="loss", mode="min", grace_peroid=2)


def test_tpe_in_a_concurrency_limiter_and_a_repeater_finds_the_minimum_region(run_kwargs):
    def objective(config):
        tune.report(loss=(config["x"] - 0.7) ** 2)

    search = ConcurrencyLimiter(Repeater(TPESearch(n_startup_trials=5, seed=3), repeat=2), max_concurrent=2)
    analysis = tune.run(objective, config={"x": tune.uniform(0, 1)}, search_alg=search, num_samples=24,
                        metric="loss", mode="min", execution="thread", **run_kwargs)
    assert len(analysis.trials) == 24
    assert abs(analysis.get_best_config()["x"] - 0.7) < 0.2


@pytest.mark.parametrize("name", ["GPSearch", "CMAESSearch"])
def test_other_model_based_searchers_run(name, run_kwargs):
    def objective(config):
        tune.report(loss=(config["x"] - 0.3) ** 2 + config["y"])

    searcher = getattr(tune.suggest, name)(seed=1)
    analysis = tune.run(objective, config={"x": tune.uniform(0, 1), "y": tune.uniform(0, 1)}, search_alg=searcher,
                        num_samples=10, metric="loss", mode="min", execution="thread", **run_kwargs)
    assert len(analysis.trials) == 10


def test_pbt_with_callable_mutations_explores_and_checkpoints(run_kwargs):
    class Model(tune.Trainable):
        def setup(self, config):
            self.total = 0.0

        def step(self):
            self.total += self.config["lr"]
            return {"total": self.total, "lr": self.config["lr"]}

        def save_checkpoint(self, d):
            return {"total": self.total}

        def load_checkpoint(self, state):
            self.total = state["total"]

        def reset_config(self, new_config):
            return True

    pbt = PopulationBasedTraining(time_attr="training_iteration", metric="total", mode="max",
                                  perturbation_interval=2,
                                  hyperparam_mutations={"lr": lambda: 0.5, "momentum": [0.1, 0.9]})
    analysis = tune.run(Model, config={"lr": tune.grid_search([0.01, 0.1, 1.0, 2.0]), "momentum": 0.1},
                        scheduler=pbt, stop={"training_iteration": 8}, **run_kwargs)
    assert len(analysis.trials) == 4
    lrs = {t["last_result"]["lr"] for t in analysis.trials}
    assert lrs - {0.01, 0.1, 1.0, 2.0}, "some trial should have explored to a new lr"


def test_stoppers_in_python_and_built_in(run_kwargs):
    class StopAtThree(tune.Stopper):
        def __call__(self, trial_id, result):
            return result["training_iteration"] >= 3

    def train(config, reporter):
        for i in range(100):
            reporter(v=i)

    a = tune.run(train, stop=StopAtThree(), execution="thread", **run_kwargs)
    assert a.trials[0]["last_result"]["training_iteration"] == 3
    b = tune.run(train, stop=lambda trial_id, result: result["v"] >= 4, execution="thread", **run_kwargs)
    assert b.trials[0]["last_result"]["training_iteration"] == 5
    c = tune.run(train, stop=tune.stopper.MaximumIterationStopper(max_iter=2), **run_kwargs)
    assert c.trials[0]["last_result"]["training_iteration"] == 2


def test_callbacks_and_loggers_written_in_python_see_every_result(run_kwargs):
    events = []

    class Recorder(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            events.append(("result", trial.trial_id, result["v"]))

        def on_trial_complete(self, iteration, trials, trial, **info):
            events.append(("complete", trial.trial_id, trial.status))

    class FileLogger(tune.callback.Logger):
        def _init(self):
            self.f = open(os.path.join(self.logdir, "custom.log"), "w")

        def on_result(self, result):
            self.f.write(f"{result['v']}\n")

        def close(self):
            self.f.close()

    def train(config, reporter):
        for i in range(3):
            reporter(v=i)

    analysis = tune.run(train, callbacks=[Recorder()], loggers=[FileLogger], **run_kwargs)
    assert [e[2] for e in events if e[0] == "result"] == [0, 1, 2]
    assert events[-1][0] == "complete"
    with open(os.path.join(analysis.trials[0]["logdir"], "custom.log")) as f:
        assert f.read().split() == ["0", "1", "2"]
