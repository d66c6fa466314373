#!/usr/bin/env bash
# etcd-bench end to end: a short run of both workloads against a real 3-member etcd writes one
# JSON line per run with the shared result format's keys, counts operations, and leaves no etcd
# process and no data directory behind. Skips (exit 77) when etcd is not installed.
#
# usage: etcd_bench_smoke_test.sh ETCD_BENCH
set -uo pipefail

etcd_bench=${1:?usage: $0 ETCD_BENCH}
if ! command -v etcd >/dev/null; then
  echo "etcd is not installed (Debian: etcd-server); skipping"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-bench-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

TMPDIR=$work timeout 120 "$etcd_bench" --clients 2,8 --seconds 1 --warmup-seconds 0 \
  --payload-bytes 100 --base-port 17900 --json "$work/runs.jsonl" >"$work/out" 2>&1
code=$?
cat "$work/out"
if [[ $code -ne 0 ]]; then
  echo "FAIL: etcd-bench exited with $code"
  exit 1
fi
leftover=$(find "$work" -maxdepth 1 -name 'etcd-bench.*' | head -1)
if [[ -n $leftover ]]; then
  echo "FAIL: etcd-bench left $leftover behind"
  exit 1
fi
if pgrep -f -- "--data-dir=$work/" >/dev/null; then
  echo "FAIL: an etcd started by etcd-bench is still running"
  exit 1
fi
python3 - "$work/runs.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["workload"], r["clients"]) for r in lines] == [
    ("write", 2), ("write", 8), ("etcd-linearizable-read", 2), ("etcd-linearizable-read", 8)], lines
required = ["tool", "target", "topology", "replicas", "groups", "clients", "workload",
            "read_fraction", "payload_bytes", "fsync", "log_storage", "seconds", "ops", "writes",
            "reads", "failed", "ops_per_s", "writes_per_s", "reads_per_s", "latency_ms",
            "cpu_s_per_1000_ops", "fsyncs_per_s", "entries_per_fsync", "rss_mb", "machine",
            "started_at"]
for r in lines:
    missing = [k for k in required if k not in r]
    assert not missing, f"missing {missing}"
    assert (r["tool"], r["target"], r["topology"], r["replicas"]) == ("etcd-bench", "etcd", "processes", 3)
    assert r["failed"] == 0 and r["ops"] > 0 and r["ops"] == r["writes"] + r["reads"], r
    assert r["payload_bytes"] == 100 and r["fsyncs_per_s"] is None, r
    assert 0 < r["latency_ms"]["p50"] <= r["latency_ms"]["p99"] <= r["latency_ms"]["max"], r
    assert len(r["rss_mb"]["per_process"]) == 3 and r["rss_mb"]["max"] > 0, r
    assert r["cpu_s_per_1000_ops"] > 0, r
    if r["workload"] == "write":
        assert r["reads"] == 0 and r["read_fraction"] == 0.0, r
        # Every put is in some member's synced WAL write.
        assert r["etcd_wal_fsyncs_per_s_per_member"] > 0, r
        # The metrics are read just outside the counted window, so allow some slack.
        assert 0.5 < r["etcd_writes_per_wal_fsync"] <= r["clients"], r
    else:
        # Nine reads to a write; a 1-second window may end within a client's ten.
        assert r["read_fraction"] == 0.9 and 0.8 < r["reads"] / r["ops"] < 0.95, r
print(f"ok: {len(lines)} runs, all keys present")
PY
