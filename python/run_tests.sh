#!/usr/bin/env bash
# The Python package's test suite: builds the extension module tune._tune (and the `tune` tool)
# in build-py against Debian's interpreter, without sanitizers, and runs pytest on python/tests
# (the examples included). Extra arguments go to pytest. TUNE_PYTHON picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${TUNE_PYTHON:-/usr/bin/python3}
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
# The same configuration as setup.py's, so `pip install .` afterwards reuses this build.
cmake -S . -B build-py -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
  -DTUNE_BUILD_PYTHON=ON -DTUNE_BUILD_TESTS=OFF -DTUNE_BUILD_BENCH=OFF -DTUNE_BUILD_EXAMPLES=OFF \
  -DTUNE_WERROR=ON "-DPython_EXECUTABLE=$py" "-DTUNE_PYTHON_PACKAGE_DIR=$PWD/python/tune" >/dev/null
nice -n 5 ninja -C build-py -j "${TUNE_PY_JOBS:-2}" _tune tune_cli
mkdir -p python/tune/bin && cp build-py/tune python/tune/bin/tune
PYTHONPATH=$PWD/python "$py" -m pytest -q -p no:cacheprovider -p no:hypothesispytest python/tests "$@"
# The Python code blocks of the README and docs/ (the C++ suite's doc test skips them while the
# system interpreter has no `tune`): run here against the package just built.
mapfile -t pages < <(grep -l '^```python run' README.md docs/*.md)
PYTHONPATH=$PWD/python "$py" tests/docs/run_doc_blocks.py --only python --python "$py" --source-dir "$PWD" \
  --build-dir "$PWD/build-py" --work-dir "$PWD/build-py/doc-blocks" --tune "$PWD/build-py/tune" --cxx c++ \
  --lib-dir "$PWD/build-py" \
  "${pages[@]}"
