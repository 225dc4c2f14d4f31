#!/usr/bin/env python3
"""Optuna's side of bench/search_compare.sh: the same problems, seeds and output format as
bench/e2e_search.cc. One process per call (the script runs it fresh for each sampler).

  optuna_side.py compare --sampler tpe|cmaes|random [--problems a,b] [--seeds N] [--first-seed S] [--budget B]
  optuna_side.py latency [--history 100,1000,5000] [--dims 10] [--repeats 20]
"""
import json
import math
import random
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(x):
    a, b, c, r, s, t = 1, 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6, 10, 1 / (8 * math.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s


ALPHA = [1.0, 1.2, 3.0, 3.2]
A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(x):
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - 1e-4 * P[i][j]) ** 2 for j in range(6)))
                for i in range(4))


def rosenbrock(x):
    return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (x[i] - 1) ** 2 for i in range(len(x) - 1))


def styblinski_tang(x):
    return sum(v ** 4 - 16 * v ** 2 + 5 * v for v in x) / 2


def ackley(x):
    d = len(x)
    s1 = sum(v * v for v in x)
    s2 = sum(math.cos(2 * math.pi * v) for v in x)
    return -20 * math.exp(-0.2 * math.sqrt(s1 / d)) - math.exp(s2 / d) + 20 + math.e


PROBLEMS = [
    ("branin", [(-5, 10), (0, 15)], 0.397887, branin),
    ("hartmann6", [(0, 1)] * 6, -3.32237, hartmann6),
    ("rosenbrock10", [(-5, 10)] * 10, 0.0, rosenbrock),
    ("styblinski_tang10", [(-5, 5)] * 10, -39.16617 * 10, styblinski_tang),
    ("ackley5", [(-32.768, 32.768)] * 5, 0.0, ackley),
]


def arg(name, default):
    args = sys.argv[2:]
    return args[args.index(name) + 1] if name in args else default


def sampler_of(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe_liar":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if name == "tpe_multivariate":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SystemExit(f"unknown sampler {name}")


def compare():
    name = arg("--sampler", "tpe")
    wanted = [p for p in arg("--problems", "").split(",") if p]
    seeds = int(arg("--seeds", "20"))
    first_seed = int(arg("--first-seed", "0"))
    budget = int(arg("--budget", "200"))
    for pname, box, optimum, f in PROBLEMS:
        if wanted and pname not in wanted:
            continue
        dists = {f"x{i:02d}": optuna.distributions.FloatDistribution(lo, hi) for i, (lo, hi) in enumerate(box)}
        for seed in range(first_seed, first_seed + seeds):
            study = optuna.create_study(direction="minimize", sampler=sampler_of(name, seed))
            best, trace = math.inf, []
            start = time.process_time()
            for _ in range(budget):
                trial = study.ask(dists)
                y = f([trial.params[f"x{i:02d}"] for i in range(len(box))])
                study.tell(trial, y)
                best = min(best, y)
                trace.append(best)
            seconds = time.process_time() - start
            print(json.dumps({"side": "optuna", "problem": pname, "searcher": name, "seed": seed,
                              "optimum": optimum, "seconds": seconds, "trace": trace}), flush=True)


def latency():
    histories = [int(h) for h in arg("--history", "100,1000,5000").split(",")]
    dims = int(arg("--dims", "10"))
    repeats = int(arg("--repeats", "20"))
    multivariate = arg("--multivariate", "false") == "true"
    dists = {f"x{i:02d}": optuna.distributions.FloatDistribution(-5, 5) for i in range(dims)}
    for n in histories:
        rng = random.Random(7)
        study = optuna.create_study(direction="minimize",
                                    sampler=optuna.samplers.TPESampler(seed=1, multivariate=multivariate))
        trials = []
        for _ in range(n):
            params = {k: rng.uniform(-5, 5) for k in dists}
            trials.append(optuna.trial.create_trial(params=params, distributions=dists,
                                                    value=styblinski_tang(list(params.values()))))
        study.add_trials(trials)
        start = time.process_time()
        for _ in range(repeats):
            trial = study.ask(dists)
            study.tell(trial, styblinski_tang([trial.params[k] for k in dists]))
        ms = (time.process_time() - start) * 1000 / repeats
        print(json.dumps({"side": "optuna", "sampler": "tpe_multivariate" if multivariate else "tpe",
                          "history": n, "dims": dims, "ms_per_trial": ms}), flush=True)


if __name__ == "__main__":
    {"compare": compare, "latency": latency}[sys.argv[1]]()
