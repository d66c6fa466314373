#!/usr/bin/env bash
# The load client's stale-read check catches a server that serves stale gets: three
# counter-server processes started with --inject-stale-gets (a test hook: every get answers one
# less than the value) under `counter-client load --reads-per-write 3` must make the load exit
# 4 (a linearizability violation), name a stale get on stderr, and count some in its totals.
# Without the hook, counter_process_test requires the same load to find none.
#
# usage: counter_stale_check_test.sh COUNTER_SERVER COUNTER_CLIENT
# The work directory (replica logs) is kept and printed if the test fails.
set -uo pipefail

server=${1:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
client=${2:?usage: $0 COUNTER_SERVER COUNTER_CLIENT}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/counter-cluster.sh
source "$here/../scripts/lib/counter-cluster.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/counter-stale-check-test.XXXXXX")

fail() {
  cluster_say "FAIL: $*"
  echo "--- work directory kept: $work (replica logs node*.log, load output load.out/load.err)"
  exit 1
}

cluster_init "$work" "$server" "$client" 18301 3 1000 || exit 1
cluster_cleanup_on_exit
CLUSTER_SERVER_ARGS=(--inject-stale-gets)

cluster_start_all || fail "could not start the replicas"
leader=$(cluster_wait_leader 30) || fail "no leader elected"
cluster_say "replica $leader leads; gets answer one less than the value"

code=0
"$client" --conf "$CLUSTER_CONF" load --clients 4 --reads-per-write 3 --seconds 3 \
  >"$work/load.out" 2>"$work/load.err" || code=$?
sed 's/^/    /' "$work/load.err"
((code == 4)) || fail "the load exited with $code, not 4 (a violation)"
grep -q "got [0-9]* after an increment was acknowledged at" "$work/load.err" ||
  fail "the load did not describe a stale get on stderr"
totals=$(tail -n 1 "$work/load.out")
[[ $totals =~ stale_reads=([0-9]+) ]] || fail "no stale_reads in the totals line '$totals'"
((BASH_REMATCH[1] > 0)) || fail "the totals count no stale get: '$totals'"
cluster_say "PASS: the load exited 4 with ${BASH_REMATCH[1]} stale gets"
cluster_cleanup
rm -rf "$work"
