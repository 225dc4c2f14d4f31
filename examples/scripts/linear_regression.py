#!/usr/bin/env python3
"""Linear regression by mini-batch SGD, standard library only: the trial of
examples/python_client.yaml. Fits y = w . x + b to noisy synthetic data (the same data in
every trial) and reports the held-out mean squared error once per epoch.

Under tune the config comes from tune_client.get_config() and report() waits for tune's
decision (raising TrialStopped, a clean exit, when the trial must end); run by hand it uses
the defaults below and prints one JSON line per epoch."""
import os
import random
import sys

# tune_client.py lives in clients/python/ of this repository; PYTHONPATH may name it as well.
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))
import tune_client as tune  # noqa: E402

TRUE_W = [2.0, -3.0, 0.5]
TRUE_B = 1.0


def make_data(n, rng):
    rows = []
    for _ in range(n):
        x = [rng.uniform(-1, 1) for _ in TRUE_W]
        y = sum(w * v for w, v in zip(TRUE_W, x)) + TRUE_B + rng.gauss(0, 0.1)
        rows.append((x, y))
    return rows


def mse(rows, w, b):
    return sum((sum(wi * xi for wi, xi in zip(w, x)) + b - y) ** 2 for x, y in rows) / len(rows)


def main():
    config = tune.get_config({"lr": 0.05, "batch_size": 16, "epochs": 20})
    lr, batch_size = float(config["lr"]), int(config["batch_size"])
    data_rng = random.Random(0)
    train, test = make_data(400, data_rng), make_data(100, data_rng)
    rng = random.Random(1)
    w, b = [0.0] * len(TRUE_W), 0.0
    for epoch in range(1, int(config["epochs"]) + 1):
        rng.shuffle(train)
        for start in range(0, len(train), batch_size):
            batch = train[start:start + batch_size]
            grad_w, grad_b = [0.0] * len(w), 0.0
            for x, y in batch:
                err = sum(wi * xi for wi, xi in zip(w, x)) + b - y
                grad_w = [g + 2 * err * xi for g, xi in zip(grad_w, x)]
                grad_b += 2 * err
            w = [wi - lr * g / len(batch) for wi, g in zip(w, grad_w)]
            b -= lr * grad_b / len(batch)
        tune.report(mse=mse(test, w, b), train_mse=mse(train, w, b), epoch=epoch)


if __name__ == "__main__":
    main()
