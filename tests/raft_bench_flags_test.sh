#!/usr/bin/env bash
# raft-bench refuses bad command lines: exit code 2 and one line on stderr that names the
# offending flag (DESIGN.md, "Failure contract").
#
# usage: raft_bench_flags_test.sh RAFT_BENCH
set -uo pipefail

bench=${1:?usage: $0 RAFT_BENCH}
work=$(mktemp -d "${TMPDIR:-/tmp}/raft-bench-flags.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=usage_errors.sh
source "$(dirname "$0")/usage_errors.sh"

expect_usage_error "unknown flag" "--bogus" "$bench" --bogus 1
expect_usage_error "flag without value" "--clients" "$bench" --clients
expect_usage_error "topology" "--topology" "$bench" --topology cluster
expect_usage_error "workload" "--workload" "$bench" --workload reads
expect_usage_error "payload too small" "--payload-bytes" "$bench" --payload-bytes 15
expect_usage_error "payload too large" "--payload-bytes" "$bench" --payload-bytes 4097
expect_usage_error "clients zero" "--clients" "$bench" --clients 0
expect_usage_error "clients too many" "--clients" "$bench" --clients 10001
expect_usage_error "client threads" "--client-threads" "$bench" --client-threads 0
expect_usage_error "client fibers" "--client-fibers" "$bench" --client-fibers pooled
expect_usage_error "more threads than clients" "--client-threads" "$bench" --clients 2 \
  --client-threads 3
expect_usage_error "groups" "--groups" "$bench" --groups 1001
expect_usage_error "replicas" "--replicas" "$bench" --replicas 0
expect_usage_error "log storage" "--log-storage" "$bench" --log-storage leveldb
expect_usage_error "seconds not a number" "--seconds" "$bench" --seconds ten
expect_usage_error "seconds too short" "--seconds" "$bench" --seconds 0
expect_usage_error "warm-up negative" "--warmup-seconds" "$bench" --warmup-seconds -1
expect_usage_error "election timeout" "--election-timeout-ms" "$bench" --election-timeout-ms 10
expect_usage_error "read-on" "--read-on" "$bench" --read-on everyone
expect_usage_error "follower reads of a write workload" "--read-on" "$bench" --read-on followers
expect_usage_error "data directory" "--data" "$bench" --data "$work/missing/dir" --seconds 1
expect_usage_error "json path" "--json" "$bench" --json "$work/missing/out.jsonl" --seconds 1
expect_usage_error "replica without index" "--index" "$bench" replica --data "$work"

usage_error_summary
