"""Experiment callbacks and per-trial loggers written in Python.

A Callback's hooks get `trial`, an object with trial_id, trial_name (also str(trial)),
config, last_result, logdir, status, iteration, num_failures, error.
"""
import types


class _Trial(types.SimpleNamespace):
    def __str__(self):
        return self.trial_name


def _trial(d):
    return _Trial(**d)


class Callback:
    """Ray's tune.Callback: override the hooks you need."""

    def setup(self, **info):
        pass

    def on_trial_start(self, iteration, trials, trial, **info):
        pass

    def on_trial_result(self, iteration, trials, trial, result, **info):
        pass

    def on_trial_complete(self, iteration, trials, trial, **info):
        pass

    def on_trial_error(self, iteration, trials, trial, **info):
        pass

    def on_experiment_end(self, trials, **info):
        pass


class _CallbackAdapter:
    """What the engine calls: trial dicts in, Ray's signatures out."""

    def __init__(self, callback):
        self._cb = callback
        self._iteration = 0
        self._trials = {}

    def _seen(self, d):
        t = _trial(d)
        self._trials[t.trial_id] = t
        self._iteration += 1
        return t

    def setup(self, info):
        self._cb.setup(**info) if hasattr(self._cb, "setup") else None

    def on_trial_start(self, d):
        t = self._seen(d)
        self._cb.on_trial_start(iteration=self._iteration, trials=list(self._trials.values()), trial=t)

    def on_trial_result(self, d, result):
        t = self._seen(d)
        self._cb.on_trial_result(iteration=self._iteration, trials=list(self._trials.values()), trial=t,
                                 result=result)

    def on_trial_complete(self, d):
        t = self._seen(d)
        self._cb.on_trial_complete(iteration=self._iteration, trials=list(self._trials.values()), trial=t)

    def on_trial_error(self, d):
        t = self._seen(d)
        self._cb.on_trial_error(iteration=self._iteration, trials=list(self._trials.values()), trial=t)

    def on_experiment_end(self):
        if hasattr(self._cb, "on_experiment_end"):
            self._cb.on_experiment_end(trials=list(self._trials.values()))


class Logger:
    """Ray's tune.logger.Logger: one per trial, Logger(config, logdir, trial=None)."""

    def __init__(self, config, logdir, trial=None):
        self.config = config
        self.logdir = logdir
        self.trial = trial
        self._init()

    def _init(self):
        pass

    def on_result(self, result):
        raise NotImplementedError

    def flush(self):
        pass

    def close(self):
        pass


class _LoggerAdapter:
    def __init__(self, logger):
        self._logger = logger

    def on_result(self, result):
        self._logger.on_result(result)

    def flush(self):
        self._logger.flush()

    def close(self, d):
        del d
        self._logger.close()


def logger_factory(logger_class):
    def make(d):
        t = _trial(d)
        return _LoggerAdapter(logger_class(t.config, t.logdir, t))

    return make
