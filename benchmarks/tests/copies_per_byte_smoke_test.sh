#!/usr/bin/env bash
# copies-per-byte.sh end to end, briefly: it prints one row per process (three replicas and the
# client driver), and the counts make sense: every replica copies each payload at least once
# (it arrives in a socket buffer and is kept in the log), and the leader, which also sends each
# entry to two followers, copies more than either follower.
#
# usage: copies_per_byte_smoke_test.sh BUILD_DIR
set -uo pipefail

build_dir=${1:?usage: $0 BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
out=$(bash "$here/../copies-per-byte.sh" --build-dir "$build_dir" --clients 4 --seconds 1 2>&1)
rc=$?
echo "$out"
((rc == 0)) || {
  echo "FAIL: copies-per-byte.sh exited $rc"
  exit 1
}
awk '
  /^replica [0-9]+ \(leader\)/ { leader = $4; ++leaders; ++replicas; next }
  /^replica [0-9]+ / { ++replicas; if (follower == "" || $3 > follower) follower = $3; if ($3 < 1) low = 1; next }
  /^client driver / { driver = 1 }
  END {
    if (replicas != 3 || leaders != 1 || !driver) { print "FAIL: expected 3 replica rows, one the leader, and the driver"; exit 1 }
    if (low || leader < 1) { print "FAIL: a replica copied each payload less than once: the shim missed copies"; exit 1 }
    if (leader <= follower) { print "FAIL: the leader copied no more than a follower"; exit 1 }
    print "ok: leader " leader ", followers up to " follower " copies per payload byte"
  }' <<<"$out"
