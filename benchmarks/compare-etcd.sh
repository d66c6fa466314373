#!/usr/bin/env bash
# compare-etcd.sh: pontoon (raft-bench) against etcd (etcd-bench) on the same workloads and
# client counts, in one run on one machine, with the ratios pontoon / etcd per row.
#
#   benchmarks/compare-etcd.sh [flags]          # from the repository, after building
#
# Flags (each also as --flag=value):
#   --build-dir DIR        where raft-bench and etcd-bench were built (default build)
#   --clients LIST         comma-separated client counts (default 1,16,64,256)
#   --seconds N            measured seconds per run (default 10)
#   --payload-bytes N      value size (default 256)
#   --workloads LIST       write and/or read (default write,read): read is raft-bench's
#                          read-index against etcd's linearizable range (etcd-linearizable-read)
#   --base-port N          first port; raft-bench may use N..N+99, etcd-bench N+300..N+305
#                          (default 17000; everything must stay below 32768)
#   --out DIR              where runs.jsonl, the logs and the report go (default a fresh
#                          directory under ${TMPDIR:-/tmp})
#
# raft-bench runs with --topology processes and --json when it has them (it says so in its usage
# line); otherwise it runs as it can (one process) and this script turns its text table into a
# JSON line with what the table holds (ops/s, p50/p99/p99.9/max latency, failed), the CPU time
# and peak RSS of the raft-bench process (/usr/bin/time) and nulls for the rest, marked
# "parsed_from_text": true. A workload raft-bench cannot run is reported and skipped.
#
# Writes DIR/runs.jsonl (the format of docs/benchmarks.md), prints the ratio table, and, with
# python3 (and gnuplot for plots), writes DIR/report/report.md through benchmarks/report.
# Exit codes: 0 done, 1 a benchmark failed, 2 bad usage or a missing tool (etcd not installed:
# etcd-bench's exit 2 is passed on).
set -euo pipefail

readonly here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=build
clients_list=1,16,64,256
seconds=10
payload_bytes=256
workloads=write,read
base_port=17000
out=

# shellcheck source=../scripts/lib/script-flags.sh
source "$here/../scripts/lib/script-flags.sh"

while (($# > 0)); do
  flag=$1 value=
  if [[ $flag == --*=* ]]; then
    value=${flag#*=} flag=${flag%%=*}
  elif [[ $flag != --help ]]; then
    (($# >= 2)) || bad_usage "$flag needs a value"
    value=$2
    shift
  fi
  shift
  case $flag in
    --build-dir) build_dir=$value ;;
    --clients) clients_list=$value ;;
    --seconds) need_int "$flag" "$value"; seconds=$value ;;
    --payload-bytes) need_int "$flag" "$value"; payload_bytes=$value ;;
    --workloads) workloads=$value ;;
    --base-port) need_int "$flag" "$value"; base_port=$value ;;
    --out) out=$value ;;
    --help) usage ;;
    *) bad_usage "unknown flag '$flag' (--help lists them)" ;;
  esac
done

[[ $clients_list =~ ^[0-9]+(,[0-9]+)*$ ]] || bad_usage "--clients: '$clients_list' is not a list like 1,16,64"
((seconds >= 1)) || bad_usage "--seconds must be at least 1"
((base_port >= 1024 && base_port + 305 < 32768)) || bad_usage "--base-port must be in [1024, 32462]"
IFS=, read -r -a workload_names <<<"$workloads"
for w in "${workload_names[@]}"; do
  [[ $w == write || $w == read ]] || bad_usage "--workloads: '$w' is neither write nor read"
done
IFS=, read -r -a client_counts <<<"$clients_list"

raft_bench=$build_dir/benchmarks/raft-bench
etcd_bench=$build_dir/benchmarks/etcd-bench
for bin in "$raft_bench" "$etcd_bench"; do
  [[ -x $bin ]] || bad_usage "$bin is not built (cmake --build $build_dir --target raft-bench etcd-bench)"
done
if [[ -z $out ]]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/compare-etcd.XXXXXX")
fi
mkdir -p "$out"
runs=$out/runs.jsonl
: >"$runs"

# What this raft-bench accepts, from the usage line it prints for an unknown flag.
raft_usage=$("$raft_bench" --compare-etcd-probe x 2>&1 || true)
has_flag() { grep -q -- "$1" <<<"$raft_usage"; }

# Children started here, so that an interrupt stops them (only them).
child=
# TERM, not INT: children started with & in a script ignore SIGINT. GNU time passes no
# signal on, so its child gets it directly.
stop_child() {
  [[ -n $child ]] || return 0
  pkill -TERM -P "$child" 2>/dev/null || true
  kill -TERM "$child" 2>/dev/null || true
  wait "$child" 2>/dev/null || true
}
trap 'stop_child; echo "compare-etcd.sh: interrupted; results so far in $out" >&2; exit 130' INT TERM

