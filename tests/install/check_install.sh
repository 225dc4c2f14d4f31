#!/usr/bin/env bash
# Installs tune from a plain build into a temporary prefix, then builds and runs a
# downstream project that finds it with find_package(tune CONFIG).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-install
bash scripts/build.sh "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DTUNE_BUILD_TESTS=OFF \
  -DTUNE_BUILD_EXAMPLES=OFF -DTUNE_BUILD_BENCH=OFF
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
cmake -S tests/install/downstream -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$work/build" >/dev/null
out=$("$work/build/downstream" "$work/results")
echo "$out"
grep -q "best x = 3" <<<"$out"
echo "install check: 1 passed, 0 failed"
