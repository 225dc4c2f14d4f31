"""PBT on the digits MLP: a class trainable that checkpoints its model and optimizer; PBT
clones the best trials' checkpoints into the worst and mutates lr (a list, a distribution and
a Python function). Run: python3 torch_digits_pbt.py"""
import os
import random
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tune
from tune.schedulers import PopulationBasedTraining

X, y = load_digits(return_X_y=True)
SPLIT = train_test_split((X / 16.0).astype(np.float32), y, test_size=0.25, random_state=0)


class DigitsMLP(tune.Trainable):
    def setup(self, config):
        import torch
        torch.set_num_threads(1)
        self.torch = torch
        self.X_train, self.X_val, self.y_train, self.y_val = (torch.as_tensor(a) for a in SPLIT)
        self.model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config["lr"], momentum=config["momentum"])

    def step(self):
        torch = self.torch
        loss_fn = torch.nn.CrossEntropyLoss()
        for batch in torch.randperm(len(self.X_train)).split(64):
            self.optimizer.zero_grad()
            loss_fn(self.model(self.X_train[batch]), self.y_train[batch]).backward()
            self.optimizer.step()
        with torch.no_grad():
            accuracy = (self.model(self.X_val).argmax(1) == self.y_val).float().mean().item()
        return {"mean_accuracy": accuracy, "lr": self.config["lr"]}

    def save_checkpoint(self, checkpoint_dir):
        path = os.path.join(checkpoint_dir, "model.pt")
        self.torch.save({"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}, path)
        return path

    def load_checkpoint(self, path):
        state = self.torch.load(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])

    def reset_config(self, new_config):
        for group in self.optimizer.param_groups:
            group["lr"], group["momentum"] = new_config["lr"], new_config["momentum"]
        return True


if __name__ == "__main__":
    pbt = PopulationBasedTraining(
        time_attr="training_iteration", perturbation_interval=2,
        hyperparam_mutations={"lr": lambda: random.uniform(0.001, 0.3), "momentum": [0.0, 0.5, 0.9]})
    analysis = tune.run(DigitsMLP, config={"lr": tune.grid_search([0.001, 0.01, 0.1, 0.3]), "momentum": 0.5},
                        scheduler=pbt, metric="mean_accuracy", mode="max", stop={"training_iteration": 8},
                        checkpoint_at_end=True, keep_checkpoints_num=2, local_dir=tempfile.mkdtemp(), verbose=1)
    print(analysis.dataframe()[["trial_id", "mean_accuracy", "lr", "config/lr"]])
    best = analysis.get_best_trial()
    assert best["last_result"]["mean_accuracy"] > 0.9, best
    assert analysis.get_trial_checkpoints_paths(best)
