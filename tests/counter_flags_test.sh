#!/usr/bin/env bash
# counter-server and counter-client refuse bad command lines: exit code 2 and one line on
# stderr that names the offending flag (DESIGN.md, "Failure contract").
#
# usage: counter_flags_test.sh COUNTER_SERVER COUNTER_CLIENT
set -uo pipefail

server=${1:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
client=${2:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
work=$(mktemp -d "${TMPDIR:-/tmp}/counter-flags-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=usage_errors.sh
source "$(dirname "$0")/usage_errors.sh"

conf=127.0.0.1:28201,127.0.0.1:28202,127.0.0.1:28203
peer=127.0.0.1:28201
data="$work/data"
touch "$work/a-file"

expect_usage_error "server without flags" "--group" "$server"
expect_usage_error "server missing --group" "--group" \
  "$server" --peer "$peer" --conf "$conf" --data "$data"
expect_usage_error "server missing --peer" "--peer" \
  "$server" --group counter --conf "$conf" --data "$data"
expect_usage_error "server missing --conf" "--conf" \
  "$server" --group counter --peer "$peer" --data "$data"
expect_usage_error "server missing --data" "--data" \
  "$server" --group counter --peer "$peer" --conf "$conf"
expect_usage_error "server bad --peer" "--peer" \
  "$server" --group counter --peer not-an-address --conf "$conf" --data "$data"
expect_usage_error "server --peer not in --conf" "--peer" \
  "$server" --group counter --peer 127.0.0.1:28299 --conf "$conf" --data "$data"
expect_usage_error "server bad --conf" "--conf" \
  "$server" --group counter --peer "$peer" --conf "$peer,nonsense" --data "$data"
expect_usage_error "server empty --data" "--data" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data ""
expect_usage_error "server unwritable --data" "--data" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$work/a-file/sub"
expect_usage_error "server unknown --read mode" "--read" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --read stale
expect_usage_error "server --read without a value" "--read" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --read
expect_usage_error "server non-numeric --election-timeout-ms" "--election-timeout-ms" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --election-timeout-ms soon
expect_usage_error "server negative --snapshot-interval-s" "--snapshot-interval-s" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --snapshot-interval-s -1
expect_usage_error "server --snapshot-interval-s over ten years" "--snapshot-interval-s" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --snapshot-interval-s 315360001
expect_usage_error "server non-numeric --snapshot-log-index-margin" \
  "--snapshot-log-index-margin" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --snapshot-log-index-margin many
expect_usage_error "server negative --snapshot-log-index-margin" "--snapshot-log-index-margin" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --snapshot-log-index-margin=-5
expect_usage_error "server unknown --log-storage" "--log-storage" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --log-storage leveldb
expect_usage_error "server empty --log-storage" "--log-storage" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --log-storage=
expect_usage_error "server --log-segment-max-bytes below 1 KiB" "--log-segment-max-bytes" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --log-storage segments --log-segment-max-bytes 1023
expect_usage_error "server --log-segment-max-bytes above 1 GiB" "--log-segment-max-bytes" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" \
  --log-storage segments --log-segment-max-bytes 1073741825
expect_usage_error "server --join with --conf" "--conf" \
  "$server" --group counter --peer "$peer" --join --conf "$conf" --data "$data"
expect_usage_error "server --join with a value" "--join" \
  "$server" --group counter --peer "$peer" --join=yes --data "$data"
expect_usage_error "server --no-log-preallocate with a value" "--no-log-preallocate" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --no-log-preallocate=1
expect_usage_error "server --join without --peer" "--peer" \
  "$server" --group counter --join --data "$data"
expect_usage_error "server unknown flag" "--colour" \
  "$server" --group counter --peer "$peer" --conf "$conf" --data "$data" --colour blue

expect_usage_error "client without flags" "--conf" "$client"
expect_usage_error "client missing --conf" "--conf" "$client" get
expect_usage_error "client bad --conf" "--conf" "$client" --conf nonsense get
expect_usage_error "client non-numeric --timeout-ms" "--timeout-ms" \
  "$client" --conf "$conf" --timeout-ms soon get
expect_usage_error "client unknown command" "frobnicate" "$client" --conf "$conf" frobnicate
expect_usage_error "client incr without DELTA" "incr" "$client" --conf "$conf" incr
expect_usage_error "client non-numeric DELTA" "incr" "$client" --conf "$conf" incr five
expect_usage_error "client load without --clients" "--clients" \
  "$client" --conf "$conf" load --seconds 1
expect_usage_error "client load with --seconds and --ops" "--seconds" \
  "$client" --conf "$conf" load --clients 2 --seconds 1 --ops 5
expect_usage_error "client load with --client-threads 0" "--client-threads" \
  "$client" --conf "$conf" load --clients 2 --client-threads 0 --seconds 1
expect_usage_error "client load with more threads than clients" "--client-threads" \
  "$client" --conf "$conf" load --clients 2 --client-threads 3 --seconds 1
expect_usage_error "client load with --client-fibers unknown" "--client-fibers" \
  "$client" --conf "$conf" load --clients 2 --client-fibers pooled --seconds 1
expect_usage_error "client load with --reads-per-write 100" "--reads-per-write" \
  "$client" --conf "$conf" load --clients 2 --reads-per-write 100 --seconds 1
expect_usage_error "client load with --reads-per-write -1" "--reads-per-write" \
  "$client" --conf "$conf" load --clients 2 --reads-per-write -1 --seconds 1
expect_usage_error "client load with --reads-per-write many" "--reads-per-write" \
  "$client" --conf "$conf" load --clients 2 --reads-per-write many --seconds 1
expect_usage_error "client --reads-per-write without load" "--reads-per-write" \
  "$client" --conf "$conf" --reads-per-write 9 get
expect_usage_error "client --client-fibers without load" "--client-fibers" \
  "$client" --conf "$conf" --client-fibers threads get
expect_usage_error "client --client-threads without load" "--client-threads" \
  "$client" --conf "$conf" --client-threads 2 get
expect_usage_error "client unknown flag" "--colour" "$client" --conf "$conf" --colour blue get

if [[ -e "$data" ]]; then
  echo "FAIL a refused command line still created the data directory $data"
  failures=$((failures + 1))
fi

usage_error_summary
