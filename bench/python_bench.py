"""Benchmark of the Python package (not a timed test): prints a markdown table.

  PYTHONPATH=python /usr/bin/python3 bench/python_bench.py [--quick]

Rows: results/s of 2 concurrent trivial function trials reporting as fast as they can; the
launch latency of a Python trial (the engine's start of the trial -> the trial's first line);
10,000 one-result trials in all; and, where optuna is installed, trials/s of tune.run with
TPE against optuna's study.optimize with its TPE on the same objective and budget.
"""
import os
import statistics
import sys
import tempfile
import time

import tune
from tune.suggest import TPESearch


def results_per_second(local_dir, per_trial, execution):
    def fast(config):
        for i in range(per_trial):
            tune.report(i=i)

    start = time.perf_counter()
    tune.run(fast, num_samples=2, local_dir=local_dir, verbose=0, execution=execution,
             resources_per_trial={"cpu": 1}, num_cpus=2)
    return 2 * per_trial / (time.perf_counter() - start)


class StartTimes(tune.Callback):
    def __init__(self):
        self.started = {}

    def on_trial_start(self, iteration, trials, trial, **info):
        self.started[trial.trial_id] = time.time()


def launch_latency_ms(local_dir, trials):
    def first_line(config):
        tune.report(t=time.time())

    recorder = StartTimes()
    analysis = tune.run(first_line, num_samples=trials, local_dir=local_dir, verbose=0, callbacks=[recorder],
                        num_cpus=2)
    waits = [(t["last_result"]["t"] - recorder.started[t["trial_id"]]) * 1e3 for t in analysis.trials]
    return statistics.median(waits)


def many_trials_s(local_dir, trials):
    def one(config):
        tune.report(x=config["x"])

    start = time.perf_counter()
    tune.run(one, config={"x": tune.uniform(0, 1)}, num_samples=trials, local_dir=local_dir, verbose=0,
             num_cpus=2)
    return time.perf_counter() - start


def objective_value(x, y):
    return (x - 0.3) ** 2 + (y + 0.2) ** 2


def tune_tpe_trials_per_s(local_dir, budget, execution):
    def objective(config):
        tune.report(loss=objective_value(config["x"], config["y"]))

    start = time.perf_counter()
    tune.run(objective, config={"x": tune.uniform(-1, 1), "y": tune.uniform(-1, 1)},
             search_alg=TPESearch(n_startup_trials=10, seed=0), metric="loss", mode="min", num_samples=budget,
             local_dir=local_dir, verbose=0, execution=execution, num_cpus=2)
    return budget / (time.perf_counter() - start)


def optuna_trials_per_s(budget):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(n_startup_trials=10, seed=0))
    start = time.perf_counter()
    study.optimize(lambda t: objective_value(t.suggest_float("x", -1, 1), t.suggest_float("y", -1, 1)),
                   n_trials=budget)
    return budget / (time.perf_counter() - start)


def main():
    quick = "--quick" in sys.argv
    rows = []
    with tempfile.TemporaryDirectory() as d:
        per_trial = 20_000 if quick else 100_000
        for execution in ("process", "thread"):
            rate = results_per_second(os.path.join(d, f"rate_{execution}"), per_trial, execution)
            rows.append((f"results/s, 2 concurrent trivial trials ({execution})", f"{rate:,.0f}", ">= 20,000"))
        latency = launch_latency_ms(os.path.join(d, "launch"), 50 if quick else 200)
        rows.append(("launch latency of a Python trial, median (ms)", f"{latency:.2f}", "< 10"))
        n = 1_000 if quick else 10_000
        seconds = many_trials_s(os.path.join(d, "many"), n)
        rows.append((f"{n:,} one-result trials (s)", f"{seconds:.1f}", "< 30 for 10,000"))
        budget = 100 if quick else 200
        for execution in ("process", "thread"):
            rate = tune_tpe_trials_per_s(os.path.join(d, f"tpe_{execution}"), budget, execution)
            rows.append((f"tune.run + TPE, {budget} trials ({execution}), trials/s", f"{rate:,.1f}", ""))
        try:
            rows.append((f"optuna study.optimize + TPESampler, {budget} trials, trials/s",
                         f"{optuna_trials_per_s(budget):,.1f}", ""))
        except ImportError:
            rows.append(("optuna", "not installed", ""))
    print("| measure | value | target |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
