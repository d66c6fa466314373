#!/usr/bin/env bash
# Membership under faults, as real counter-server processes driven by raft-cli, under load:
#
# A. A restart during joint consensus leaves an electable cluster.
#    1. replicas 1..3 on 127.0.0.1:18211..18213 elect leader L; a load runs against all five;
#    2. replicas 4 and 5 start with --join and become learners (raft-cli add-learners), and
#       catch up; the load pauses until both are level with the leader, and both are
#       SIGSTOPped;
#    3. `raft-cli change-peers L,4,5` (in the background): L appends C_old,new, which cannot
#       commit while 4 and 5 are stopped (the new majority needs one of them), so the group
#       stays joint: the leader's status shows old_conf=; the load resumes;
#    4. in the joint state, the leader L and another old voter X are killed with SIGKILL and
#       restarted on their data, and 4 and 5 resume (SIGCONT);
#    5. a leader is elected, finishes the change (a leader that finds C_old,new in its log
#       moves on to C_new), and the leader's configuration is exactly L,4,5.
# B. Learners never vote.
#    6. replicas X and Y (the old voters the change removed) are re-added as learners and
#       catch up;
#    7. voters 4 and 5 are killed: voter L and learners X and Y remain, 3 of the 5 members.
#       For 8 election timeouts no replica may lead (counting the learners' votes would make
#       a majority of the five), and the learners' terms must not move (they never campaign);
#    8. replica 4 restarts: with a real majority back a leader is elected.
# At the end: acked <= final count <= acked + unknown, and L, 4, 5 and the learners X, Y hold the
# same value; every process exits 0 on SIGTERM.
#
# usage: membership_faults_process_test.sh COUNTER_SERVER COUNTER_CLIENT RAFT_CLI
# The work directory (replica logs) is kept and printed if the test fails.
set -uo pipefail

server=${1:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
client=${2:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
cli=${3:?usage: $0 COUNTER_SERVER COUNTER_CLIENT RAFT_CLI}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$here/../scripts/lib/counter-cluster.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/membership-faults-test.XXXXXX")
election_timeout_ms=500

fail() {
  cluster_say "FAIL: $*"
  local i
  for ((i = 1; i <= 5; i++)); do
    [[ -n ${CLUSTER_PIDS[i]:-} ]] && kill -CONT "${CLUSTER_PIDS[i]}" 2>/dev/null
  done
  kill -CONT "$load_pid" 2>/dev/null
  echo "--- raft-cli status"
  cluster_cli status --timeout-ms 1000
  echo "--- work directory kept: $work (replica logs node*.log, load output load.out/load.err)"
  exit 1
}

cluster_init "$work" "$server" "$client" 18211 3 "$election_timeout_ms" || exit 1
CLUSTER_CLI=$cli
CLUSTER_CLI_TIMEOUT_MS=20000
cluster_cleanup_on_exit
say() { cluster_say "$@"; }

run_cli() { cluster_run_cli "$@"; }

# `raft-cli status --peer` of replica I (one line), or nothing if it does not answer.
status_of() {
  cluster_cli status --peer "$(cluster_endpoint "$1")" --timeout-ms 1000 2>/dev/null
}

# The value of KEY=VALUE in a raft-cli status line.
status_field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -n 1; }

# Polls until replica I's status line contains TEXT; prints the line; fails after DEADLINE_S.
wait_status_contains() {
  local i=$1 text=$2 end=$((SECONDS + $3)) line
  while ((SECONDS < end)); do
    line=$(status_of "$i") || line=
    [[ $line == *"$text"* ]] && { echo "$line"; return 0; }
    sleep "$CLUSTER_POLL_S"
  done
  echo "replica $i's status never showed '$text' within $3 s; last: ${line:-no answer}" >&2
  return 1
}

endpoints_of() { for i in "$@"; do cluster_endpoint "$i"; done | paste -sd,; }

say "starting 3 replicas in $work (election timeout ${election_timeout_ms} ms)"
cluster_start_all || fail "could not start the replicas"
leader=$(cluster_wait_leader 30) || fail "no leader elected"
CLUSTER_COUNT=5  # The load and the status polls cover the joiners' endpoints from the start.
"$client" --conf "$(cluster_all_endpoints)" load --clients 4 --seconds 600 \
  >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
cluster_track "$load_pid"

# --- A. restart during joint consensus
for i in 4 5; do
  cluster_start_joining "$i" || fail "could not start replica $i with --join"
  cluster_wait_answering "$i" 20 || fail "replica $i does not answer"
done
run_cli add-learners "$(endpoints_of 4 5)" || fail "add-learners 4,5 failed"
for i in 4 5; do
  cluster_wait_caught_up "$i" 30 >/dev/null || fail "learner $i did not catch up"
done
leader=$(cluster_wait_leader 10) || fail "no leader before the change"
for i in 1 2 3; do
  if ((i != leader)); then
    other=$i
    break
  fi
done
# The change first waits for 4 and 5 to be within the catch-up margin of the leader's log; a
# loaded machine can leave learners that far behind, so the load pauses while they get level
# with the leader and are stopped, and resumes once the group is joint.
say "replica $leader leads; pausing the load, stopping learners 4 and 5 (SIGSTOP) once level" \
  "with the leader, then changing to $leader,4,5"
kill -STOP "$load_pid"
end=$((SECONDS + 30))
until [[ $(cluster_cli status --peer "$(cluster_endpoint "$leader")" --timeout-ms 1000 2>/dev/null |
  grep -cE "follower $(cluster_endpoint 4) .* lag=0( |$)|follower $(cluster_endpoint 5) .* lag=0( |$)") == 2 ]]; do
  ((SECONDS < end)) || fail "learners 4 and 5 did not get level with the leader"
  sleep "$CLUSTER_POLL_S"
done
kill -STOP "${CLUSTER_PIDS[4]}" "${CLUSTER_PIDS[5]}"
cluster_cli change-peers "$(endpoints_of "$leader" 4 5)" --timeout-ms 60000 \
  >"$work/change.out" 2>"$work/change.err" &
change_pid=$!
cluster_track "$change_pid"
line=$(wait_status_contains "$leader" "old_conf=" 15) ||
  fail "the leader never reported a joint configuration"
say "joint: $line"
kill -CONT "$load_pid"
cluster_kill "$leader"
cluster_kill "$other"
say "killed the leader $leader and voter $other in the joint configuration; restarting them" \
  "and resuming 4 and 5"
cluster_start "$leader" || fail "could not restart replica $leader"
cluster_start "$other" || fail "could not restart replica $other"
kill -CONT "${CLUSTER_PIDS[4]}" "${CLUSTER_PIDS[5]}"
new_leader=$(cluster_wait_leader 30) || fail "no leader elected after the restart in joint consensus"
say "replica $new_leader leads after the restart"
# The change ends at C_new = leader,4,5 (whoever leads finishes a joint configuration it finds).
want_conf=$(endpoints_of "$leader" 4 5 | tr ',' '\n' | sort | paste -sd,)
end=$((SECONDS + 30))
while :; do
  got=$(cluster_cli list-peers --timeout-ms 2000 2>/dev/null | tr ',' '\n' | grep -v /learner |
    sed 's/:0$//' | sort | paste -sd,)
  [[ $got == "$want_conf" ]] && break
  ((SECONDS < end)) || fail "the configuration did not become $want_conf: list-peers says '$got'"
  sleep "$CLUSTER_POLL_S"
done
line=$(status_of "$(cluster_wait_leader 10)")
[[ $line != *"old_conf="* ]] || fail "still joint after the change: $line"
say "the change completed: voters $got"
code=0
wait "$change_pid" || code=$?
say "the interrupted change-peers exited with $code ($(cat "$work/change.err" "$work/change.out" |
  head -n 1))"

