#!/usr/bin/env bash
# Side-by-side searcher benchmark: tune's searchers (every make_searcher type: random, TPE, GP,
# CMA-ES) against Optuna's TPE, CMA-ES and random on Branin, Hartmann6, Rosenbrock-10,
# Styblinski-Tang-10 and Ackley-5, budgets 50/100/200, 20 seeds; then suggest latency of tune's
# TPE, GP and CMA-ES and Optuna's TPE at 100/1,000/5,000 trials.
# Each side runs in fresh processes under the same environment. Installs what is missing with
# scripts/install_deps.sh --bench (Debian, as root): the build's libraries and python3-optuna.
#
#   bash bench/search_compare.sh            # the full comparison (about an hour of CPU: GP and Optuna's TPE)
#   bash bench/search_compare.sh --quick    # 3 seeds, budget 50, history 100/1000: a smoke run
#   bash bench/search_compare.sh --tpe-seeds 100      # TPE against Optuna's TPE only, on seeds
#                                                     # 0..99 (about 25 minutes of CPU, Optuna's)
#   bash bench/search_compare.sh --reuse-optuna DIR   # Optuna's rows from an earlier run's results
#                                                     # directory (its optuna_*.jsonl), tune's re-run
# Optuna's side is seeded and deterministic, so --reuse-optuna changes none of its numbers
# (its latency is CPU time measured then); it saves about 10 minutes of CPU per run when
# only tune's searchers changed. The results directory is printed first ($TUNE_BENCH_OUT sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0 REUSE="" TPE_SEEDS=""
while (($#)); do
  case "$1" in
    --quick) QUICK=1 ;;
    --reuse-optuna) REUSE=${2:?--reuse-optuna needs a directory}; shift ;;
    --tpe-seeds) TPE_SEEDS=${2:?--tpe-seeds needs a number of seeds}; shift
      [[ "$TPE_SEEDS" =~ ^[1-9][0-9]*$ ]] || { echo "--tpe-seeds: '$TPE_SEEDS' is not a positive number" >&2; exit 2; } ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n "$REUSE" ]] && ! compgen -G "$REUSE/optuna_*.jsonl" >/dev/null; then
  echo "--reuse-optuna: no optuna_*.jsonl in $REUSE" >&2; exit 2
fi
if ((QUICK)); then
  SEEDS=3 BUDGETS=20,50 HISTORY=100,1000 REPEATS=5
else
  SEEDS=20 BUDGETS=50,100,200 HISTORY=100,1000,5000 REPEATS=20
fi
BUDGET=${BUDGETS##*,}

bash scripts/install_deps.sh --bench >&2  # the build's libraries and Optuna, when missing
PY=/usr/bin/python3
[[ -n "$REUSE" ]] || "$PY" -c 'import optuna; print("optuna", optuna.__version__)' >&2

BIN=${TUNE_BENCH_BIN:-}  # a prebuilt e2e_search, or build one
if [[ -z "$BIN" ]]; then
  BUILD=${TUNE_BENCH_BUILD:-build-bench}
  if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTUNE_BUILD_TESTS=OFF -DTUNE_BUILD_EXAMPLES=OFF >&2
  fi
  ninja -C "$BUILD" -j"${TUNE_BENCH_JOBS:-1}" bench_e2e_search >&2
  BIN="$BUILD/bench/e2e_search"
fi

OUT=${TUNE_BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
echo "== results in $OUT" >&2
if [[ -n "$TPE_SEEDS" ]]; then  # both TPEs only, on more seeds than the full comparison's 20
  "$BIN" compare --seeds "$TPE_SEEDS" --budget 200 --searchers tpe >"$OUT/tune_tpe.jsonl"
  if [[ -z "$REUSE" ]]; then
    "$PY" bench/optuna_side.py compare --sampler tpe --seeds "$TPE_SEEDS" --budget 200 >"$OUT/optuna_tpe.jsonl"
  elif [[ -f "$REUSE/optuna_tpe.jsonl" ]]; then  # must hold the same seeds (search_report.py prints how many)
    [[ "$(realpath "$REUSE")" == "$(realpath "$OUT")" ]] || cp "$REUSE/optuna_tpe.jsonl" "$OUT"/
  else
    echo "--reuse-optuna: no optuna_tpe.jsonl in $REUSE" >&2; exit 2
  fi
  echo "== $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
  exec "$PY" bench/search_report.py 50,100,200 "$OUT/tune_tpe.jsonl" "$OUT/optuna_tpe.jsonl"
fi
"$BIN" compare --seeds "$SEEDS" --budget "$BUDGET" >"$OUT/tune.jsonl"
"$BIN" compare --seeds "$SEEDS" --budget "$BUDGET" --searchers tpe --options '{"multivariate": false}' \
  --label tpe_univariate >"$OUT/tune_univariate.jsonl"
"$BIN" compare --seeds "$SEEDS" --budget "$BUDGET" --searchers tpe --options '{"scale_free_kernels": false}' \
  --label tpe_textbook >"$OUT/tune_textbook.jsonl"
"$BIN" latency --searchers tpe,gp,cmaes --history "$HISTORY" --repeats "$REPEATS" >"$OUT/tune_latency.jsonl"
"$BIN" latency --searchers tpe --multivariate false --history "$HISTORY" --repeats "$REPEATS" >>"$OUT/tune_latency.jsonl"
if [[ -n "$REUSE" ]]; then
  [[ "$(realpath "$REUSE")" == "$(realpath "$OUT")" ]] || cp "$REUSE"/optuna_*.jsonl "$OUT"/
else
  for sampler in tpe cmaes random; do  # a fresh process per sampler
    "$PY" bench/optuna_side.py compare --sampler "$sampler" --seeds "$SEEDS" --budget "$BUDGET" >"$OUT/optuna_$sampler.jsonl"
  done
  "$PY" bench/optuna_side.py latency --history "$HISTORY" --repeats "$REPEATS" >"$OUT/optuna_latency.jsonl"
fi
echo "== $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)"
"$PY" bench/search_report.py "$BUDGETS" "$OUT"/*.jsonl
