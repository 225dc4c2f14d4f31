"""Search algorithms: the engine's TPE, GP, CMA-ES and BOHB, and the ConcurrencyLimiter and
Repeater wrappers (also reachable as tune.search). Each searcher samples the run's config
space; points_to_evaluate are tried first."""
from .._options import SpecPlugin, check_keywords
from .. import _tune

_COMMON = ("metric", "mode", "points_to_evaluate", "seed")


def _engine_keys(kind):
    return tuple(_tune._searcher_keys(kind))


class _Searcher(SpecPlugin):
    _kind = ""

    def __init__(self, metric=None, mode=None, points_to_evaluate=None, **kwargs):
        self._type = self._kind
        self._keys = tuple(sorted(set(_COMMON) | set(_engine_keys(self._kind))))
        check_keywords(type(self).__name__, dict(kwargs, metric=metric, mode=mode), self._keys)
        self._kwargs = {k: v for k, v in kwargs.items() if v is not None}
        if points_to_evaluate is not None:
            self._kwargs["points_to_evaluate"] = list(points_to_evaluate)
        self.metric, self.mode = metric, mode

    def set_search_properties(self, metric, mode, config=None):
        del config  # the engine hands metric and mode over itself; kept for the analysis
        self.metric, self.mode = self.metric or metric, self.mode or mode
        return True

    def _tune_spec(self):
        return dict(type=self._type, **self._kwargs)


class TPESearch(_Searcher):
    """Tree-structured Parzen Estimator (Optuna's algorithm). Ray's HyperOptSearch."""
    _kind = "tpe"


class GPSearch(_Searcher):
    """Gaussian-process Bayesian optimisation. Ray's BayesOptSearch."""
    _kind = "gp"


class CMAESSearch(_Searcher):
    """CMA-ES with IPOP restarts."""
    _kind = "cmaes"


class TuneBOHB(_Searcher):
    """BOHB's model; run it with schedulers.HyperBandForBOHB."""
    _kind = "bohb"


HyperOptSearch = TPESearch
OptunaSearch = TPESearch
BayesOptSearch = GPSearch
BOHBSearch = TuneBOHB


class ConcurrencyLimiter:
    """At most max_concurrent trials of the wrapped searcher run at once."""

    def __init__(self, searcher, max_concurrent, batch=False):
        if not hasattr(searcher, "_tune_spec"):
            raise _tune.TuneError("ConcurrencyLimiter: searcher must be one of tune.suggest's searchers")
        if int(max_concurrent) < 1:
            raise _tune.TuneError(f"ConcurrencyLimiter: max_concurrent must be >= 1 (got {max_concurrent})")
        self.searcher, self.max_concurrent, self.batch = searcher, int(max_concurrent), bool(batch)
        self.metric, self.mode = getattr(searcher, "metric", None), getattr(searcher, "mode", None)

    def _tune_spec(self):
        spec = self.searcher._tune_spec()
        spec["max_concurrent"] = self.max_concurrent
        if self.batch:
            spec["batch"] = True
        return spec


class Repeater:
    """Each suggested config runs `repeat` times; the searcher sees their mean."""

    def __init__(self, searcher, repeat=1, set_index=True):
        del set_index
        if not hasattr(searcher, "_tune_spec") or isinstance(searcher, ConcurrencyLimiter):
            raise _tune.TuneError("Repeater: searcher must be a tune.suggest searcher (wrap the Repeater in a "
                                  "ConcurrencyLimiter, not the other way round)")
        if int(repeat) < 1:
            raise _tune.TuneError(f"Repeater: repeat must be >= 1 (got {repeat})")
        self.searcher, self.repeat = searcher, int(repeat)
        self.metric, self.mode = getattr(searcher, "metric", None), getattr(searcher, "mode", None)

    def _tune_spec(self):
        spec = self.searcher._tune_spec()
        spec["repeat"] = self.repeat
        return spec


class BasicVariantGenerator:
    """Grid and random search (what tune.run does without a search_alg)."""

    metric = mode = None

    def _tune_spec(self):
        return {"type": "variant_generator"}


__all__ = ["TPESearch", "GPSearch", "CMAESSearch", "TuneBOHB", "HyperOptSearch", "OptunaSearch", "BayesOptSearch",
           "BOHBSearch", "ConcurrencyLimiter", "Repeater", "BasicVariantGenerator"]
