"""The user guide's first examples in Python: a class and a function trainable, grid and
random search with sample_from, custom trial names, a dict and a Stopper class, pinned data,
and the analysis of the result. Run: python3 guide_basics.py [LOCAL_DIR]"""
import sys
import tempfile

import numpy as np

import tune

local_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp()


class MyTrainable(tune.Trainable):
    def _setup(self, config):
        if config["print_me"]:
            print(config["print_me"])

    def _train(self):
        return {"accuracy": 0.5, "f1": 0.1}


tune.run(MyTrainable, config={"print_me": "hello-world"}, stop={"training_iteration": 20}, local_dir=local_dir,
         verbose=0)


def trainable(config):
    for i in range(20):
        tune.track.log(mean_accuracy=config["alpha"] * i / 20 + config["beta"] / 100, foo=i)


class CustomStopper(tune.Stopper):
    def __init__(self):
        self.should_stop = False

    def __call__(self, trial_id, result):
        if not self.should_stop and result["foo"] > 15:
            self.should_stop = True
        return self.should_stop

    def stop_all(self):
        return self.should_stop


X_id = tune.pin_in_object_store(np.random.random(size=10_000))


def uses_pinned(config, reporter):
    X = tune.get_pinned_object(X_id)
    reporter(mean_accuracy=float(X.mean()) * config["alpha"])


analysis = tune.run(
    trainable,
    name="example-experiment",
    config={
        "alpha": tune.sample_from(lambda spec: np.random.uniform(0, 1)),
        "beta": tune.sample_from(lambda spec: spec.config.alpha * np.random.normal()),
        "layers": tune.grid_search([16, 64]),
    },
    num_samples=2,
    stop={"training_iteration": 10, "mean_accuracy": 0.98},
    trial_name_creator=lambda trial: f"trainable_{trial.trial_id}",
    local_dir=local_dir,
    verbose=0,
)
print("Best config is", analysis.get_best_config(metric="mean_accuracy", mode="max"))
print(analysis.dataframe()[["trial_id", "mean_accuracy", "config/alpha", "config/layers"]])
assert len(analysis.dataframe()) == 4

stopped = tune.run(trainable, config={"alpha": 1.0, "beta": 0.0}, stop=CustomStopper(), local_dir=local_dir,
                   verbose=0)
assert stopped.trials[0]["last_result"]["foo"] == 16

pinned = tune.run(uses_pinned, config={"alpha": tune.grid_search([1.0, 2.0])}, local_dir=local_dir, verbose=0)
print(pinned.dataframe()[["config/alpha", "mean_accuracy"]])
