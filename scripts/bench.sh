#!/usr/bin/env bash
# Builds an optimised tree and prints the benchmark tables quoted in README.md.
#   scripts/bench.sh            full sizes (several minutes on 2 cores)
#   scripts/bench.sh --quick    smaller sizes, for a smoke check
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh build-bench -DTUNE_BUILD_TESTS=OFF -DTUNE_BUILD_EXAMPLES=OFF >/dev/null
out=$(mktemp -d -p "$PWD/build-bench")
trap 'rm -rf "$out"' EXIT
echo "== core (in-process) =="
./build-bench/bench/e2e_core "$@" "$out"
echo
echo "== checkpoints, journal and resume =="
./build-bench/bench/e2e_checkpoint "$@" "$out"
echo
echo "== process trials =="
./build-bench/bench/e2e_process "$@" "$out" || true
echo
echo "== Slurm steps (a private local cluster) =="
slurm_dir="$out/slurm"
if eval "$(bash scripts/slurm_cluster.sh start "$slurm_dir")"; then
  ./build-bench/bench/e2e_slurm "$@" "$out" || true
  bash scripts/slurm_cluster.sh stop "$slurm_dir"
fi
echo
echo "== pinned objects: memory of a shared array =="
./build-bench/bench/e2e_pinned_memory "$@" "$out"
echo
echo "== TensorBoard logger cost =="
./build-bench/bench/micro_tensorboard --benchmark_min_time=0.5 2>/dev/null | grep -E "Benchmark|---|BM_"
