#!/usr/bin/env bash
# Three counter-server processes lose their leader to SIGKILL under load, and nothing
# acknowledged is lost or counted twice:
#
#   1. start 3 replicas on 127.0.0.1:18101..18103 and wait for a leader;
#   2. run `counter-client load --clients 8 --reads-per-write 3 --seconds 8` (closed-loop incr 1,
#      three gets between increments, each checked against what was acknowledged before it);
#   3. once increments are committing, SIGKILL the leader; wait for a new leader, and for the
#      new leader to commit increments of its own;
#   4. restart the killed replica on its data; wait until it has applied what the leader had
#      committed;
#   5. when the load ends: acked <= final count <= acked + unknown, gets were answered and
#      none was stale (across the failover), every replica holds the same value, and every
#      replica exits 0 on SIGTERM.
#
# usage: counter_process_test.sh COUNTER_SERVER COUNTER_CLIENT
# The work directory (replica logs) is kept and printed if the test fails.
set -uo pipefail

server=${1:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
client=${2:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$here/../scripts/lib/counter-cluster.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/counter-process-test.XXXXXX")
load_seconds=8

fail() {
  cluster_say "FAIL: $*"
  echo "--- status"
  cluster_status
  echo "--- work directory kept: $work (replica logs node*.log, load output load.out/load.err)"
  exit 1
}

# Runs on success only; a failure keeps the work directory for its logs.
finish() {
  cluster_cleanup
  rm -rf "$work"
}

cluster_init "$work" "$server" "$client" 18101 3 1000 || exit 1
cluster_cleanup_on_exit
say() { cluster_say "$@"; }

# The value of KEY in the leader's line of one status poll (empty without a leader).
leader_field() {
  local status_text leader
  status_text=$(cluster_status)
  leader=$(cluster_leader_in "$status_text") || return 1
  cluster_field "$status_text" "$(cluster_endpoint "$leader")" "$1"
}

# Polls until the leader's counter exceeds MIN, for at most DEADLINE_S seconds.
wait_value_above() {
  local min=$1 deadline_s=$2 value end=$((SECONDS + $2))
  while ((SECONDS < end)); do
    value=$(leader_field value)
    [[ -n $value ]] && ((value > min)) && { echo "$value"; return 0; }
    sleep "$CLUSTER_POLL_S"
  done
  return 1
}

say "starting 3 replicas in $work"
cluster_start_all || fail "could not start the replicas"
leader=$(cluster_wait_leader 30) || fail "no leader elected"
say "replica $leader leads"
start=$("$client" --conf "$CLUSTER_CONF" get) || fail "initial get failed"
[[ $start == 0 ]] || fail "a fresh cluster's counter is $start, not 0"

"$client" --conf "$CLUSTER_CONF" load --clients 8 --reads-per-write 3 --seconds "$load_seconds" \
  >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
cluster_track "$load_pid"

value=$(wait_value_above 200 20) || fail "the load did not get 200 increments committed"
say "load running (counter at $value); SIGKILL replica $leader, the leader"
cluster_kill "$leader"
killed=$leader
leader=$(cluster_wait_leader 30 "$killed") || fail "no new leader after killing replica $killed"
takeover=$(leader_field value)
say "replica $leader leads now (counter at $takeover)"
value=$(wait_value_above "$takeover" 20) ||
  fail "the new leader committed no increment after taking over at $takeover"
say "the new leader commits (counter at $value); restarting replica $killed"

cluster_start "$killed" || fail "could not restart replica $killed"
target=$(cluster_wait_caught_up "$killed" 60) || fail "replica $killed did not catch up"
say "replica $killed caught up to the leader's commit index $target"

cluster_load_totals "$load_pid" "$work/load.out" "$work/load.err" 2>"$work/why" ||
  fail "$(cat "$work/why")"
sed 's/^/    /' "$work/load.err"

final=$("$client" --conf "$CLUSTER_CONF" get) || fail "final get failed"
say "final count $final; acked $CLUSTER_ACKED, unknown $CLUSTER_UNKNOWN, failed $CLUSTER_FAILED"
cluster_check_count "$final" 2>"$work/why" || fail "$(cat "$work/why")"
# A stale get makes the load exit 4, which cluster_load_totals already refused.
((CLUSTER_READS > 0)) || fail "no get was answered during the load"
((CLUSTER_STALE_READS == 0)) || fail "$CLUSTER_STALE_READS stale gets"
say "gets: $CLUSTER_READS answered, $CLUSTER_STALE_READS stale, $CLUSTER_READ_FAILED failed"

# Every replica converges on the final count.
status_text=$(cluster_wait_all_hold "$final" 30 1 2 3 2>"$work/why") || fail "$(cat "$work/why")"
say "all 3 replicas hold $final"
sed 's/^/    /' <<<"$status_text"

for ((i = 1; i <= 3; i++)); do
  cluster_stop "$i" || fail "replica $i did not shut down cleanly on SIGTERM"
done
say "PASS: acked $CLUSTER_ACKED <= final $final <= acked + unknown" \
  "$((CLUSTER_ACKED + CLUSTER_UNKNOWN))"
finish
