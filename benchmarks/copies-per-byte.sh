#!/usr/bin/env bash
# copies-per-byte.sh: how many times each process of a raft-bench run copies a write's payload,
# counted by benchmarks/copy-count/copy_count.so (an LD_PRELOAD shim over memcpy, memmove and
# mempcpy).
#
#   benchmarks/copies-per-byte.sh [flags]     # from the repository, after building
#
# Flags (each also as --flag=value):
#   --build-dir DIR        where raft-bench was built (default build)
#   --clients N            closed-loop clients (default 16)
#   --payload-bytes N      bytes per write, at least --min-copy-bytes (default 4096)
#   --seconds N            seconds of load (default 5)
#   --log-storage KIND     segments or rocksdb (default segments, raft-bench's default)
#   --min-copy-bytes N     copies of at least N bytes are payload copies (default 1024)
#   --work DIR             data, the shim and the counts (default a fresh mktemp dir, removed after)
#
# It builds the shim with gcc, runs `raft-bench --topology processes` (3 replica processes and
# the client driver, over TCP on 127.0.0.1) with the shim preloaded into every process, and
# prints for each process the bytes it copied in copies of at least --min-copy-bytes, divided
# by the payload bytes written (ops x --payload-bytes): 1.0 means every payload byte was copied
# once in that process. With payloads well above --min-copy-bytes the small copies (headers,
# varints, names) stay out of the count and the big ones are whole payloads or buffers holding
# several. The replica with the most copies is the leader (it sends each entry to two
# followers); the warm-up is 0 s, so the election's few copies are counted too.
#
# What the shim cannot see: copies libc makes inside itself (read/write to the kernel are not
# copies here) and copies the compiler inlines for small constant sizes; the kernel's own
# socket and page-cache copies are outside any process. docs/benchmarks.md, "Copies per byte",
# lists the copy sites behind each number.
#
# Exit codes: 0 measured, 1 the run failed, 2 bad usage. Traffic goes to 127.0.0.1 only.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/script-flags.sh
source "$repo/scripts/lib/script-flags.sh"

build_dir=build
clients=16
payload_bytes=4096
seconds=5
log_storage=segments
min_copy_bytes=1024
work=

while (($# > 0)); do
  flag=$1
  value=
  if [[ $flag == --*=* ]]; then
    value=${flag#*=}
    flag=${flag%%=*}
  elif [[ $flag == --help || $flag == -h ]]; then
    usage
  else
    (($# >= 2)) || bad_usage "$flag needs a value"
    value=$2
    shift
  fi
  shift
  case $flag in
    --build-dir) build_dir=$value ;;
    --clients) need_int "$flag" "$value" && clients=$value ;;
    --payload-bytes) need_int "$flag" "$value" && payload_bytes=$value ;;
    --seconds) need_int "$flag" "$value" && seconds=$value ;;
    --log-storage)
      [[ $value == rocksdb || $value == segments ]] ||
        bad_usage "--log-storage: '$value' is not rocksdb or segments"
      log_storage=$value
      ;;
    --min-copy-bytes) need_int "$flag" "$value" && min_copy_bytes=$value ;;
    --work) work=$value ;;
    *) bad_usage "unknown flag '$flag'" ;;
  esac
done
((clients > 0)) || bad_usage "--clients must be positive"
((seconds > 0)) || bad_usage "--seconds must be positive"
((min_copy_bytes > 0)) || bad_usage "--min-copy-bytes must be positive"
((payload_bytes >= min_copy_bytes)) ||
  bad_usage "--payload-bytes must be at least --min-copy-bytes ($min_copy_bytes)"

bench=$build_dir/benchmarks/raft-bench
[[ -x $bench ]] || {
  echo "copies-per-byte: $bench is missing; build first (cmake --build $build_dir)" >&2
  exit 1
}
command -v gcc >/dev/null || {
  echo "copies-per-byte: gcc is needed to build the shim" >&2
  exit 1
}

own_work=0
if [[ -z $work ]]; then
  work=$(mktemp -d /tmp/pontoon-copies-XXXXXX)
  own_work=1
fi
trap '((own_work)) && rm -rf "$work"; true' EXIT
mkdir -p "$work/data"

# -fno-builtin: the shim's own copies must not turn back into calls to memcpy.
gcc -O2 -fPIC -shared -fno-builtin -o "$work/copy_count.so" \
  "$repo/benchmarks/copy-count/copy_count.c"

counts=$work/counts.txt
rm -f "$counts"
if ! LD_PRELOAD=$work/copy_count.so COPY_COUNT_OUT=$counts COPY_COUNT_MIN=$min_copy_bytes \
  "$bench" --topology processes --clients "$clients" --seconds "$seconds" \
  --warmup-seconds 0 --payload-bytes "$payload_bytes" --log-storage "$log_storage" \
  --data "$work/data" --json "$work/run.json" >"$work/bench.out" 2>&1; then
  cat "$work/bench.out" >&2
  echo "copies-per-byte: raft-bench failed" >&2
  exit 1
fi
ops=$(grep -o '"ops": [0-9]*' "$work/run.json" | grep -o '[0-9]*$')
((ops > 0)) || {
  echo "copies-per-byte: raft-bench reported no ops" >&2
  exit 1
}
grep -E '^ +[0-9]+ ops in' "$work/bench.out" | sed 's/^ *//'

# One line per process: "pid P cmd ARGV calls N bytes N big_calls N big_bytes N".
awk -v ops="$ops" -v payload="$payload_bytes" '
  {
    role = "client driver"
    for (i = 1; i <= NF; ++i) if ($i == "--index") role = "replica " $(i + 1)
    for (i = 1; i <= NF; ++i) {
      if ($i == "big_calls") calls = $(i + 1)
      if ($i == "big_bytes") bytes = $(i + 1)
    }
    roles[NR] = role
    per_byte[NR] = bytes / (ops * payload)
    per_op[NR] = calls / ops
    if (role != "client driver" && per_byte[NR] > most) { most = per_byte[NR]; leader = NR }
  }
  END {
    printf "%-24s %22s %18s\n", "process", "copies per payload byte", "big copies per op"
    for (n = 1; n <= NR; ++n) {
      name = roles[n] (n == leader ? " (leader)" : "")
      printf "%-24s %22.2f %18.2f\n", name, per_byte[n], per_op[n]
    }
  }' "$counts"
