#!/usr/bin/env bash
# Installs the Debian 12 packages Pontoon builds and tests with. Idempotent and
# non-interactive: packages already present are left alone, nothing is asked.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-all-dev
  librocksdb-dev
  libprotobuf-dev protobuf-compiler
  libconcurrentqueue-dev
  catch2
  libjemalloc-dev  # the servers' and raft-bench's malloc (CMake option PONTOON_MALLOC)
  python3
  faketime  # jepsen: the clock-skew nemesis preloads its libfaketime
)

# Benchmark-only extras: benchmarks/report plots with gnuplot, etcd-bench runs etcd. Builds and
# the test suite do without them (the report's plot test skips, etcd-bench exits 2), so they
# are installed when possible but their absence is not an error.
optional_packages=(
  gnuplot-nox
  etcd-server etcd-client
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

optional_missing=()
for pkg in "${optional_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    optional_missing+=("$pkg")
  fi
done

if [ "$(id -u)" -eq 0 ] && [ ${#optional_missing[@]} -gt 0 ]; then
  echo "install-deps: installing the benchmark extras ${optional_missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${optional_missing[@]}" >/dev/null ||
    echo "install-deps: could not install ${optional_missing[*]}; benchmarks needing them exit 2" >&2
elif [ ${#optional_missing[@]} -gt 0 ]; then
  echo "install-deps: benchmark extras missing (${optional_missing[*]}); run as root to install them" >&2
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
