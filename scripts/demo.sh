#!/usr/bin/env bash
# The README's first command: install what is missing, build, and tune a real model
# (a one-hidden-layer MLP on the UCI digits data in data/) with tune.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
bash scripts/build.sh build -DTUNE_BUILD_TESTS=OFF
results=${TUNE_DEMO_DIR:-$HOME/tune_results}
./build/examples/tune_digits data/digits.csv "$results"
