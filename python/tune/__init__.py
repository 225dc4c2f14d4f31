"""tune: hyperparameter tuning with Ray Tune's API on a C++ engine (docs/python.md).

    import tune
    def train(config, reporter):
        for i in range(10):
            reporter(mean_loss=(config["x"] - 3) ** 2 / (i + 1))
    analysis = tune.run(train, config={"x": tune.grid_search([1, 2, 3])})
    print(analysis.dataframe())
"""
from ._tune import TuneError
from ._run import run
from .analysis import ExperimentAnalysis
from .callback import Callback
from .object_store import get_pinned_object, pin_in_object_store
from .sample import (choice, grid_search, lograndint, loguniform, qlograndint, qloguniform, qrandint, qrandn,
                     quniform, randint, randn, sample_from, uniform)
from .session import checkpoint_dir, get_trial_dir, get_trial_id, get_trial_name, report
from .trainable import Trainable
from . import schedulers, stopper, suggest, search, track  # noqa: F401
from .stopper import Stopper

__all__ = ["run", "TuneError", "ExperimentAnalysis", "Trainable", "Callback", "Stopper", "report",
           "checkpoint_dir", "get_trial_dir", "get_trial_id", "get_trial_name", "grid_search", "uniform",
           "quniform", "loguniform", "qloguniform", "randn", "qrandn", "randint", "qrandint", "lograndint",
           "qlograndint", "choice", "sample_from", "pin_in_object_store", "get_pinned_object", "schedulers",
           "suggest", "search", "stopper"]
