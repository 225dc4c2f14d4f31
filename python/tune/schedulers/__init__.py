"""Trial schedulers: the engine's FIFO, ASHA, HyperBand, HyperBand for BOHB, median stopping
and PBT, with Ray Tune's class names and keywords."""
from .._options import SpecPlugin
from .. import _tune

_METRIC = ("time_attr", "metric", "mode")


class FIFOScheduler(SpecPlugin):
    _type = "fifo"
    _keys = ()


class AsyncHyperBandScheduler(SpecPlugin):
    _type = "asha"
    _keys = _METRIC + ("max_t", "grace_period", "reduction_factor", "brackets", "seed")

    def __init__(self, time_attr="training_iteration", reward_attr=None, metric=None, mode=None, max_t=100,
                 grace_period=1, reduction_factor=4, brackets=1, **kwargs):
        if reward_attr is not None:  # Ray 0.8's name: higher is better
            metric, mode = reward_attr, "max"
        super().__init__(time_attr=time_attr, metric=metric, mode=mode, max_t=max_t, grace_period=grace_period,
                         reduction_factor=reduction_factor, brackets=brackets, **kwargs)


ASHAScheduler = AsyncHyperBandScheduler


class HyperBandScheduler(SpecPlugin):
    _type = "hyperband"
    _keys = _METRIC + ("max_t", "reduction_factor", "stop_last_trials")

    def __init__(self, time_attr="training_iteration", reward_attr=None, metric=None, mode=None, max_t=81,
                 reduction_factor=3, **kwargs):
        if reward_attr is not None:
            metric, mode = reward_attr, "max"
        super().__init__(time_attr=time_attr, metric=metric, mode=mode, max_t=max_t,
                         reduction_factor=reduction_factor, **kwargs)


class HyperBandForBOHB(HyperBandScheduler):
    _type = "hb_bohb"


class MedianStoppingRule(SpecPlugin):
    _type = "median_stopping_rule"
    _keys = _METRIC + ("grace_period", "min_samples_required", "min_time_slice", "hard_stop")

    def __init__(self, time_attr="time_total_s", reward_attr=None, metric=None, mode=None, **kwargs):
        if reward_attr is not None:
            metric, mode = reward_attr, "max"
        super().__init__(time_attr=time_attr, metric=metric, mode=mode, **kwargs)


class PopulationBasedTraining(SpecPlugin):
    """hyperparam_mutations: config key -> a list, a tune distribution, a function of no
    arguments, or a nested dict of those; custom_explore_fn(config) -> config."""

    _type = "pbt"
    _keys = _METRIC + ("perturbation_interval", "hyperparam_mutations", "quantile_fraction", "resample_probability",
                       "custom_explore_fn", "log_config", "seed")

    def __init__(self, time_attr="time_total_s", reward_attr=None, metric=None, mode=None, **kwargs):
        if reward_attr is not None:
            metric, mode = reward_attr, "max"
        super().__init__(time_attr=time_attr, metric=metric, mode=mode, **kwargs)
        if not self._kwargs.get("hyperparam_mutations") and "custom_explore_fn" not in self._kwargs:
            raise _tune.TuneError("PopulationBasedTraining: hyperparam_mutations or custom_explore_fn is needed")


class TrialScheduler:
    """Ray's base name; schedulers are the engine's (the classes above)."""

    CONTINUE = "CONTINUE"
    PAUSE = "PAUSE"
    STOP = "STOP"


__all__ = ["FIFOScheduler", "AsyncHyperBandScheduler", "ASHAScheduler", "HyperBandScheduler", "HyperBandForBOHB",
           "MedianStoppingRule", "PopulationBasedTraining", "TrialScheduler"]
