#!/usr/bin/env python3
"""Reads the JSON lines of e2e_search / optuna_side.py and prints the comparison tables:
median [q1, q3] of the best value found after each budget, and suggest latency."""
import json
import statistics
import sys
from collections import defaultdict

budgets = [int(b) for b in sys.argv[1].split(",")]
runs = defaultdict(list)
latency = {}
optimum = {}
for path in sys.argv[2:]:
    for line in open(path):
        r = json.loads(line)
        if "trace" in r:
            runs[(r["problem"], f'{r["side"]}:{r["searcher"]}')].append(r["trace"])
            optimum[r["problem"]] = r["optimum"]
        elif "ms_per_trial" in r:
            latency[(f'{r["side"]}:{r["sampler"]}', r["history"])] = r["ms_per_trial"]


def quartiles(values):
    v = sorted(values)
    if len(v) == 1:
        return v[0], v[0], v[0]
    q = statistics.quantiles(v, n=4, method="inclusive")
    return q[0], statistics.median(v), q[2]


problems = list(dict.fromkeys(p for p, _ in runs))
for problem in problems:
    names = [n for p, n in runs if p == problem]
    print(f"\n#### {problem} (optimum {optimum[problem]:g}); best value found, median [q1, q3] over "
          f"{len(runs[(problem, names[0])])} seeds, lower is better\n")
    print("| searcher | " + " | ".join(f"{b} evals" for b in budgets) + " |")
    print("|---|" + "---|" * len(budgets))
    medians = {}
    for name in names:
        cells = []
        for b in budgets:
            vals = [t[min(b, len(t)) - 1] for t in runs[(problem, name)]]
            q1, m, q3 = quartiles(vals)
            medians[(name, b)] = m
            cells.append(f"{m:.4g} [{q1:.4g}, {q3:.4g}]")
        print(f"| {name} | " + " | ".join(cells) + " |")
    for b in budgets:
        best = min(names, key=lambda n: medians[(n, b)])
        print(f"\nbest median at {b}: {best}", end="")
    print()
if latency:
    print("\n#### suggest + tell latency, 10 parameters (CPU ms per trial)\n")
    histories = sorted({h for _, h in latency})
    samplers = list(dict.fromkeys(s for s, _ in latency))
    print("| sampler | " + " | ".join(f"{h} trials" for h in histories) + " |")
    print("|---|" + "---|" * len(histories))
    for s in samplers:
        print(f"| {s} | " + " | ".join(f'{latency.get((s, h), float("nan")):.3g}' for h in histories) + " |")
    for h in histories:
        ours, theirs = latency.get(("tune:tpe", h)), latency.get(("optuna:tpe", h))
        if ours and theirs:
            print(f"\nat {h} trials: tune TPE is {theirs / ours:.1f}x faster than Optuna TPE", end="")
    print()