# run_raft_bench WORKLOAD CLIENTS: one raft-bench run appending one line to $runs.
run_raft_bench() {
  local workload=$1 clients=$2 log=$out/raft-bench-$1-$2.log
  local args=(--clients "$clients" --seconds "$seconds" --payload-bytes "$payload_bytes")
  has_flag --topology && args+=(--topology processes)
  has_flag --base-port && args+=(--base-port "$base_port")
  if has_flag --workload; then
    args+=(--workload "$workload")
  elif [[ $workload != write ]]; then
    echo "compare-etcd.sh: raft-bench has no --workload; skipping pontoon $workload" >&2
    return 0
  fi
  if has_flag --json; then
    "$raft_bench" "${args[@]}" --json "$runs" >"$log" 2>&1 &
    child=$!
    wait "$child" || { echo "compare-etcd.sh: raft-bench failed, see $log" >&2; tail -5 "$log" >&2; return 1; }
    child=
    return 0
  fi
  /usr/bin/time -f '%e %U %S %M' -o "$log.time" "$raft_bench" "${args[@]}" >"$log" 2>&1 &
  child=$!
  wait "$child" || { echo "compare-etcd.sh: raft-bench failed, see $log" >&2; tail -5 "$log" >&2; return 1; }
  child=
  python3 - "$log" "$log.time" "$workload" "$clients" "$payload_bytes" "$seconds" >>"$runs" <<'PY'
import json, os, socket, sys, time
log, timing, workload, clients, payload, seconds = sys.argv[1:]
lines = open(log).read().splitlines()
row = next(lines[i + 1].split() for i, l in enumerate(lines) if l.split()[:2] == ["acked", "writes/s"])
acked, ops, p50, p99, p999, worst, failed = row
wall, user, system, rss_kb = open(timing).read().split()[-4:]
ops, acked = float(ops), int(acked)
print(json.dumps({
    "tool": "raft-bench", "target": "pontoon", "topology": "in-process", "replicas": 3,
    "groups": 1, "clients": int(clients), "workload": workload, "read_fraction": 0.0,
    "payload_bytes": int(payload), "fsync": True, "log_storage": "rocksdb",
    "seconds": float(seconds), "ops": acked, "writes": acked, "reads": 0, "failed": int(failed),
    "ops_per_s": ops, "writes_per_s": ops, "reads_per_s": 0.0,
    "latency_ms": {"p50": float(p50), "p90": None, "p99": float(p99), "p999": float(p999),
                   "max": float(worst)},
    # The whole process, start-up included, over the acknowledged writes.
    "cpu_s_per_1000_ops": (float(user) + float(system)) * 1000 / acked if acked else None,
    "fsyncs_per_s": None, "entries_per_fsync": None,
    "rss_mb": {"max": int(rss_kb) / 1024, "per_process": [int(rss_kb) / 1024]},
    "machine": {"cores": os.cpu_count(), "kernel": os.uname().release,
                "hostname": socket.gethostname()},
    "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "parsed_from_text": True}))
PY
}

echo "compare-etcd.sh: results in $out"
if ! has_flag --json; then
  echo "compare-etcd.sh: this raft-bench has no --json; reading its text table instead" >&2
fi
for w in "${workload_names[@]}"; do
  pontoon_workload=$w
  [[ $w == read ]] && pontoon_workload=read-index
  for c in "${client_counts[@]}"; do
    echo "raft-bench: $pontoon_workload, $c clients"
    run_raft_bench "$pontoon_workload" "$c" || exit 1
    [[ -f $out/raft-bench-$pontoon_workload-$c.log ]] && tail -n 2 "$out/raft-bench-$pontoon_workload-$c.log"
  done
done

etcd_workloads=
for w in "${workload_names[@]}"; do
  [[ $w == write ]] && etcd_workloads+=${etcd_workloads:+,}write
  [[ $w == read ]] && etcd_workloads+=${etcd_workloads:+,}etcd-linearizable-read
done
echo "etcd-bench: $etcd_workloads, clients $clients_list"
"$etcd_bench" --clients "$clients_list" --workloads "$etcd_workloads" --seconds "$seconds" \
  --payload-bytes "$payload_bytes" --base-port $((base_port + 300)) --json "$runs" \
  > >(tee "$out/etcd-bench.log") 2>&1 &
child=$!
set +e
wait "$child"
code=$?
set -e
child=
case $code in
  0) ;;
  2) echo "compare-etcd.sh: etcd-bench refused to run (see above)" >&2; exit 2 ;;
  *) echo "compare-etcd.sh: etcd-bench failed with exit code $code, see $out/etcd-bench.log" >&2; exit 1 ;;
esac

echo
echo "pontoon / etcd (from $runs):"
PYTHONDONTWRITEBYTECODE=1 python3 - "$here" "$runs" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from bench_report import markdown, records
runs, _ = records.read_records([sys.argv[2]])
rows = records.comparisons(runs)
print(markdown.ratio_table(rows) if rows else "no pontoon and etcd runs share a workload and client count")
PY
PYTHONDONTWRITEBYTECODE=1 python3 "$here/report" --out "$out/report" --title "pontoon vs etcd" "$runs"
