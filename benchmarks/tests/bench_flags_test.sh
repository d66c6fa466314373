#!/usr/bin/env bash
# The benchmark programs refuse bad command lines: exit code 2 and one line on stderr that
# names the offending flag (DESIGN.md, "Failure contract").
#
# usage: bench_flags_test.sh BENCH_BIN_DIR
set -uo pipefail

bin=${1:?usage: $0 BENCH_BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-flags-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=../../tests/usage_errors.sh
source "$here/../../tests/usage_errors.sh"

expect_usage_error "ring items not a number" "items_per_run" "$bin/ring-buffer-bench" many
expect_usage_error "ring --json without a value" "--json" "$bin/ring-buffer-bench" --json
expect_usage_error "storage unknown --storage" "--storage" "$bin/log-storage-bench" --storage tape
expect_usage_error "storage zero seconds" "--seconds-per-case" \
  "$bin/log-storage-bench" --seconds-per-case 0
expect_usage_error "storage unknown flag" "--nope" "$bin/log-storage-bench" --nope 1
expect_usage_error "floor zero replicas" "--replicas" "$bin/latency-floor-bench" --replicas 0
expect_usage_error "floor zero seconds" "--seconds-per-probe" \
  "$bin/latency-floor-bench" --seconds-per-probe 0
expect_usage_error "floor record too large" "--record-bytes" \
  "$bin/latency-floor-bench" --record-bytes 2000000
expect_usage_error "floor stray argument" "fast" "$bin/latency-floor-bench" fast
expect_usage_error "codec too short a case" "--millis-per-case" \
  "$bin/rpc-codec-bench" --millis-per-case 5
expect_usage_error "codec unwritable --json" "$work/missing/x.jsonl" \
  "$bin/rpc-codec-bench" --millis-per-case 10 --json "$work/missing/x.jsonl"
expect_usage_error "etcd zero clients" "--clients" "$bin/etcd-bench" --clients 1,0
expect_usage_error "etcd unknown workload" "--workloads" "$bin/etcd-bench" --workloads lease
expect_usage_error "etcd bad endpoints" "--endpoints" "$bin/etcd-bench" --endpoints some
expect_usage_error "etcd ports past 32767" "--base-port" "$bin/etcd-bench" --base-port 32765
expect_usage_error "etcd zero seconds" "--seconds" "$bin/etcd-bench" --seconds 0
expect_usage_error "etcd binary missing" "--etcd" "$bin/etcd-bench" --etcd "$work/no-etcd"
expect_usage_error "compare bad --clients" "--clients" "$here/../compare-etcd.sh" --clients 1,,2
expect_usage_error "compare bad --workloads" "--workloads" \
  "$here/../compare-etcd.sh" --workloads lease
expect_usage_error "compare ports past 32767" "--base-port" \
  "$here/../compare-etcd.sh" --base-port 32700

expect_usage_error "raft-bench unknown --log-preallocate" "--log-preallocate" \
  "$bin/raft-bench" --log-preallocate sometimes
expect_usage_error "raft-bench --log-preallocate with rocksdb" "--log-preallocate" \
  "$bin/raft-bench" --log-storage rocksdb --log-preallocate off
expect_usage_error "raft-bench --log-preallocate where rocksdb is the default" \
  "--log-preallocate" "$bin/raft-bench" --groups 100 --log-preallocate always

expect_usage_error "copies bad --clients" "--clients" "$here/../copies-per-byte.sh" --clients x
expect_usage_error "copies payload below the copy size" "--payload-bytes" \
  "$here/../copies-per-byte.sh" --payload-bytes 100
expect_usage_error "copies unknown --log-storage" "--log-storage" \
  "$here/../copies-per-byte.sh" --log-storage tape

usage_error_summary
