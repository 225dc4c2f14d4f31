"""Crash isolation: a trial that raises, calls os._exit or segfaults is one ERROR trial; the
others and the driver carry on; max_failures restores from the trial's checkpoint."""
import ctypes
import os

import tune


def _error_text(trial):
    with open(os.path.join(trial["logdir"], "error.txt")) as f:
        return f.read()


def test_each_kind_of_crash_is_one_error_trial(run_kwargs):
    def train(config):
        tune.report(step=1)
        how = config["how"]
        if how == "raise":
            raise ValueError("boom from the trial")
        if how == "exit":
            os._exit(7)
        if how == "segfault":
            ctypes.string_at(0)
        tune.report(step=2)

    analysis = tune.run(train, config={"how": tune.grid_search(["raise", "exit", "segfault", "fine"])},
                        raise_on_failed_trial=False, **run_kwargs)
    by_how = {t["config"]["how"]: t for t in analysis.trials}
    assert by_how["fine"]["status"] == "TERMINATED"
    for how in ("raise", "exit", "segfault"):
        assert by_how[how]["status"] == "ERROR", how
    text = _error_text(by_how["raise"])
    assert "Traceback" in text and "ValueError: boom from the trial" in text and "test_failures.py" in text
    assert "7" in _error_text(by_how["exit"])
    assert "SIGSEGV" in _error_text(by_how["segfault"]) or "signal" in _error_text(by_how["segfault"]).lower()


def test_a_failed_trial_raises_at_the_end_by_default(run_kwargs):
    def train(config):
        raise RuntimeError("no")

    try:
        tune.run(train, **run_kwargs)
    except tune.TuneError as e:
        assert "did not complete" in str(e) or "ERROR" in str(e)
    else:
        raise AssertionError("expected TuneError")


def test_max_failures_restores_from_the_functions_checkpoint(run_kwargs, tmp_path):
    marker = tmp_path / "crashed_once"

    def train(config, checkpoint_dir=None):
        start = 0
        if checkpoint_dir:
            with open(os.path.join(checkpoint_dir, "step")) as f:
                start = int(f.read())
        for step in range(start, 6):
            if step == 4 and not marker.exists():
                marker.write_text("x")
                os._exit(3)
            with tune.checkpoint_dir(step=step) as d:
                with open(os.path.join(d, "step"), "w") as f:
                    f.write(str(step + 1))
            tune.report(step=step, resumed_from=start)

    analysis = tune.run(train, max_failures=1, **run_kwargs)
    trial, = analysis.trials
    assert trial["status"] == "TERMINATED"
    assert marker.exists()
    assert trial["last_result"]["step"] == 5
    assert trial["last_result"]["resumed_from"] == 4
    steps = list(analysis.trial_dataframes.values())[0]["step"]
    assert sorted(set(steps)) == [0, 1, 2, 3, 4, 5]
