#!/usr/bin/env bash
# raft-cli refuses bad command lines: exit code 2 and one line on stderr that names the
# offending flag or argument (DESIGN.md, "Failure contract"); --help prints the usage and exits 0.
#
# usage: raft_cli_flags_test.sh RAFT_CLI
set -uo pipefail

cli=${1:?usage: $0 RAFT_CLI}
work=$(mktemp -d "${TMPDIR:-/tmp}/raft-cli-flags-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# shellcheck source=usage_errors.sh
source "$(dirname "$0")/usage_errors.sh"

# Nothing listens here: a command line that is wrongly accepted fails with 1, not 2.
conf=127.0.0.1:28401,127.0.0.1:28402
base=(--group counter --conf "$conf" --timeout-ms 200)

expect_usage_error "no command" "COMMAND" "$cli" --group counter --conf "$conf"
expect_usage_error "unknown command" "frobnicate" "$cli" frobnicate "${base[@]}"
expect_usage_error "missing --group" "--group" "$cli" get-leader --conf "$conf"
expect_usage_error "missing --conf" "--conf" "$cli" get-leader --group counter
expect_usage_error "bad --conf" "--conf" "$cli" get-leader --group counter --conf 127.0.0.1
expect_usage_error "empty --conf" "--conf" "$cli" get-leader --group counter --conf ""
expect_usage_error "non-numeric --timeout-ms" "--timeout-ms" \
  "$cli" get-leader --group counter --conf "$conf" --timeout-ms soon
expect_usage_error "zero --timeout-ms" "--timeout-ms" \
  "$cli" get-leader --group counter --conf "$conf" --timeout-ms 0
expect_usage_error "unknown flag" "--colour" "$cli" get-leader "${base[@]}" --colour blue
expect_usage_error "flag given twice" "--group" "$cli" get-leader "${base[@]}" --group other
expect_usage_error "add-peer without PEER" "add-peer PEER" "$cli" add-peer "${base[@]}"
expect_usage_error "add-peer bad PEER" "add-peer PEER" "$cli" add-peer 10.0.0.1 "${base[@]}"
expect_usage_error "remove-peer two PEERs" "127.0.0.1:2" \
  "$cli" remove-peer 127.0.0.1:1 127.0.0.1:2 "${base[@]}"
expect_usage_error "change-peers bad CONF" "change-peers CONF" \
  "$cli" change-peers 127.0.0.1:1,127.0.0.1:1 "${base[@]}"
expect_usage_error "add-learners bad PEERS" "add-learners PEERS" \
  "$cli" add-learners 127.0.0.1:1,nonsense "${base[@]}"
expect_usage_error "reset-peers without --peer" "--peer" \
  "$cli" reset-peers 127.0.0.1:28401 "${base[@]}"
expect_usage_error "reset-peers bad --peer" "--peer" \
  "$cli" reset-peers 127.0.0.1:28401 "${base[@]}" --peer nowhere
expect_usage_error "--peer on add-peer" "--peer" \
  "$cli" add-peer 127.0.0.1:28403 "${base[@]}" --peer 127.0.0.1:28401
expect_usage_error "get-leader with an argument" "get-leader" \
  "$cli" get-leader 127.0.0.1:28401 "${base[@]}"
expect_usage_error "--help with a value" "--help" "$cli" --help=yes

checks=$((checks + 1))
if "$cli" --help >"$work/help" 2>&1 && grep -q "^usage: raft-cli" "$work/help" &&
  grep -q "transfer-leader" "$work/help"; then
  echo "ok   --help prints the usage"
else
  echo "FAIL --help: $(cat "$work/help")"
  failures=$((failures + 1))
fi
checks=$((checks + 1))
"$cli" get-leader "${base[@]}" >/dev/null 2>"$work/stderr"
code=$?
if [[ $code == 1 ]]; then
  echo "ok   a well-formed command with no replica to answer fails with 1: $(cat "$work/stderr")"
else
  echo "FAIL unreachable replicas: exit code $code, expected 1: $(cat "$work/stderr")"
  failures=$((failures + 1))
fi

usage_error_summary
