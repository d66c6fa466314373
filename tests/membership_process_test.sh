#!/usr/bin/env bash
# Three counter-server processes grow to five and shrink back to three with raft-cli, under
# continuous load, and nothing acknowledged is lost or counted twice:
#
#   1. start replicas 1..3 on 127.0.0.1:18201..18203 and wait for a leader;
#   2. run `counter-client load` (closed-loop incr 1) against all five endpoints;
#   3. start replicas 4 and 5 with --join; `raft-cli add-peer` each (3 -> 5 voters);
#   4. `raft-cli transfer-leader` to replica 4, which must then lead;
#   5. `raft-cli remove-peer` the current leader, then one more of the original replicas
#      (5 -> 3 voters); `raft-cli status` shows 3 voters on the leader;
#   6. when the load ends: acked <= final count <= acked + unknown, the 3 remaining replicas
#      hold the same value, and all five processes exit 0 on SIGTERM.
#
# usage: membership_process_test.sh COUNTER_SERVER COUNTER_CLIENT RAFT_CLI
# The work directory (replica logs) is kept and printed if the test fails.
set -uo pipefail

server=${1:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
client=${2:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
cli=${3:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$here/../scripts/lib/counter-cluster.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/membership-process-test.XXXXXX")
load_seconds=20

fail() {
  cluster_say "FAIL: $*"
  echo "--- raft-cli status"
  cluster_cli status --timeout-ms 1000
  echo "--- work directory kept: $work (replica logs node*.log, load output load.out/load.err)"
  exit 1
}

finish() {
  cluster_cleanup
  rm -rf "$work"
}

cluster_init "$work" "$server" "$client" 18201 3 1000 || exit 1
CLUSTER_CLI=$cli
CLUSTER_CLI_TIMEOUT_MS=30000
cluster_cleanup_on_exit
say() { cluster_say "$@"; }

run_cli() { cluster_run_cli "$@"; }

# The number of the replica raft-cli names as the leader.
cli_leader() {
  local leader
  leader=$(cluster_cli get-leader --timeout-ms 10000 2>/dev/null) || return 1
  cluster_number_of "$leader"
}

# Polls raft-cli get-leader until it names a replica other than NOT_I; prints its number.
wait_cli_leader_not() {
  local not_i=$1 end=$((SECONDS + 30)) leader
  while ((SECONDS < end)); do
    leader=$(cli_leader) || leader=
    [[ -n $leader && $leader != "$not_i" ]] && { echo "$leader"; return 0; }
    sleep "$CLUSTER_POLL_S"
  done
  return 1
}

# Polls raft-cli status until a replica reports that it leads; leaves the output in cli.out.
wait_status_with_leader() {
  local end=$((SECONDS + 30))
  while ((SECONDS < end)); do
    cluster_cli status --timeout-ms 1000 >"$work/cli.out" 2>/dev/null &&
      grep -q " role=leader " "$work/cli.out" && return 0
    sleep "$CLUSTER_POLL_S"
  done
  return 1
}

# Polls the leader's counter (counter-client status) until it exceeds MIN.
wait_value_above() {
  local min=$1 end=$((SECONDS + $2)) status_text leader value
  while ((SECONDS < end)); do
    status_text=$(cluster_status)
    leader=$(cluster_leader_in "$status_text") || leader=
    if [[ -n $leader ]]; then
      value=$(cluster_field "$status_text" "$(cluster_endpoint "$leader")" value)
      [[ -n $value ]] && ((value > min)) && { echo "$value"; return 0; }
    fi
    sleep "$CLUSTER_POLL_S"
  done
  return 1
}

say "starting 3 replicas in $work"
cluster_start_all || fail "could not start the replicas"
cluster_wait_leader 30 >/dev/null || fail "no leader elected"
CLUSTER_COUNT=5  # The load and the status polls cover the joiners' endpoints from the start.
"$client" --conf "$(cluster_all_endpoints)" load --clients 4 --seconds "$load_seconds" \
  >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
cluster_track "$load_pid"
value=$(wait_value_above 100 20) || fail "the load did not get 100 increments committed"
say "load running (counter at $value)"

for i in 4 5; do
  cluster_start_joining "$i" || fail "could not start replica $i with --join"
  cluster_wait_answering "$i" 20 || fail "replica $i does not answer"
  run_cli add-peer "$(cluster_endpoint "$i")" || fail "add-peer of replica $i failed"
done
run_cli list-peers || fail "list-peers failed"
voters=$(tr ',' '\n' <"$work/cli.out" | grep -vc /learner)
((voters == 5)) || fail "expected 5 voters after the adds, list-peers says $voters"

run_cli transfer-leader "$(cluster_endpoint 4)" || fail "transfer-leader to replica 4 failed"
leader=$(cli_leader) || fail "no leader after the transfer"
((leader == 4)) || fail "transferred leadership to replica 4, but replica $leader leads"
say "replica 4 leads after the transfer"

leader=$(cli_leader) || fail "no leader before the removals"
run_cli remove-peer "$(cluster_endpoint "$leader")" || fail "remove-peer of the leader $leader failed"
removed=("$leader")
# One more of the original replicas, not the one that leads now.
new_leader=$(wait_cli_leader_not "$leader") || fail "no new leader after removing replica $leader"
say "replica $new_leader leads"
for i in 1 2 3; do
  if ((i != leader && i != new_leader)); then
    other=$i
    break
  fi
done
run_cli remove-peer "$(cluster_endpoint "$other")" || fail "remove-peer of replica $other failed"
removed+=("$other")
remaining=()
for ((i = 1; i <= 5; i++)); do
  [[ " ${removed[*]} " == *" $i "* ]] || remaining+=("$i")
done
say "removed replicas ${removed[*]}; replicas ${remaining[*]} remain"

say "raft-cli status"
wait_status_with_leader || fail "status shows no leader"
sed 's/^/    /' "$work/cli.out"
leader_line=$(grep " role=leader " "$work/cli.out")
[[ $leader_line == *" voters=3 "* ]] || fail "the leader does not report 3 voters: $leader_line"
# Under load, each follower line reports the batches the leader sent it.
[[ $(grep -c "^ *follower .* appends=[1-9][0-9]* entries=[1-9][0-9]* held=[0-9]* entries_per_append=" \
  "$work/cli.out") == 2 ]] || fail "follower lines without their AppendEntries counts"

cluster_load_totals "$load_pid" "$work/load.out" "$work/load.err" 2>"$work/why" ||
  fail "$(cat "$work/why")"
sed 's/^/    /' "$work/load.err"

remaining_conf=$(for i in "${remaining[@]}"; do cluster_endpoint "$i"; done | paste -sd,)
final=$("$client" --conf "$remaining_conf" get) || fail "final get failed"
say "final count $final; acked $CLUSTER_ACKED, unknown $CLUSTER_UNKNOWN, failed $CLUSTER_FAILED"
cluster_check_count "$final" 2>"$work/why" || fail "$(cat "$work/why")"
cluster_wait_all_hold "$final" 30 "${remaining[@]}" >/dev/null 2>"$work/why" ||
  fail "$(cat "$work/why")"
say "replicas ${remaining[*]} hold $final"

for ((i = 1; i <= 5; i++)); do
  cluster_stop "$i" || fail "replica $i did not shut down cleanly on SIGTERM"
done
say "PASS: 3 -> 5 -> 3 voters; acked $CLUSTER_ACKED <= final $final <= acked + unknown" \
  "$((CLUSTER_ACKED + CLUSTER_UNKNOWN))"
finish
