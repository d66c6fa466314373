#!/usr/bin/env bash
# compare-etcd.sh end to end: a one-second run of both workloads at 2 clients against raft-bench
# (three replica processes) and a real 3-member etcd must write the four JSON lines, pair each
# pontoon run with its etcd run in the ratio table, write the report, and leave no process
# behind. Skips (exit 77) when etcd is not installed.
#
# usage: compare_etcd_smoke_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail

src=${1:?usage: $0 SOURCE_DIR BUILD_DIR}
build=${2:?usage: $0 SOURCE_DIR BUILD_DIR}
if ! command -v etcd >/dev/null; then
  echo "etcd is not installed (Debian: etcd-server); skipping"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/compare-etcd-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

# etcd on 18800-18805 (base + 300); raft-bench's replicas bind ports the kernel picks.
TMPDIR=$work timeout 240 bash "$src/benchmarks/compare-etcd.sh" --build-dir "$build" \
  --clients 2 --seconds 1 --payload-bytes 100 --base-port 18500 --out "$work/out" \
  >"$work/log" 2>&1
code=$?
cat "$work/log"
if [[ $code -ne 0 ]]; then
  echo "FAIL: compare-etcd.sh exited with $code"
  exit 1
fi
if pgrep -f -- "$work/" >/dev/null; then
  echo "FAIL: a process started by the comparison is still running:"
  pgrep -af -- "$work/"
  exit 1
fi
[[ -s $work/out/report/report.md ]] || { echo "FAIL: no report/report.md"; exit 1; }

python3 - "$work/out/runs.jsonl" "$work/log" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((r["target"], r["workload"], r["topology"], r["clients"]) for r in runs)
assert got == [("etcd", "etcd-linearizable-read", "processes", 2), ("etcd", "write", "processes", 2),
               ("pontoon", "read-index", "processes", 2), ("pontoon", "write", "processes", 2)], got
for r in runs:
    assert r["payload_bytes"] == 100 and r["fsync"] is True, r
    assert r["ops"] > 0 and r["failed"] == 0, r
    assert not r.get("parsed_from_text"), "raft-bench's own JSON line was expected"
log = open(sys.argv[2]).read()
table = log[log.index("pontoon / etcd"):]
rows = [l for l in table.splitlines() if l.startswith("| ") and "×" in l]
# One ratio row per workload: writes against puts, ReadIndex reads against linearizable ranges.
assert len(rows) == 2, table
assert any(l.startswith("| write |") for l in rows), rows
assert any(l.startswith("| read-index vs etcd-linearizable-read |") for l in rows), rows
print("compare-etcd smoke: OK")
PY
