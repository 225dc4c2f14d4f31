"""tune.Trainable: the class API, with Ray 0.8's names (_setup/_train/_save/_restore/_stop)
and the later ones (setup/step/save_checkpoint/load_checkpoint/cleanup); implement either.

save_checkpoint(dir) may write files into dir (and return dir or a path inside it) or return
a dict, which tune pickles into dir; load_checkpoint gets back what save returned (the path
or the dict).
"""
import os
import pickle

from . import _tune

_DICT_CHECKPOINT = ".tune_checkpoint.pkl"
_PATH_CHECKPOINT = ".tune_checkpoint_path"


class Trainable:
    def __init__(self, config=None, logger_creator=None):
        del logger_creator
        self.config = dict(config or {})
        self._iteration = 0
        self._info = getattr(self, "_info", {})  # set before __init__ when the engine makes it
        self.setup(self.config)

    # ---- the user's side (override one naming style) ----
    def setup(self, config):
        self._setup(config)

    def _setup(self, config):
        pass

    def step(self):
        if type(self)._train is Trainable._train:
            raise NotImplementedError(f"{type(self).__name__}: implement step() (or _train())")
        return self._train()

    def _train(self):
        raise NotImplementedError

    def save_checkpoint(self, checkpoint_dir):
        if type(self)._save is Trainable._save:
            raise _tune.TuneError(f"{type(self).__name__}: implement save_checkpoint() (or _save()) to checkpoint")
        return self._save(checkpoint_dir)

    def _save(self, checkpoint_dir):
        raise NotImplementedError

    def load_checkpoint(self, checkpoint):
        if type(self)._restore is Trainable._restore:
            raise _tune.TuneError(f"{type(self).__name__}: implement load_checkpoint() (or _restore()) to restore")
        self._restore(checkpoint)

    def _restore(self, checkpoint):
        raise NotImplementedError

    def cleanup(self):
        self._stop()

    def _stop(self):
        pass

    def reset_config(self, new_config):
        return False

    @property
    def iteration(self):
        return self._iteration

    @property
    def logdir(self):
        return self._info.get("trial_dir", "")

    @property
    def trial_id(self):
        return self._info.get("trial_id", "")

    @property
    def trial_name(self):
        return self._info.get("trial_name", "")

    # ---- the engine's side ----
    def _tune_step(self):
        result = self.step()
        if not isinstance(result, dict):
            raise _tune.TuneError(f"{type(self).__name__}.step: must return a dict, got {type(result).__name__}")
        self._iteration += 1
        return result

    def _tune_save(self, directory):
        saved = self.save_checkpoint(directory)
        if isinstance(saved, dict):
            with open(os.path.join(directory, _DICT_CHECKPOINT), "wb") as f:
                pickle.dump(saved, f)
        elif isinstance(saved, str) and os.path.abspath(saved) != os.path.abspath(directory):
            with open(os.path.join(directory, _PATH_CHECKPOINT), "w") as f:
                f.write(os.path.relpath(saved, directory))
        return None

    def _tune_load(self, directory):
        pickled = os.path.join(directory, _DICT_CHECKPOINT)
        named = os.path.join(directory, _PATH_CHECKPOINT)
        if os.path.exists(pickled):
            with open(pickled, "rb") as f:
                self.load_checkpoint(pickle.load(f))
        elif os.path.exists(named):
            with open(named) as f:
                self.load_checkpoint(os.path.join(directory, f.read()))
        else:
            self.load_checkpoint(directory)
        return None

    def _tune_reset(self, new_config, info):
        if self.reset_config(dict(new_config)):
            self.config = dict(new_config)
            self._info = info
            return True
        return False

    def _tune_cleanup(self):
        self.cleanup()
        return None


def class_entry(cls):
    """The factory the engine calls per trial: (config, info) -> instance."""

    def make(config, info):
        instance = cls.__new__(cls)
        instance._info = info
        instance.__init__(config)
        return instance

    return make
