"""Keyword checking shared by tune.run and the plugin classes: an unknown keyword raises
tune.TuneError naming it and the nearest known name."""
import difflib

from . import _tune


def check_keywords(where, given, known):
    for key in given:
        if key not in known:
            near = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
            hint = f"; did you mean '{near[0]}'?" if near else ""
            raise _tune.TuneError(f"{where}: unknown keyword argument '{key}'{hint}")


class SpecPlugin:
    """A plugin the engine builds from {type: NAME, key: value...} (None values left out)."""

    _type = ""
    _keys = ()

    def __init__(self, **kwargs):
        check_keywords(type(self).__name__, kwargs, self._keys)
        self._kwargs = {k: v for k, v in kwargs.items() if v is not None}

    def _tune_spec(self):
        return dict(type=self._type, **self._kwargs)

    def set_search_properties(self, metric, mode, config=None):
        del config
        if metric and "metric" in self._keys:
            self._kwargs.setdefault("metric", metric)
        if mode and "mode" in self._keys:
            self._kwargs.setdefault("mode", mode)
        return True

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"
