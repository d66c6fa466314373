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
  python3
  faketime  # jepsen: the clock-skew nemesis preloads its libfaketime
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

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
