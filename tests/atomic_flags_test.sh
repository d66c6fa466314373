#!/usr/bin/env bash
# atomic-server and atomic-client refuse bad command lines: exit code 2 and one line on stderr
# that names the offending flag or command (DESIGN.md, "Failure contract").
#
# usage: atomic_flags_test.sh ATOMIC_SERVER ATOMIC_CLIENT
set -uo pipefail

server=${1:?usage: $0 ATOMIC_SERVER ATOMIC_CLIENT}
client=${2:?usage: $0 ATOMIC_SERVER ATOMIC_CLIENT}
work=$(mktemp -d "${TMPDIR:-/tmp}/atomic-flags-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=usage_errors.sh
source "$(dirname "$0")/usage_errors.sh"

conf=127.0.0.1:28301,127.0.0.1:28302,127.0.0.1:28303
peer=127.0.0.1:28301
data="$work/data"
touch "$work/a-file"
replica=(--group atomic --peer "$peer" --conf "$conf")

expect_usage_error "server without flags" "--group" "$server"
expect_usage_error "server missing --data" "--data" "$server" "${replica[@]}"
expect_usage_error "server --peer not in --conf" "--peer" \
  "$server" --group atomic --peer 127.0.0.1:28399 --conf "$conf" --data "$data"
expect_usage_error "server --join with --conf" "--conf" \
  "$server" "${replica[@]}" --join --data "$data"
expect_usage_error "server unwritable --data" "--data" \
  "$server" "${replica[@]}" --data "$work/a-file/sub"
expect_usage_error "server unknown --read mode" "--read" \
  "$server" "${replica[@]}" --data "$data" --read stale
expect_usage_error "server --clock-rate 0" "--clock-rate" \
  "$server" "${replica[@]}" --data "$data" --clock-rate 0
expect_usage_error "server --clock-rate above 100" "--clock-rate" \
  "$server" "${replica[@]}" --data "$data" --clock-rate 101
expect_usage_error "server --clock-rate not a number" "--clock-rate" \
  "$server" "${replica[@]}" --data "$data" --clock-rate slow
expect_usage_error "server --max-clock-drift-ms beyond the lease" "--max-clock-drift-ms" \
  "$server" "${replica[@]}" --data "$data" --election-timeout-ms 500 --max-clock-drift-ms 450
expect_usage_error "server --leader-lease-ratio above 1" "--leader-lease-ratio" \
  "$server" "${replica[@]}" --data "$data" --leader-lease-ratio 1.5
expect_usage_error "server --read without a value" "--read" \
  "$server" "${replica[@]}" --data "$data" --read
expect_usage_error "server unknown --log-storage" "--log-storage" \
  "$server" "${replica[@]}" --data "$data" --log-storage leveldb
expect_usage_error "server unknown flag" "--colour" \
  "$server" "${replica[@]}" --data "$data" --colour blue

expect_usage_error "client without flags" "--conf" "$client"
expect_usage_error "client bad --conf" "--conf" "$client" --conf nonsense get k
expect_usage_error "client non-numeric --timeout-ms" "--timeout-ms" \
  "$client" --conf "$conf" --timeout-ms soon get k
expect_usage_error "client unknown command" "frobnicate" "$client" --conf "$conf" frobnicate
expect_usage_error "client get without KEY" "get" "$client" --conf "$conf" get
expect_usage_error "client set without VALUE" "set" "$client" --conf "$conf" set k
expect_usage_error "client non-numeric VALUE" "VALUE" "$client" --conf "$conf" set k five
expect_usage_error "client cas without NEW" "NEW" "$client" --conf "$conf" cas k 1
expect_usage_error "client non-numeric DELTA" "DELTA" "$client" --conf "$conf" fetch-add k x
expect_usage_error "client key too long" "KEY" \
  "$client" --conf "$conf" get "$(printf 'k%.0s' {1..300})"
expect_usage_error "client unknown flag" "--colour" "$client" --conf "$conf" --colour blue get k

if [[ -e "$data" ]]; then
  echo "FAIL a refused command line still created the data directory $data"
  failures=$((failures + 1))
fi

usage_error_summary
