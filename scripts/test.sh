#!/usr/bin/env bash
# The README's test command: installs what is missing, builds everything, runs the default
# ctest suite (unit, simulation, TCP cluster and multi-process tests). Long soak runs carry the
# label "soak" and stay out of it (the 10-minute jepsen runs among them); run them with:
# ctest --test-dir build-test -L soak   (or -L jepsen-long)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

jobs="${PONTOON_JOBS:-$(nproc)}"
build_dir="${PONTOON_BUILD_DIR:-build-test}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPONTOON_WERROR=ON >/dev/null
cmake --build "$build_dir" -j"$jobs"
ctest --test-dir "$build_dir" -j"$jobs" -LE soak --output-on-failure
