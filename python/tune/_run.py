"""tune.run: checks the keywords, adapts Ray's calling conventions and hands the experiment to
the engine (the C++ runner, searchers, schedulers, loggers and journal).

Trials run as forks of this process by default (execution="process"): tune.run forks the
driver once, from this thread, before the run starts; that fork serves as the engine's
zygote and forks one child per trial. So closures, lambdas and objects the trainable uses
need no pickling, and each trial sees the driver's state as it was at the call. Limits: threads
the driver started are not in the children (as with os.fork), CUDA initialised in the driver
cannot be used in a child (initialise it in the trial), and what a trial changes in Python
objects stays in its process. execution="thread" (or local_mode=True) runs trials on threads
of this process instead (useful for work that releases the GIL, and for debugging).
"""
import gc
import inspect
import os
import signal
import socket
import sys

from . import _tune
from ._options import check_keywords
from .analysis import ExperimentAnalysis
from .callback import _CallbackAdapter, _trial, logger_factory
from .session import function_entry
from .trainable import Trainable, class_entry

_RUN_KEYWORDS = (
    "name", "stop", "config", "resources_per_trial", "num_samples", "local_dir", "search_alg", "scheduler",
    "checkpoint_freq", "checkpoint_at_end", "keep_checkpoints_num", "checkpoint_score_attr", "max_failures",
    "restore", "resume", "trial_name_creator", "trial_dirname_creator", "loggers", "callbacks", "sync_config",
    "upload_dir", "verbose", "metric", "mode", "time_budget_s", "max_concurrent_trials", "fail_fast",
    "raise_on_failed_trial", "reuse_actors", "local_mode", "seed", "num_cpus", "num_gpus", "execution",
    "write_trial_files", "write_experiment_state", "export_formats", "global_checkpoint_period", "sync_to_driver",
    "progress_reporter", "queue_trials", "server_port", "with_server", "return_trials", "ray_auto_init",
    "log_to_file", "keep_checkpoints_num", "sync_on_checkpoint", "checkpoint_score_attr", "run_errored_only",
    "dashboard",
)
# Ray's keywords that have no effect here (a Ray cluster's, or output handled otherwise).
_IGNORED = {"export_formats", "global_checkpoint_period", "sync_to_driver", "progress_reporter", "queue_trials",
            "server_port", "with_server", "return_trials", "ray_auto_init", "log_to_file", "sync_on_checkpoint"}


def _trainable_kind(run_or_experiment):
    if inspect.isclass(run_or_experiment):
        if not issubclass(run_or_experiment, Trainable):
            raise _tune.TuneError(f"run_or_experiment: the class {run_or_experiment.__name__} is not a "
                                  "tune.Trainable subclass")
        return "class", class_entry(run_or_experiment), run_or_experiment.__name__
    if callable(run_or_experiment):
        name = getattr(run_or_experiment, "__name__", "func")
        if name == "<lambda>":
            name = "lambda"
        return "function", function_entry(run_or_experiment), name
    raise _tune.TuneError(f"run_or_experiment: {run_or_experiment!r} is neither a function nor a tune.Trainable "
                          "subclass")


def _metric_mode(plugin, metric, mode):
    if plugin is None:
        return
    if hasattr(plugin, "set_search_properties"):
        plugin.set_search_properties(metric, mode)


