"""Benchmark of the Python package (not a timed test): prints a markdown table.

  PYTHONPATH=python /usr/bin/python3 bench/python_bench.py [--quick] [--local-dir DIR] [--repeat N]

Rows: results/s of 2 concurrent trivial function trials reporting as fast as they can; the
launch latency of a Python trial (the engine's start of the trial -> the trial's first line);
10,000 one-result trials in all; and, where optuna is installed, trials/s of tune.run with
TPE against optuna's study.optimize with its TPE on the same objective and budget.

Each row comes with a floor measured in the same run, on the same machine and load, and the
ratio to it, since a shared machine's figures mean little alone:
  * results/s: two pairs of Python processes passing one JSON line each way over pipes (the
    lockstep protocol's round trip with nothing else), and the same trials as threads;
  * launch: os.fork of this driver, the child exiting at once, waited for (the fork alone);
  * many trials: the same run without trial files and experiment state (engine and forks
    only), and creating each trial's directory and files by hand in the same local dir (the
    filesystem alone).
The load average (1 min) is printed beside each row. Experiments go to a fresh directory under
--local-dir (default: the temp dir), removed afterwards; the filesystem matters (see
docs/python.md: creating a file on a busy ext4 without a journal costs far more than on tmpfs).
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import tune
from tune.suggest import TPESearch

# The files the engine makes for each trial: its directory, params.json, result.json,
# progress.csv, the TensorBoard events file, stdout.log and stderr.log.
TRIAL_FILES = ("params.json", "result.json", "progress.csv", "events.out.tfevents", "stdout.log", "stderr.log")


def load():
    return f"{os.getloadavg()[0]:.1f}"


def results_per_second(local_dir, per_trial, execution):
    def fast(config):
        for i in range(per_trial):
            tune.report(i=i)

    start = time.perf_counter()
    tune.run(fast, num_samples=2, local_dir=local_dir, verbose=0, execution=execution,
             resources_per_trial={"cpu": 1}, num_cpus=2)
    return 2 * per_trial / (time.perf_counter() - start)


def pipe_round_trips_per_second(per_pair):
    """Two driver/child pairs of processes, each round trip one JSON line each way: the floor of
    a lockstep protocol in Python (no engine, no logs)."""
    pairs = []
    start = time.perf_counter()
    for _ in range(2):
        down_r, down_w = os.pipe()
        up_r, up_w = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(down_w)
            os.close(up_r)
            with os.fdopen(down_r, "rb") as requests, os.fdopen(up_w, "wb", buffering=0) as replies:
                for i in range(per_pair):
                    replies.write((json.dumps({"type": "result", "result": {"i": i}}) + "\n").encode())
                    json.loads(requests.readline())
            os._exit(0)
        os.close(down_r)
        os.close(up_w)
        driver = os.fork()
        if driver == 0:
            with os.fdopen(up_r, "rb") as replies, os.fdopen(down_w, "wb", buffering=0) as requests:
                for _ in range(per_pair):
                    json.loads(replies.readline())
                    requests.write(b'{"type": "step"}\n')
            os._exit(0)
        os.close(up_r)
        os.close(down_w)
        pairs += [child, driver]
    for pid in pairs:
        os.waitpid(pid, 0)
    return 2 * per_pair / (time.perf_counter() - start)


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


def fork_ms(times):
    """Median of os.fork of this driver, the child exiting at once, waited for."""
    waits = []
    for _ in range(times):
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        waits.append((time.perf_counter() - start) * 1e3)
    return statistics.median(waits)


def many_trials_s(local_dir, trials, files=True):
    def one(config):
        tune.report(x=config["x"])

    start = time.perf_counter()
    tune.run(one, config={"x": tune.uniform(0, 1)}, num_samples=trials, local_dir=local_dir, verbose=0,
             num_cpus=2, write_trial_files=files, write_experiment_state=files)
    return time.perf_counter() - start


def trial_files_s(local_dir, trials):
    """Each trial's directory and files made by hand, one after another: the filesystem's part."""
    os.makedirs(local_dir)
    start = time.perf_counter()
    for i in range(trials):
        trial_dir = os.path.join(local_dir, f"trial_{i:05d}")
        os.mkdir(trial_dir)
        for name in TRIAL_FILES:
            with open(os.path.join(trial_dir, name), "w") as f:
                f.write("{}\n")
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


def median_of(runs, key):
    return statistics.median(run[key] for run in runs)


def measure(d, quick, repeat):
    """The rows: (measure, value, target, floor or peer, ratio, load). The rate and launch rows
    are medians of `repeat` rounds, each round measuring the figure and its floor back to back
    (the ratio is the median of the rounds' ratios), since the load of a shared machine moves."""
    rows = []
    per_trial = 20_000 if quick else 100_000
    rounds = []
    for r in range(repeat):
        rates = {e: results_per_second(os.path.join(d, f"rate_{e}_{r}"), per_trial, e) for e in ("process", "thread")}
        floor = pipe_round_trips_per_second(per_trial)
        rounds.append({**rates, "floor": floor, "process_ratio": rates["process"] / floor,
                       "thread_ratio": rates["thread"] / floor})
    floor = median_of(rounds, "floor")
    for execution in ("process", "thread"):
        rows.append((f"results/s, 2 concurrent trivial trials ({execution}), median of {repeat}",
                     f"{median_of(rounds, execution):,.0f}", ">= 20,000", f"pipe round trips/s, 2 pairs: {floor:,.0f}",
                     f"{median_of(rounds, execution + '_ratio'):.2f}", load()))
    rounds = []
    for r in range(repeat):
        latency = launch_latency_ms(os.path.join(d, f"launch_{r}"), 50 if quick else 200)
        fork = fork_ms(50 if quick else 200)
        rounds.append({"latency": latency, "fork": fork, "ratio": latency / fork})
    rows.append((f"launch latency of a Python trial, median (ms), median of {repeat}",
                 f"{median_of(rounds, 'latency'):.2f}", "< 10",
                 f"fork + exit + wait of the driver: {median_of(rounds, 'fork'):.2f} ms",
                 f"{median_of(rounds, 'ratio'):.2f}", load()))
    n = 1_000 if quick else 10_000
    seconds = many_trials_s(os.path.join(d, "many"), n)
    bare = many_trials_s(os.path.join(d, "many_bare"), n, files=False)
    files = trial_files_s(os.path.join(d, "files"), n)
    rows.append((f"{n:,} one-result trials (s)", f"{seconds:.1f}", "< 30 for 10,000",
                 f"no trial files: {bare:.1f} s; the files alone: {files:.1f} s",
                 f"{seconds / bare:.2f} / {seconds / files:.2f}", load()))
    budget = 100 if quick else 200
    for execution in ("process", "thread"):
        rate = tune_tpe_trials_per_s(os.path.join(d, f"tpe_{execution}"), budget, execution)
        rows.append((f"tune.run + TPE, {budget} trials ({execution}), trials/s", f"{rate:,.1f}", "", "", "", load()))
    try:
        rate = optuna_trials_per_s(budget)
        rows.append((f"optuna study.optimize + TPESampler, {budget} trials, trials/s", f"{rate:,.1f}", "", "", "",
                     load()))
    except ImportError:
        rows.append(("optuna", "not installed", "", "", "", load()))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (1,000 trials, 20,000 results)")
    parser.add_argument("--local-dir", default=None, help="where the experiments go (default: the temp dir)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the rate and launch rows (median)")
    args = parser.parse_args()
    if args.local_dir:
        os.makedirs(args.local_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.local_dir, prefix="tune_bench_") as d:
        print(f"experiments under {d}; load average at the start: {load()}", flush=True)
        rows = measure(d, args.quick, max(1, args.repeat))
        # Printed before the clean-up: removing 70,000 files can take minutes on a busy disk.
        print("| measure | value | target | floor or peer, same run | ratio | load (1 min) |")
        print("|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
