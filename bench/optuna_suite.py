#!/usr/bin/env python3
"""Optuna's side of bench/search_suite.sh: the problems, seeds, concurrency and output format of
bench/e2e_search_suite.cc. The problems' spaces come from `e2e_search_suite list` and every value
from one `e2e_search_suite eval` process, so both sides search and score the same functions.

  optuna_suite.py BIN [--sampler tpe|tpe_liar|random] [--families a,b] [--problems f06,f15] [--dims 2,3,5,10]
                      [--seeds N] [--first-seed S] [--budget B] [--concurrency 1,2]
                      [--searcher-seed-offset N] [--label NAME]

With concurrency k, k trials are asked for before the first is told (ask/tell with pending
trials, as Optuna's n_jobs or a distributed study runs them); the oldest is told first.
"tpe" is TPESampler's defaults; "tpe_liar" adds its constant_liar=True. The sampler's seed is the
instance's seed plus N (default 0), as in e2e_search_suite; --label names the runs (default: the
sampler).
"""
import json
import math
import os
import subprocess
import sys
import warnings
from collections import deque

import optuna

from optuna_side import arg, sampler_of  # same flags, same samplers

warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
DOMAINS = {"uniform", "randint", "loguniform", "choice"}


def sample(trial, space, path):
    """Define-by-run: the config for one trial of a space in tune's JSON form. A choice between
    objects is a categorical index and only the chosen branch's parameters are suggested."""
    if isinstance(space, dict) and len(space) == 1 and next(iter(space)) in DOMAINS:
        kind, a = next(iter(space.items()))
        if kind == "uniform":
            return trial.suggest_float(path, a[0], a[1])
        if kind == "loguniform":
            return trial.suggest_float(path, a[0], a[1], log=True)
        if kind == "randint":
            return trial.suggest_int(path, a[0], a[1] - 1)
        if all(not isinstance(v, (dict, list)) for v in a):
            return trial.suggest_categorical(path, a)
        i = trial.suggest_categorical(path, list(range(len(a))))
        return sample(trial, a[i], f"{path}/{i}")
    if isinstance(space, dict):
        return {k: sample(trial, v, f"{path}/{k}" if path else k) for k, v in space.items()}
    return space


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ""
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"optuna_suite.py: '{binary}' is not an executable e2e_search_suite (usage: see the top of this file)")
    name = arg("--sampler", "tpe")
    seeds = int(arg("--seeds", "10"))
    first_seed = int(arg("--first-seed", "0"))
    budget = int(arg("--budget", "200"))
    concurrency = [int(k) for k in arg("--concurrency", "1,2").split(",")]
    seed_offset = int(arg("--searcher-seed-offset", "0"))
    label = arg("--label", name)
    listing = subprocess.run([binary, "list", "--families", arg("--families", ""), "--dims", arg("--dims", "2,3,5,10")],
                             check=True, capture_output=True, text=True).stdout
    evaluator = subprocess.Popen([binary, "eval"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def regret(problem, seed, config):
        request = {"problem": problem["problem"], "dims": problem["dims"], "seed": seed, "config": config}
        evaluator.stdin.write(json.dumps(request) + "\n")
        return float(evaluator.stdout.readline())

    wanted = [p for p in arg("--problems", "").split(",") if p]
    for line in listing.splitlines():
        problem = json.loads(line)
        if wanted and problem["problem"] not in wanted:
            continue
        for k in concurrency:
            for seed in range(first_seed, first_seed + seeds):
                study = optuna.create_study(direction="minimize", sampler=sampler_of(name, seed + seed_offset))
                pending, best, trace, started = deque(), math.inf, [], 0
                while len(trace) < budget:
                    while started < budget and len(pending) < k:
                        trial = study.ask()
                        pending.append((trial, sample(trial, problem["space"], "")))
                        started += 1
                    trial, config = pending.popleft()
                    y = regret(problem, seed, config)
                    study.tell(trial, y)
                    best = min(best, y)
                    trace.append(best)
                print(json.dumps({"side": "optuna", "problem": problem["problem"], "family": problem["family"],
                                  "tuning": problem["tuning"], "dims": problem["dims"], "searcher": label, "concurrency": k, "seed": seed,
                                  "trace": trace}), flush=True)
    evaluator.stdin.close()
    evaluator.wait()


if __name__ == "__main__":
    main()
