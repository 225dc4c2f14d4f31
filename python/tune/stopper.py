"""Stoppers: subclass Stopper in Python (__call__(trial_id, result) -> bool, stop_all()), pass
a plain function, or use the engine's built-ins."""
from ._tune import (ExperimentPlateauStopper, MaximumIterationStopper, TimeoutStopper,  # noqa: F401
                    TrialPlateauStopper)


class Stopper:
    def __call__(self, trial_id, result):
        raise NotImplementedError

    def stop_all(self):
        return False


class FunctionStopper(Stopper):
    def __init__(self, function):
        self._fn = function

    def __call__(self, trial_id, result):
        return bool(self._fn(trial_id, result))


class CombinedStopper(list):
    """Stops a trial when any of its stoppers does (the engine's CombinedStopper)."""

    def __init__(self, *stoppers):
        super().__init__(stoppers)


__all__ = ["Stopper", "FunctionStopper", "CombinedStopper", "MaximumIterationStopper", "TrialPlateauStopper",
           "ExperimentPlateauStopper", "TimeoutStopper"]
