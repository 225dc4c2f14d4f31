"""A real model: a PyTorch MLP on scikit-learn's bundled digits data (no download), tuned by
TPE with ASHA stopping the poor trials early. Each trial is a process forked from this one;
the data is loaded once here and shared. Run: python3 torch_digits_asha_tpe.py [SAMPLES]"""
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import tune
from tune.schedulers import ASHAScheduler
from tune.suggest import ConcurrencyLimiter, TPESearch

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=0)
DATA = tune.pin_in_object_store((X_train, X_val, y_train, y_val))


def train_mlp(config):
    import torch  # in the trial: no torch threads exist in the driver before the fork
    torch.set_num_threads(1)
    torch.manual_seed(0)
    X_train, X_val, y_train, y_val = (torch.as_tensor(a) for a in tune.get_pinned_object(DATA))
    model = torch.nn.Sequential(torch.nn.Linear(64, config["hidden"]), torch.nn.ReLU(),
                                torch.nn.Linear(config["hidden"], 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(config["epochs"]):
        model.train()
        for batch in torch.randperm(len(X_train)).split(64):
            optimizer.zero_grad()
            loss_fn(model(X_train[batch]), y_train[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(X_val).argmax(1) == y_val).float().mean().item()
        tune.report(mean_accuracy=accuracy, epoch=epoch)


if __name__ == "__main__":
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    analysis = tune.run(
        train_mlp,
        config={"lr": tune.loguniform(1e-3, 0.5), "momentum": tune.uniform(0.0, 0.95),
                "hidden": tune.choice([16, 32, 64]), "epochs": 8},
        search_alg=ConcurrencyLimiter(TPESearch(n_startup_trials=6, seed=0), max_concurrent=2),
        scheduler=ASHAScheduler(max_t=8, grace_period=2, reduction_factor=2),
        metric="mean_accuracy", mode="max", num_samples=samples,
        local_dir=tempfile.mkdtemp(), verbose=1)
    df = analysis.dataframe()
    print(df[["trial_id", "mean_accuracy", "training_iteration", "config/lr", "config/hidden"]])
    best = analysis.get_best_trial()
    print("best:", best["config"], best["last_result"]["mean_accuracy"])
    assert best["last_result"]["mean_accuracy"] > 0.9
