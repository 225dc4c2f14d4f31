#!/usr/bin/env python3
"""Tables of the held-out searcher benchmark (bench/search_suite.sh) from the JSON lines of
e2e_search_suite and optuna_suite.py:

  search_suite_report.py [--budgets 50,100,200] [--concurrency 2] [--ours tune:tpe]
                         [--peer optuna:tpe] [--families all|heldout|tuning]
                         [--problems f06,f07] [--dims 2,5,10] FILE...
  search_suite_report.py --candidates-vs tune:tpe [--families tuning] FILE...

--problems and --dims keep only those cells (e.g. the published set out of a --full run; the mixed
spaces are 8-D and the conditional one 14-D).

The second form is the candidates table of bench/search_suite.sh --select --candidates: each
other searcher label against the named one, per concurrency, as the geometric mean over cells of
(candidate's median / its median) and the share of cells where the candidate is no worse.

A cell is (problem, dims, budget) at one concurrency; its value is the median over seeds of the
best regret found within the budget. "No worse" means ours' median <= the peer's. Intervals are
95% percentile bootstraps over seeds (resampled per cell, the same seeds for both sides, since a
seed is one problem instance), 1000 draws. A second reading of "no worse" is given beside it: the
share of cells where a paired one-sided Wilcoxon signed-rank test on the seeds' log regrets does
not find ours worse at 5 %. Runs labelled NAME_reseeded (the same searcher with
--searcher-seed-offset) give the noise floor: how often NAME is no worse than itself.
"""
import json
import math
import sys
from collections import defaultdict

import numpy as np

FLOOR = 1e-8  # regrets below this count as solved (ratios of two solved runs are 1)


def arg(name, default):
    args = sys.argv[1:]
    return args[args.index(name) + 1] if name in args else default


budgets = [int(b) for b in arg("--budgets", "50,100,200").split(",")]
main_k = int(arg("--concurrency", "2"))
ours, peer = arg("--ours", "tune:tpe"), arg("--peer", "optuna:tpe")
which = arg("--families", "heldout")
files = [a for i, a in enumerate(sys.argv[1:]) if a.endswith(".jsonl")]

runs = defaultdict(dict)  # (problem, dims, searcher, k) -> {seed: trace}
family = {}
tuning = {}  # (problem, dims) -> whether its family is a tuning one (e2e_search_suite says so)
for path in files:
    for line in open(path):
        r = json.loads(line)
        key = (r["problem"], r["dims"], f'{r["side"]}:{r["searcher"]}', r["concurrency"])
        runs[key][r["seed"]] = np.maximum(np.array(r["trace"], dtype=float), FLOOR)
        family[(r["problem"], r["dims"])] = r["family"]
        if "tuning" not in r:
            sys.exit(f"{path}: a line without \"tuning\" (written before 2026-12-07): run it again")
        tuning[(r["problem"], r["dims"])] = r["tuning"]


only_problems = [p for p in arg("--problems", "").split(",") if p]
only_dims = [int(d) for d in arg("--dims", "").split(",") if d]


def selected(cell):
    if only_problems and cell[0] not in only_problems or only_dims and cell[1] not in only_dims:
        return False
    return which == "all" or tuning[cell] == (which == "tuning")


rng = np.random.default_rng(0)
DRAWS = 1000


def values(name, problem, dims, k, budget, seeds):
    t = runs[(problem, dims, name, k)]
    return np.array([t[s][budget - 1] for s in seeds])


def paired(a_name, a_k, b_name, b_k, problems):
    """Per cell: (cell, a values, b values) on the seeds both sides have."""
    out = []
    for problem, dims in problems:
        ta, tb = runs.get((problem, dims, a_name, a_k)), runs.get((problem, dims, b_name, b_k))
        if not ta or not tb:
            continue
        seeds = sorted(set(ta) & set(tb))
        for b in budgets:
            if min(len(t[s]) for t in (ta, tb) for s in seeds) < b:
                continue  # a run shorter than the budget (GP's are) has no value there
            out.append(((problem, dims, b), values(a_name, problem, dims, a_k, b, seeds),
                        values(b_name, problem, dims, b_k, b, seeds)))
    return out


def boot(cells, stat):
    """stat(list of (a_median, b_median) per cell) with a bootstrap interval over seeds."""
    point = stat([(np.median(a), np.median(b)) for _, a, b in cells])
    draws = []
    for _ in range(DRAWS):
        meds = []
        for _, a, b in cells:
            i = rng.integers(0, len(a), len(a))
            meds.append((np.median(a[i]), np.median(b[i])))
        draws.append(stat(meds))
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return point, lo, hi


