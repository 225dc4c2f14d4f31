"""Bad input raises tune.TuneError (a ValueError) naming the argument, before anything runs."""
import pytest

import tune


def _train(config):
    tune.report(x=1)


def test_tune_error_is_a_value_error():
    assert issubclass(tune.TuneError, ValueError)


def test_an_unknown_keyword_suggests_the_nearest_name(run_kwargs):
    with pytest.raises(tune.TuneError, match="did you mean 'config'"):
        tune.run(_train, confg={"x": 1}, **run_kwargs)
    with pytest.raises(tune.TuneError, match="did you mean 'num_samples'"):
        tune.run(_train, num_sample=3, **run_kwargs)


@pytest.mark.parametrize("call, field", [
    (lambda kw: tune.run(42, **kw), "run_or_experiment"),
    (lambda kw: tune.run(dict, **kw), "run_or_experiment"),
    (lambda kw: tune.run(_train, config=[1, 2], **kw), "config"),
    (lambda kw: tune.run(_train, resources_per_trial={"cpus": 1}, **kw), "resources_per_trial"),
    (lambda kw: tune.run(_train, scheduler="fifo", **kw), "scheduler"),
])
def test_bad_arguments_name_the_field(call, field, run_kwargs):
    with pytest.raises(tune.TuneError, match=field):
        call(run_kwargs)


def test_bad_distributions_raise_at_once():
    with pytest.raises(tune.TuneError, match="uniform"):
        tune.uniform(5, 1)
    with pytest.raises(tune.TuneError, match="loguniform"):
        tune.loguniform(0, 1)
    with pytest.raises(tune.TuneError):
        tune.grid_search([])


def test_an_unknown_scheduler_option_is_refused():
    with pytest.raises(tune.TuneError, match="did you mean 'max_t'"):
        tune.schedulers.ASHAScheduler(metric="loss", mode="min", max_tt=10)
