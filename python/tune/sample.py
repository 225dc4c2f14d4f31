"""The search space: Ray Tune's domain functions over the engine's domains.

Each function returns a small object whose JSON form the C++ engine samples; bad arguments
raise tune.TuneError (a ValueError) at once, naming the rule.
"""
from . import _tune

__all__ = ["grid_search", "uniform", "quniform", "loguniform", "qloguniform", "randn", "qrandn",
           "randint", "qrandint", "lograndint", "qlograndint", "choice", "sample_from", "Domain"]


class Domain:
    """A distribution of the search space (sampled by the engine)."""

    def __init__(self, name, args):
        self._form = {name: list(args)}
        _tune._check_domain(self._form)

    def _tune_domain(self):
        return self._form

    def __repr__(self):
        (name, args), = self._form.items()
        return f"tune.{name}({', '.join(map(repr, args))})"


class sample_from:  # noqa: N801 - Ray's name
    """A value computed per trial: fn(spec), where spec.config.<key> reads other values."""

    def __init__(self, func):
        if not callable(func):
            raise _tune.TuneError(f"sample_from: {func!r} is not callable")
        self.func = func

    def _tune_sample_from(self, spec):
        try:
            return self.func(spec)
        except TypeError:
            import inspect
            if len(inspect.signature(self.func).parameters) == 0:
                return self.func()
            raise

    def __repr__(self):
        return f"tune.sample_from({self.func!r})"


def grid_search(values):
    """Every value, each in its own trial (the grid is the product of all grid_search keys)."""
    values = list(values)
    if not values:
        raise _tune.TuneError("grid_search: needs at least one value")
    return {"grid_search": values}


def uniform(lower, upper):
    return Domain("uniform", [lower, upper])


def quniform(lower, upper, q):
    return Domain("quniform", [lower, upper, q])


def loguniform(lower, upper, base=10):
    return Domain("loguniform", [lower, upper, base])


def qloguniform(lower, upper, q, base=10):
    return Domain("qloguniform", [lower, upper, q, base])


def randn(mean=0.0, sd=1.0):
    return Domain("randn", [mean, sd])


def qrandn(mean, sd, q):
    return Domain("qrandn", [mean, sd, q])


def randint(lower, upper):
    return Domain("randint", [lower, upper])


def qrandint(lower, upper, q=1):
    return Domain("qrandint", [lower, upper, q])


def lograndint(lower, upper, base=10):
    return Domain("lograndint", [lower, upper, base])


def qlograndint(lower, upper, q, base=10):
    return Domain("qlograndint", [lower, upper, q, base])


def choice(categories):
    return Domain("choice", list(categories))
