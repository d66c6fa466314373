#!/usr/bin/env bash
# demo.sh: Pontoon's main job, end to end, on one machine.
#
#   sudo bash scripts/demo.sh        # on a fresh Debian 12
#
# Installs the build dependencies, builds counter-server and counter-client (Release, into
# build-release/), starts a 3-replica counter on 127.0.0.1:8101..8103, puts 8 closed-loop
# clients on it for 15 s, SIGKILLs the leader 4 s in, restarts it 4 s later, and checks that
# no acknowledged increment was lost and none was counted twice:
#
#   acked <= final count <= acked + unknown
#
# ("unknown": increments in flight when the leader died; each may or may not have committed).
# Prints PASS and exits 0, or FAIL and exits 1. Everything it starts is stopped on exit.
#
# Environment: JOBS (build parallelism, default nproc), DEMO_WORK_DIR (where replica data and
# logs go, default a fresh /tmp/pontoon-demo.XXXXXX), DEMO_SKIP_DEPS=1 (skip install-deps.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$repo/scripts/lib/counter-cluster.sh"

jobs=${JOBS:-$(nproc)}
work=${DEMO_WORK_DIR:-$(mktemp -d /tmp/pontoon-demo.XXXXXX)}
build_dir="$repo/build-release"
load_clients=8
load_seconds=15
kill_after_s=4
restart_after_s=4

step_number=0
step() {
  step_number=$((step_number + 1))
  echo
  echo "== $step_number. $*"
}
say() { cluster_say "$@"; }
show_status() { cluster_status | sed 's/^/      /'; }
# Seconds since the $EPOCHREALTIME value $1, to a tenth.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
# Sleeps until $2 seconds after the $EPOCHREALTIME value $1: the demo's schedule, not a wait for
# anything to happen.
sleep_until() {
  local left
  left=$(awk -v a="$1" -v d="$2" -v b="$EPOCHREALTIME" 'BEGIN { l = a + d - b; print (l > 0 ? l : 0) }')
  sleep "$left"
}
fail() { cluster_fail_with_logs "$@"; }

echo "Pontoon demo: a replicated counter survives losing its leader under load"
say "work directory $work (replica data, logs node1.log..node3.log, load output)"

step "Install build dependencies"
if [[ ${DEMO_SKIP_DEPS:-0} == 1 ]]; then
  say "skipped (DEMO_SKIP_DEPS=1)"
else
  bash "$repo/scripts/install-deps.sh" | while read -r line; do say "$line"; done
fi

step "Build counter-server and counter-client (Release, $build_dir)"
build_log="$work/build.log"
say "cmake with $jobs job(s); output in $build_log"
started=$EPOCHREALTIME
if ! { cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release &&
  cmake --build "$build_dir" -j"$jobs" --target counter-server counter-client; } \
  >"$build_log" 2>&1; then
  tail -n 20 "$build_log" | sed 's/^/      /'
  fail "the build failed; see $build_log"
fi
say "built in $(since "$started") s"
bin="$build_dir/example/counter"

step "Start 3 replicas on 127.0.0.1:8101..8103"
cluster_init "$work" "$bin/counter-server" "$bin/counter-client" 8101 3 1000
cluster_cleanup_on_exit
for ((i = 1; i <= 3; i++)); do
  if ss -Htln "sport = :$((8100 + i))" 2>/dev/null | grep -q .; then
    fail "port $((8100 + i)) is already in use; stop whatever listens there and retry"
  fi
done
started=$EPOCHREALTIME
cluster_start_all
for ((i = 1; i <= 3; i++)); do
  say "replica $i: $(cluster_endpoint "$i"), pid ${CLUSTER_PIDS[$i]}, log $(cluster_log_file "$i")"
done
leader=$(cluster_wait_leader 30) || fail "no leader was elected within 30 s"
say "replica $leader was elected leader after $(since "$started") s"
show_status

step "Start the load: $load_clients closed-loop clients doing 'incr 1' for $load_seconds s"
"$CLUSTER_CLIENT" --conf "$CLUSTER_CONF" load --clients "$load_clients" \
  --seconds "$load_seconds" >"$work/load.out" 2>"$work/load.err" &
load_pid=$!
cluster_track "$load_pid"
load_started=$EPOCHREALTIME
say "load running (pid $load_pid, output in $work/load.out)"

step "Kill the leader with SIGKILL, $kill_after_s s into the load"
sleep_until "$load_started" "$kill_after_s"
show_status
killed=$leader
say "kill -9 replica $killed (pid ${CLUSTER_PIDS[$killed]})"
cluster_kill "$killed"
killed_at=$EPOCHREALTIME
leader=$(cluster_wait_leader 30 "$killed") || fail "no new leader within 30 s of the kill"
say "replica $leader took over as leader $(since "$killed_at") s after the kill"
show_status

step "Restart replica $killed, $restart_after_s s after the kill"
sleep_until "$killed_at" "$restart_after_s"
cluster_start "$killed"
restarted_at=$EPOCHREALTIME
say "replica $killed restarted (pid ${CLUSTER_PIDS[$killed]}) on its data; it catches up from the leader"
cluster_wait_answering "$killed" 30 || fail "replica $killed did not come back within 30 s"
say "replica $killed answers, $(since "$restarted_at") s after the restart:"
show_status
target=$(cluster_wait_caught_up "$killed" 60) || fail "replica $killed did not catch up within 60 s"
say "replica $killed has applied up to the leader's commit index $target," \
  "$(since "$restarted_at") s after the restart"
show_status

step "Wait for the load to finish"
cluster_load_totals "$load_pid" "$work/load.out" "$work/load.err" 2>"$work/why" ||
  fail "$(cat "$work/why")"
sed 's/^/      /' "$work/load.err"
acked=$CLUSTER_ACKED
unknown=$CLUSTER_UNKNOWN
failed=$CLUSTER_FAILED

step "Check the count"
final=$("$CLUSTER_CLIENT" --conf "$CLUSTER_CONF" get) || fail "could not read the final count"
say "final count $final (a linearizable read through the leader's log)"
say "acked $acked, unknown $unknown, failed $failed: expect $acked <= $final <= $((acked + unknown))"
if ((acked <= final && final <= acked + unknown)); then
  verdict=PASS
else
  verdict=FAIL
fi

step "Stop the replicas (SIGTERM)"
for ((i = 1; i <= 3; i++)); do
  cluster_stop "$i" || fail "replica $i did not shut down cleanly"
done
say "all replicas exited cleanly; logs stay in $work"

echo
if [[ $verdict == PASS ]]; then
  say "PASS: no acknowledged increment lost, none counted twice" \
    "($acked <= $final <= $((acked + unknown)))"
else
  say "FAIL: final count $final is outside [$acked, $((acked + unknown))]"
  exit 1
fi
