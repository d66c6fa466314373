#!/usr/bin/env bash
# raft-bench runs briefly in one topology with every workload, and each run appends one
# well-formed JSON line (docs/benchmarks.md, "The result format") with operations counted; it
# removes its data directory and, in --topology processes, leaves no replica process behind,
# even when the driver is killed with SIGKILL. A functional test, not a performance one.
#
# usage: raft_bench_smoke_test.sh RAFT_BENCH in-process|processes
set -uo pipefail

bench=${1:?usage: $0 RAFT_BENCH TOPOLOGY}
topology=${2:?usage: $0 RAFT_BENCH TOPOLOGY}
work=$(mktemp -d "${TMPDIR:-/tmp}/raft-bench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
json="$work/results.jsonl"
failures=0

fail() {
  echo "FAIL $*"
  failures=$((failures + 1))
}

# The replica processes of a driver are its children, and their command lines name the data
# directory under $work: count those still alive.
replicas_alive() {
  ps -eo args= | grep -F -- "--data $work/raft-bench-" | grep -cv grep
}

# Short runs with a short election timeout, so that all workloads fit in a few seconds. The
# variants also cover several groups, the segment store and --no-fsync, and follower reads.
run() {
  local name=$1
  shift
  local code=0
  timeout 60 "$bench" --topology "$topology" --clients 8 --client-threads 2 \
    --seconds 0.5 --warmup-seconds 0.2 --election-timeout-ms 200 --payload-bytes 64 \
    --data "$work" --json "$json" "$@" >"$work/$name.out" 2>&1 || code=$?
  if [[ $code -ne 0 ]]; then
    fail "$name: raft-bench exited with $code:"
    cat "$work/$name.out"
  else
    echo "ok   $name: $(grep -E '^ +[0-9]' "$work/$name.out" | head -1)"
  fi
}

run write --workload write
run read-index --workload read-index --groups 3
run lease --workload lease --log-storage segments
run wait-free --workload wait-free --no-fsync --read-on followers
run paced --workload write --rate 400

python3 - "$json" "$topology" <<'PY' || failures=$((failures + 1))
import json, sys
path, topology = sys.argv[1], sys.argv[2]
expected = [("write", {}), ("read-index", {"groups": 3}), ("lease", {"log_storage": "segments"}),
            ("wait-free", {"fsync": False, "read_on": "followers"}),
            ("write", {"rate_ops_per_s": 400})]
lines = open(path).read().splitlines()
assert len(lines) == len(expected), f"{len(lines)} JSON lines, expected {len(expected)}"
for line, (workload, settings) in zip(lines, expected):
    r = json.loads(line)
    where = f"{workload}: "
    for key in ["tool", "target", "topology", "replicas", "groups", "clients", "workload",
                "read_fraction", "payload_bytes", "fsync", "log_storage", "seconds", "ops",
                "writes", "reads", "failed", "ops_per_s", "writes_per_s", "reads_per_s",
                "latency_ms", "cpu_s_per_1000_ops", "fsyncs_per_s", "entries_per_fsync",
                "rss_mb", "machine", "started_at", "rate_ops_per_s", "issue_lag_ms"]:
        assert key in r, where + f"no key {key}"
    assert r["tool"] == "raft-bench" and r["target"] == "pontoon", where + line
    assert r["topology"] == topology and r["workload"] == workload, where + line
    for key, value in settings.items():
        assert r[key] == value, where + f"{key} = {r[key]}, expected {value}"
    assert r["ops"] > 0 and r["ops"] == r["writes"] + r["reads"], where + line
    assert r["writes"] > 0, where + "no writes"
    reading = workload != "write"
    assert r["read_fraction"] == (0.9 if reading else 0.0), where + line
    assert (r["reads"] > 0) == reading, where + f"reads = {r['reads']}"
    lat = r["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], where + str(lat)
    assert abs(r["ops_per_s"] * r["seconds"] - r["ops"]) <= 1, where + line
    assert r["cpu_s_per_1000_ops"] > 0, where + line
    if r["fsync"]:
        assert r["fsyncs_per_s"] > 0 and r["entries_per_fsync"] >= 1, where + line
    else:
        assert r["fsyncs_per_s"] is None or r["fsyncs_per_s"] == 0, where + line
    processes = 3 if topology == "processes" else 1
    assert len(r["rss_mb"]["per_process"]) == processes, where + str(r["rss_mb"])
    assert r["rss_mb"]["max"] == max(r["rss_mb"]["per_process"]) > 0, where + str(r["rss_mb"])
    assert r["driver_rss_mb"] > 0, where + line
    assert r["machine"]["cores"] >= 1 and r["started_at"].endswith("Z"), where + line
    if r["rate_ops_per_s"] is None:
        assert r["issue_lag_ms"] is None, where + "issue lag of a closed loop"
    else:
        # Paced: never more than offered (8 clients may each be one operation into the next
        # slot), and the issue lag is part of each latency.
        assert r["ops"] <= r["rate_ops_per_s"] * r["seconds"] + 8, where + line
        assert 0 <= r["issue_lag_ms"]["p50"] <= r["issue_lag_ms"]["max"] <= lat["max"], where + line
print(f"ok   {len(lines)} JSON lines well-formed")
PY

# Runs longer than 5 s (warm-up included) print a progress line every second: one per whole
# second elapsed, with the measured window's p99 once it has begun. One topology suffices.
if [[ $topology == in-process ]]; then
  timeout 60 "$bench" --topology in-process --clients 4 --seconds 5 --warmup-seconds 0.5 \
    --election-timeout-ms 200 --payload-bytes 64 --data "$work" >"$work/progress.out" 2>&1
  progress_lines=$(grep -cE '^ +[0-9]+ s +[0-9]+ ops/s +' "$work/progress.out")
  measured_lines=$(grep -cE '^ +[0-9]+ s +[1-9][0-9]* ops/s +p99 so far [0-9.]+ ms$' \
    "$work/progress.out")
  if [[ $progress_lines -ge 4 && $measured_lines -ge 3 ]]; then
    echo "ok   progress: $progress_lines lines, $measured_lines with operations and a p99"
  else
    fail "progress: $progress_lines progress lines, $measured_lines measured ones:"
    cat "$work/progress.out"
  fi
fi

if compgen -G "$work/raft-bench-*" >/dev/null; then
  fail "data directories left behind: $(echo "$work"/raft-bench-*)"
fi
if [[ $topology == processes ]]; then
  alive=$(replicas_alive)
  [[ $alive -eq 0 ]] || fail "$alive replica processes still running after the runs"

  # A driver killed with SIGKILL cannot clean up: its replicas must stop by themselves.
  "$bench" --topology processes --seconds 60 --clients 2 --election-timeout-ms 200 \
    --data "$work" >"$work/killed.out" 2>&1 &
  driver=$!
  deadline=$((SECONDS + 20))
  until [[ $(replicas_alive) -eq 3 ]] || ((SECONDS > deadline)); do sleep 0.1; done
  if [[ $(replicas_alive) -ne 3 ]]; then
    fail "the replica processes of the driver to kill did not start"
  fi
  kill -KILL "$driver"
  wait "$driver" 2>/dev/null
  deadline=$((SECONDS + 10))
  until [[ $(replicas_alive) -eq 0 ]] || ((SECONDS > deadline)); do sleep 0.1; done
  alive=$(replicas_alive)
  if [[ $alive -eq 0 ]]; then
    echo "ok   replicas stopped by themselves after the driver was killed"
  else
    fail "$alive replica processes outlived their killed driver"
  fi
fi

[[ $failures -eq 0 ]] && echo "all checks passed"
[[ $failures -eq 0 ]]
