"""ExperimentAnalysis: the engine's analysis of an experiment directory, with pandas tables."""
from . import _tune


def _frame(table):
    import pandas as pd
    columns, rows = table
    return pd.DataFrame(rows, columns=columns)


class ExperimentAnalysis:
    """Reads an experiment (finished, crashed or running) from its directory.

    ExperimentAnalysis(dir, default_metric=None, default_mode=None), or the one tune.run returns.
    """

    def __init__(self, experiment_checkpoint_path, default_metric=None, default_mode=None, _engine=None):
        if _engine is None:
            _engine = _tune._Analysis.load(str(experiment_checkpoint_path), default_metric or "", default_mode or "")
        self._engine = _engine
        self.default_metric = default_metric
        self.default_mode = default_mode
        self.interrupted = False

    @property
    def experiment_dir(self):
        return self._engine.experiment_dir

    @property
    def trials(self):
        """Each trial as a dict: trial_id, trial_name, status, logdir, error, config, last_result."""
        return self._engine.trials()

    def dataframe(self, metric=None, mode=None):
        """One row per trial: its last result, config/<key> columns, logdir."""
        del metric, mode  # the last result per trial, as Ray 0.8 gives it
        return _frame(self._engine.dataframe())

    @property
    def trial_dataframes(self):
        """logdir -> the trial's results, one row per result."""
        return {t["logdir"]: _frame(self._engine.trial_dataframe(t["trial_id"])) for t in self.trials}

    def _best(self, metric, mode, scope):
        return self._engine.get_best_trial(metric or self.default_metric or "", mode or self.default_mode or "",
                                           scope)

    def get_best_trial(self, metric=None, mode=None, scope="last"):
        return self._best(metric, mode, scope)

    def get_best_config(self, metric=None, mode=None, scope="last"):
        best = self._best(metric, mode, scope)
        return None if best is None else best["config"]

    def get_best_logdir(self, metric=None, mode=None, scope="last"):
        best = self._best(metric, mode, scope)
        return None if best is None else best["logdir"]

    @property
    def best_config(self):
        return self.get_best_config()

    @property
    def best_logdir(self):
        return self.get_best_logdir()

    @property
    def best_result(self):
        best = self._best(None, None, "last")
        return None if best is None else best["last_result"]

    def get_all_configs(self, prefix=False):
        return {t["logdir"]: ({f"config/{k}": v for k, v in t["config"].items()} if prefix else t["config"])
                for t in self.trials}

    def get_trial_checkpoints_paths(self, trial, metric="training_iteration"):
        """(checkpoint dir, value of metric at it) for each checkpoint the trial kept."""
        import json
        import os
        logdir = trial["logdir"] if isinstance(trial, dict) else str(trial)
        out = []
        if not os.path.isdir(logdir):
            return out
        for name in sorted(os.listdir(logdir)):
            path = os.path.join(logdir, name)
            if not (name.startswith("checkpoint_") and os.path.isdir(path)):
                continue
            value = None
            meta = os.path.join(path, ".tune_metadata")
            if os.path.exists(meta):
                try:
                    with open(meta) as f:
                        data = json.load(f)
                    value = data.get("result", data).get(metric, data.get(metric))
                except (OSError, ValueError, AttributeError):
                    value = None
            if value is None and name[len("checkpoint_"):].isdigit():
                value = int(name[len("checkpoint_"):]) if metric == "training_iteration" else None
            out.append((path, value))
        return out

    def stats(self):
        counts = {}
        for t in self.trials:
            counts[t["status"]] = counts.get(t["status"], 0) + 1
        return counts
