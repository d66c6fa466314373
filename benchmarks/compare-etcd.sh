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
#   --base-port N          etcd-bench's members use N+300..N+305 (default 17000, so
#                          17300-17305; below 32768); raft-bench's replicas bind port 0
#   --out DIR              where runs.jsonl, the logs and the report go (default a fresh
#                          directory under ${TMPDIR:-/tmp})
#
# raft-bench runs its three replicas as separate processes over TCP on 127.0.0.1
# (--topology processes), like etcd's three members, with its default log store and fsync on.
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

# run_raft_bench WORKLOAD CLIENTS: one raft-bench run (three replica processes over TCP, as
# etcd's members are) appending its JSON line to $runs.
run_raft_bench() {
  local workload=$1 clients=$2 log=$out/raft-bench-$1-$2.log
  "$raft_bench" --topology processes --workload "$workload" --clients "$clients" \
    --seconds "$seconds" --payload-bytes "$payload_bytes" --json "$runs" >"$log" 2>&1 &
  child=$!
  wait "$child" || { echo "compare-etcd.sh: raft-bench failed, see $log" >&2; tail -5 "$log" >&2; return 1; }
  child=
}

echo "compare-etcd.sh: results in $out"
for w in "${workload_names[@]}"; do
  pontoon_workload=$w
  [[ $w == read ]] && pontoon_workload=read-index
  for c in "${client_counts[@]}"; do
    echo "raft-bench: $pontoon_workload, $c clients"
    run_raft_bench "$pontoon_workload" "$c" || exit 1
    tail -n 2 "$out/raft-bench-$pontoon_workload-$c.log"
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
