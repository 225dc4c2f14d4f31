#!/usr/bin/env bash
# Installs tune into a temporary prefix, then builds and runs a downstream project that finds
# it with find_package(tune CONFIG): tests/install/check_install.sh [BUILD_DIR]
# BUILD_DIR is an existing build tree to install from (scripts/test.sh passes its ASan tree,
# so the check costs no third build; a sanitized tune carries its -fsanitize link flags to
# its users); without one, a plain library-only tree is built first.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-}
if [ -z "$build" ]; then
  build=build-install
  bash scripts/build.sh "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O1 -DTUNE_BUILD_TESTS=OFF \
    -DTUNE_BUILD_EXAMPLES=OFF -DTUNE_BUILD_BENCH=OFF
elif [ ! -f "$build/build.ninja" ]; then
  echo "check_install.sh: $build is not a configured build tree (scripts/build.sh $build)" >&2
  exit 2
fi
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