def win_rate(meds):
    return float(np.mean([a <= b for a, b in meds]))


def signed_rank_p(d):
    """One-sided p-value of the Wilcoxon signed-rank test that the differences d lean positive.
    Zero differences are dropped, tied |d| share their average rank; exact over all 2^n signs
    for n <= 14, else the normal approximation with the tie correction."""
    d = d[d != 0]
    n = len(d)
    if n == 0:
        return 1.0
    order = np.argsort(np.abs(d), kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(1, n + 1)
    _, tie, counts = np.unique(np.abs(d), return_inverse=True, return_counts=True)
    ranks = (np.bincount(tie, ranks) / counts)[tie]
    w = ranks[d > 0].sum()
    if n <= 14:
        signs = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
        return float(np.mean(signs @ ranks >= w - 1e-9))
    mean = n * (n + 1) / 4
    var = n * (n + 1) * (2 * n + 1) / 24 - np.sum(counts ** 3 - counts) / 48
    return float(0.5 * math.erfc((w - 0.5 - mean) / math.sqrt(2 * var)))


def not_worse_by_test(cells, level=0.05):
    """Share of cells where ours is not significantly worse than the peer: a paired one-sided
    Wilcoxon signed-rank test on the log regrets of the seeds both ran (a seed is one instance),
    at the given level. It answers a different question than the medians' comparison: equal
    searchers pass it in about 95 % of cells, where they are "no worse" by median in about half."""
    return float(np.mean([signed_rank_p(np.log(a) - np.log(b)) >= level for _, a, b in cells]))


def median_ratio(meds):
    return float(np.median([a / b for a, b in meds]))


def geo_ratio(meds):
    return float(np.exp(np.mean([np.log(a / b) for a, b in meds])))


problems = sorted({(p, d) for (p, d, _, _) in runs if selected((p, d))})


def candidates_table(base):
    names = sorted({n for (_, _, n, _) in runs if n != base})
    ks = sorted({k for (_, _, n, k) in runs if n == base})
    print(f"## Candidates vs {base}, {which} families: geometric mean over cells of (candidate's median / "
          f"{base}'s median) [95% CI], share of cells no worse\n")
    print("| candidate | " + " | ".join(f"k = {k}" for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    for n in names:
        row = []
        for k in ks:
            sub = paired(n, k, base, k, problems)
            if not sub:
                row.append("")
                continue
            g, gl, gh = boot(sub, geo_ratio)
            row.append(f"{g:.2f} [{gl:.2f}, {gh:.2f}], {win_rate([(np.median(a), np.median(b)) for _, a, b in sub]):.0%}")
        print(f"| {n} | " + " | ".join(row) + " |")


if "--candidates-vs" in sys.argv:
    candidates_table(arg("--candidates-vs", "tune:tpe"))
    sys.exit(0)
fams = sorted({family[c] for c in problems})
print(f"## {ours} vs {peer}, concurrency {main_k}, {which} families ({', '.join(fams)})\n")
print("win rate = share of (function, dims, budget) cells where ours' median <= peer's; "
      "ratio = median over cells of ours' median / peer's (< 1: ours better); "
      "not significantly worse = share of cells where a paired one-sided Wilcoxon signed-rank test "
      "on the seeds' log regrets does not find ours worse at 5 %\n")
print("| cells | n | win rate [95% CI] | median ratio [95% CI] | not significantly worse |")
print("|---|---|---|---|---|")
groups = [("all", lambda c: True)] + [(f"budget {b}", lambda c, b=b: c[2] == b) for b in budgets] + \
         [(f, lambda c, f=f: family[(c[0], c[1])] == f) for f in fams]
cells = paired(ours, main_k, peer, main_k, problems)
for label, keep in groups:
    sub = [c for c in cells if keep(c[0])]
    if not sub:
        continue
    w, wl, wh = boot(sub, win_rate)
    m, ml, mh = boot(sub, median_ratio)
    print(f"| {label} | {len(sub)} | {w:.0%} [{wl:.0%}, {wh:.0%}] | {m:.2f} [{ml:.2f}, {mh:.2f}] | "
          f"{not_worse_by_test(sub):.0%} |")
ratios = np.sort([np.median(a) / np.median(b) for _, a, b in cells])
if len(ratios):
    # The smallest c such that ours' medians, all divided by c, would be no worse in >= 90 % of cells.
    need = ratios[int(np.ceil(0.9 * len(ratios))) - 1]
    if need > 1:
        print(f"\nTo be no worse in 90 % of these {len(ratios)} cells, ours' median would have to be "
              f"{need:.2f}x lower in every cell.")
    else:
        print(f"\nOurs is no worse in at least 90 % of these {len(ratios)} cells.")
for title, worse in (("cells lost", lambda a, b: np.median(a) > np.median(b)),
                     ("cells significantly worse", lambda a, b: signed_rank_p(np.log(a) - np.log(b)) < 0.05)):
    listed = [f"{p}-{d}D@{bud} {np.median(a):.3g} vs {np.median(b):.3g}" for (p, d, bud), a, b in cells if worse(a, b)]
    if listed:
        print(f"\n{title} ({len(listed)}): " + "; ".join(listed))

# The noise floor of the win rate: a searcher against itself on the same instances with other
# random draws (a label NAME_reseeded, run with --searcher-seed-offset). Equal searchers are
# "no worse" in about half the cells (more where both solve a cell: ties count).
floor_rows = []
for n in sorted({n for (_, _, n, _) in runs if n.endswith("_reseeded")}):
    base = n[: -len("_reseeded")]
    for k in (1, main_k) if main_k != 1 else (1,):
        sub = paired(n, k, base, k, problems)
        if sub:
            w, wl, wh = boot(sub, win_rate)
            m, ml, mh = boot(sub, median_ratio)
            floor_rows.append(f"| {base} | {k} | {len(sub)} | {w:.0%} [{wl:.0%}, {wh:.0%}] | {m:.2f} [{ml:.2f}, {mh:.2f}] | "
                              f"{not_worse_by_test(sub):.0%} |")
if floor_rows:
    print("\n## Noise floor: each searcher against itself on the same instances, other random draws\n")
    print("| searcher | k | cells | win rate [95% CI] | median ratio [95% CI] | not significantly worse |")
    print("|---|---|---|---|---|---|")
    print("\n".join(floor_rows))

print(f"\n## Median regret per cell, concurrency {main_k} (budget {budgets[-1]})\n")
names = sorted({n for (_, _, n, k) in runs if k == main_k})
print("| problem | dims | family | " + " | ".join(names) + " |")
print("|---|---|---|" + "---|" * len(names))
for problem, dims in problems:
    row = []
    for n in names:
        t = runs.get((problem, dims, n, main_k))
        full = t and min(len(v) for v in t.values()) >= budgets[-1]
        row.append(f"{np.median(values(n, problem, dims, main_k, budgets[-1], sorted(t))):.3g}" if full else "")
    print(f"| {problem} | {dims} | {family[(problem, dims)]} | " + " | ".join(row) + " |")

print("\n## Concurrency: median at k pending / median at k = 1, same searcher (geometric mean over cells)\n")
print("| searcher | k | cells | ratio [95% CI] | cells within +10% |")
print("|---|---|---|---|---|")
for n in sorted({n for (_, _, n, _) in runs}):
    for k in sorted({k for (_, _, m, k) in runs if m == n and k != 1}):
        sub = paired(n, k, n, 1, problems)
        if not sub:
            continue
        g, gl, gh = boot(sub, geo_ratio)
        within = np.mean([np.median(a) <= 1.1 * np.median(b) for _, a, b in sub])
        print(f"| {n} | {k} | {len(sub)} | {g:.2f} [{gl:.2f}, {gh:.2f}] | {within:.0%} |")

gp = "tune:gp"
if any(n == gp for (_, _, n, _) in runs):
    print(f"\n## GP-BO on <= 6-D continuous cells, concurrency {main_k}: share of cells where its median beats\n")
    cont = [(p, d) for p, d in problems if p.startswith("f") and d <= 6]
    print("| peer | cells | GP better [95% CI] |")
    print("|---|---|---|")
    for other in (ours, peer):
        sub = paired(gp, main_k, other, main_k, cont)
        if sub:
            w, wl, wh = boot(sub, lambda meds: float(np.mean([a < b for a, b in meds])))
            print(f"| {other} | {len(sub)} | {w:.0%} [{wl:.0%}, {wh:.0%}] |")
    a, b = paired(gp, main_k, ours, main_k, cont), paired(gp, main_k, peer, main_k, cont)
    theirs = {cell: np.median(v) for cell, _, v in b}
    both = [np.median(g) < np.median(v) and np.median(g) < theirs[cell] for cell, g, v in a if cell in theirs]
    if both:
        print(f"| both | {len(both)} | {np.mean(both):.0%} |")
