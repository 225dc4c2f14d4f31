#!/usr/bin/env bash
# Installs what building and testing tune needs, from Debian 12's archive, when missing.
# Every package and why it is here: README.md, "Dependencies".
#   scripts/install_deps.sh           build, test, demo
#   scripts/install_deps.sh --bench   and the peers of the searcher benchmarks (bench/search_*.sh)
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config       # toolchain
  nlohmann-json3-dev                            # configs and results are JSON trees
  libfmt-dev                                    # formatting of messages, tables and names
  libyaml-cpp-dev                               # YAML spec files and search spaces
  libcli11-dev                                  # the tune command's argument parsing
  libeigen3-dev                                 # linear algebra of the GP and CMA-ES searchers
  libsimdjson-dev                               # reading a 100,000-trial snapshot fast (src/analysis/snapshot_scan.cc)
  libgtest-dev libgmock-dev                     # the test suite
  libbenchmark-dev                              # bench/ micro-benchmarks
  protobuf-compiler libprotobuf-dev             # tests decode TensorBoard files with the official schema
  python3                                       # the Python client and its tests
  rsync                                         # default sync command (sync_config) and its tests
  slurmctld slurmd slurm-client munge           # the Slurm executor's tests and bench: a private local cluster (scripts/slurm_cluster.sh)
  pybind11-dev python3-pybind11 python3-dev     # the Python package's extension module (python/src)
  python3-setuptools python3-wheel python3-pip python3-venv  # `pip install .` with Debian's build backend
  python3-numpy python3-pandas python3-pytest   # pinned numpy arrays, DataFrames, the Python test suite
  python3-torch python3-sklearn                 # the Python examples: a PyTorch MLP on sklearn's bundled digits
  libcpp-httplib-dev chromium zlib1g-dev        # tune dashboard: its HTTP server; the browser test (zlib decodes its screenshot)
  libre2-dev                                    # tune dashboard: the config filter's regexes, in linear time
)
case "${1:-}" in
  "") ;;
  --bench) packages+=(python3-optuna) ;;  # Optuna 3.1's TPE, the peer of bench/search_compare.sh and bench/search_suite.sh
  *) echo "install_deps.sh: unknown argument '$1' (expected nothing or --bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