def _fork_server(kind, entry, worker_name):
    """Forks the process that becomes the engine's zygote: (socket fd, pid)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    pid = os.fork()
    if pid == 0:  # the fork server (and, returning from _serve_zygote, each trial)
        rc = 1
        try:
            ours.close()
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides about Ctrl-C
            # Everything inherited goes to the collector's permanent generation: a collection in
            # a trial then never walks (and so never copies, page by page) the driver's objects.
            gc.freeze()
            rc = _tune._serve_zygote(theirs.detach(), worker_name, kind, entry)
        except BaseException:  # noqa: B036 - nothing may unwind into the driver's code
            import traceback
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(rc)
    theirs.close()
    return ours.detach(), pid


def run(run_or_experiment, **kwargs):
    """Runs an experiment and returns its ExperimentAnalysis (see docs/python.md)."""
    check_keywords("tune.run", kwargs, _RUN_KEYWORDS)
    kind, entry, name = _trainable_kind(run_or_experiment)
    config = kwargs.get("config")
    if config is not None and not isinstance(config, dict):
        raise _tune.TuneError(f"config: must be a dict, got {type(config).__name__}")
    options = {k: v for k, v in kwargs.items() if k not in _IGNORED and v is not None}
    if kind == "function" and (options.get("checkpoint_freq") or options.get("checkpoint_at_end")):
        key = "checkpoint_freq" if options.get("checkpoint_freq") else "checkpoint_at_end"
        raise _tune.TuneError(f"{key}: {name} is a function trainable, which tune cannot ask to save; checkpoint "
                              "from inside it (with tune.checkpoint_dir(...) as d: ...), or use tune.Trainable")
    execution = options.pop("execution", "process")
    if execution not in ("process", "thread"):
        raise _tune.TuneError(f"execution: must be 'process' or 'thread', got {execution!r}")
    if options.get("local_mode"):
        execution = "thread"
    metric, mode = options.get("metric"), options.get("mode")
    analysis_metric = analysis_mode = None
    for key in ("scheduler", "search_alg"):
        plugin = options.get(key)
        if plugin is None:
            continue
        if not hasattr(plugin, "_tune_spec"):
            raise _tune.TuneError(f"{key}: {plugin!r} is not one of tune.schedulers' / tune.suggest's classes")
        _metric_mode(plugin, metric, mode)
        spec = plugin._tune_spec()
        if key == "search_alg":
            metric = metric or getattr(plugin, "metric", None)
            mode = mode or getattr(plugin, "mode", None)
        else:  # the analysis' default metric may come from the scheduler alone
            analysis_metric = analysis_metric or spec.get("metric")
            analysis_mode = analysis_mode or spec.get("mode")
        options[key] = spec
    if metric:
        options["metric"] = metric
    if mode:
        options["mode"] = mode
    if "resume" in options:
        resume = options["resume"]
        options["resume"] = ("LOCAL" if resume else "") if isinstance(resume, bool) else str(resume)
    if "sync_config" in options:
        upload = getattr(options.pop("sync_config"), "upload_dir", None)
        if upload:
            options["upload_dir"] = upload
    if "callbacks" in options:
        options["callbacks"] = [_CallbackAdapter(c) for c in options["callbacks"]]
    for key in ("trial_name_creator", "trial_dirname_creator"):
        if key in options:
            creator = options[key]
            options[key] = lambda d, creator=creator: creator(_trial(d))
    if "loggers" in options:
        options["loggers"] = [logger_factory(c) for c in options["loggers"]]
    options.setdefault("local_dir", os.path.expanduser("~/ray_results"))
    zygote_fd, zygote_pid = -1, -1
    cpus = 1
    if execution == "process":
        resources = options.get("resources_per_trial") or {}
        cpus = max(1, int(resources.get("cpu", 1))) if isinstance(resources, dict) else 1
        zygote_fd, zygote_pid = _fork_server(kind, entry, "python:" + name)
    engine, interrupted = _tune._run(entry, kind, name, options, zygote_fd, zygote_pid, cpus)
    analysis = ExperimentAnalysis(engine.experiment_dir, metric or analysis_metric, mode or analysis_mode,
                                  _engine=engine)
    analysis.interrupted = interrupted
    if interrupted:
        print(f"tune: interrupted; resume with tune.run(..., name={os.path.basename(engine.experiment_dir)!r}, "
              f"local_dir={os.path.dirname(engine.experiment_dir)!r}, resume=True)", file=sys.stderr)
        raise KeyboardInterrupt
    return analysis