# --- B. learners never vote
for i in 1 2 3; do
  ((i != leader && i != other)) && third=$i
done
learners=("$other" "$third")
run_cli add-learners "$(endpoints_of "${learners[@]}")" || fail "add-learners ${learners[*]} failed"
declare -A learner_term
for i in "${learners[@]}"; do
  cluster_wait_caught_up "$i" 30 >/dev/null || fail "learner $i did not catch up"
  learner_term[$i]=$(status_field "$(status_of "$i")" term)
  [[ -n ${learner_term[$i]} ]] || fail "learner $i does not answer status"
done
cluster_kill 4
cluster_kill 5
say "killed voters 4 and 5: voter $leader and learners ${learners[*]} remain (at terms" \
  "${learner_term[*]}); no replica may lead for $((8 * election_timeout_ms)) ms"
end_ms=$(($(date +%s%3N) + 8 * election_timeout_ms))
start_term=
while (($(date +%s%3N) < end_ms)); do
  line=$(status_of "$leader") || line=
  # The old leader may still call itself leader until it notices it lost its quorum; a
  # leader at a newer term than the one it had would have been elected with learners' votes.
  if [[ $line == *" role=leader "* ]]; then
    term=$(status_field "$line" term)
    [[ -z $start_term ]] && start_term=$term
    ((term > start_term)) && fail "replica $leader was elected without a majority of voters: $line"
  fi
  for i in "${learners[@]}"; do
    line=$(status_of "$i") || line=
    [[ $line == *" role=leader "* ]] && fail "learner $i leads: $line"
  done
  sleep 0.1
done
for i in "${learners[@]}"; do
  now_term=$(status_field "$(status_of "$i")" term)
  ((now_term == learner_term[$i])) ||
    fail "learner $i moved from term ${learner_term[$i]} to $now_term: it campaigned"
done
line=$(status_of "$leader")
[[ $line != *" role=leader "* ]] || fail "replica $leader still leads without a quorum: $line"
say "no leader, and the learners stayed at their terms; restarting voter 4"
cluster_start_joining 4 || fail "could not restart replica 4"
final_leader=$(cluster_wait_leader 30) || fail "no leader after voter 4 came back"
say "replica $final_leader leads"
cluster_start_joining 5 || fail "could not restart replica 5"

kill -TERM "$load_pid"
cluster_load_totals "$load_pid" "$work/load.out" "$work/load.err" 2>"$work/why" ||
  fail "$(cat "$work/why")"
sed 's/^/    /' "$work/load.err"
final=$("$client" --conf "$(endpoints_of "$leader" 4 5)" get) || fail "final get failed"
say "final count $final; acked $CLUSTER_ACKED, unknown $CLUSTER_UNKNOWN, failed $CLUSTER_FAILED"
cluster_check_count "$final" 2>"$work/why" || fail "$(cat "$work/why")"
cluster_wait_all_hold "$final" 30 "$leader" 4 5 "${learners[@]}" >/dev/null 2>"$work/why" ||
  fail "$(cat "$work/why")"
say "voters $leader, 4, 5 and learners ${learners[*]} hold $final"
for ((i = 1; i <= 5; i++)); do
  cluster_stop "$i" || fail "replica $i did not shut down cleanly on SIGTERM"
done
say "PASS: restart in joint consensus, learners never voted; acked $CLUSTER_ACKED <= final" \
  "$final <= acked + unknown $((CLUSTER_ACKED + CLUSTER_UNKNOWN))"
cluster_cleanup
rm -rf "$work"
