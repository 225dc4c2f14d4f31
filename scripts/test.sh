#!/usr/bin/env bash
# The README's second command: install what is missing, build, and run every test:
#   1. the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer,
#   2. the tests of the threaded and multi-process code again under ThreadSanitizer,
#   3. the downstream find_package(tune) check against an installed copy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
jobs=$(nproc)
# Test builds: -O1 without debug info compiles about twice as fast as -O2 -g and keeps the
# sanitizers' reports readable enough (function names, line tables from -O1 are enough).
test_flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DTUNE_BUILD_BENCH=OFF)

echo "== build: ASan + UBSan =="
bash scripts/build.sh build-asan "${test_flags[@]}" -DTUNE_SANITIZE=address,undefined

# The ASan tests spend much of their time waiting on child processes, Slurm steps and
# sleeps, so the TSan tree is built meanwhile at the lowest CPU priority: it takes only
# what the tests leave idle.
echo "== build: TSan, in the background =="
tsan_log=$(mktemp)
setsid nice -n 19 bash scripts/build.sh build-tsan "${test_flags[@]}" -DTUNE_SANITIZE=thread -DTUNE_BUILD_EXAMPLES=OFF \
  >"$tsan_log" 2>&1 &
tsan_build=$!
trap 'kill -- "-$tsan_build" 2>/dev/null || true; rm -f "$tsan_log"' EXIT

echo "== test: ASan + UBSan =="
# The Slurm tests start a private single-node cluster each (scripts/slurm_cluster.sh, on ports of
# their own); here a missing Slurm is a failure, not a skip.
export TUNE_TEST_REQUIRE_SLURM=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$jobs"

echo "== build: TSan (runner, executors, schedulers, object store) =="
if ! wait "$tsan_build"; then
  cat "$tsan_log"
  echo "the TSan build failed" >&2
  exit 1
fi
tail -n 1 "$tsan_log"
echo "== test: TSan =="
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -j "$jobs"

echo "== install + find_package(tune) from a downstream project =="
bash tests/install/check_install.sh build-asan

# The Python package (issue 19) against Debian's interpreter (/usr/bin/python3, where Debian's
# pybind11, numpy, pandas, torch and pytest live), built without sanitizers.
echo "== test: Python package (pytest) =="
bash python/run_tests.sh
