"""What a running trial asks of tune: report(), checkpoint_dir(), get_trial_dir/id/name.

A trial runs in a process (or thread) of its own; the session of the trial running on this
thread is kept in a thread-local, set while the engine calls the trainable.
"""
import contextlib
import inspect
import os
import threading

from . import _tune

_local = threading.local()


class _Session:
    def __init__(self, reporter):
        self.reporter = reporter
        self.info = reporter.info
        self.pending_checkpoint = False

    def report(self, metrics):
        if self.pending_checkpoint:
            metrics = dict(metrics)
            metrics["should_checkpoint"] = True
            self.pending_checkpoint = False
        self.reporter.report(metrics)


def _current(what):
    session = getattr(_local, "session", None)
    if session is None:
        raise _tune.TuneError(f"{what}: only a trial calls this (inside the function given to tune.run)")
    return session


def report(_metric=None, **metrics):
    """Reports one result of the current trial and waits for the engine's decision."""
    if _metric is not None:
        metrics["_metric"] = _metric
    _current("tune.report").report(metrics)


def get_trial_dir():
    return _current("tune.get_trial_dir").info["trial_dir"]


def get_trial_id():
    return _current("tune.get_trial_id").info["trial_id"]


def get_trial_name():
    return _current("tune.get_trial_name").info["trial_name"]


@contextlib.contextmanager
def checkpoint_dir(step=None):
    """A directory to write the trial's state into; the next report makes it a checkpoint.

    `step` is accepted for Ray's signature; the engine names the checkpoint after the
    iteration of the result that follows.
    """
    del step
    session = _current("tune.checkpoint_dir")
    path = session.info["checkpoint_dir"]
    if not path:
        raise _tune.TuneError("tune.checkpoint_dir: this run writes no trial files (write_trial_files=False)")
    os.makedirs(path, exist_ok=True)
    yield path
    session.pending_checkpoint = True


class _FunctionReporter:
    """The `reporter` argument of a function trainable: reporter(mean_loss=...)."""

    def __init__(self, session):
        self._session = session

    def __call__(self, _metric=None, **metrics):
        if _metric is not None:
            metrics["_metric"] = _metric
        self._session.report(metrics)

    @property
    def logdir(self):
        return self._session.info["trial_dir"]

    @property
    def trial_id(self):
        return self._session.info["trial_id"]


def function_entry(fn):
    """The callable the engine runs for each trial of `fn`: (config, reporter) -> None."""
    params = inspect.signature(fn).parameters
    names = list(params)
    wants_reporter = len(names) >= 2 and names[1] != "checkpoint_dir"
    wants_checkpoint = "checkpoint_dir" in params

    def entry(config, reporter):
        session = _Session(reporter)
        _local.session = session
        try:
            args = [config]
            kwargs = {}
            if wants_reporter:
                args.append(_FunctionReporter(session))
            if wants_checkpoint:
                kwargs["checkpoint_dir"] = session.info["restore_from"]
            fn(*args, **kwargs)
        finally:
            _local.session = None
            _flush_output()

    return entry


def _flush_output():
    import sys
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
