"""Reading benchmark JSON lines and grouping them for the report.

A run record is one JSON object per line in the shared result format (docs/benchmarks.md,
"The result format"): raft-bench and etcd-bench write them. Lines from the micro-benchmarks
(ring-buffer-bench, log-storage-bench, rpc-codec-bench) have no "workload"; they are kept apart
as micro records.
"""
import json

# The workloads that measure the same thing on both targets, so their rows can be compared:
# etcd's default range is linearizable through its ReadIndex, like pontoon's read-index reads.
COMPARABLE_WORKLOADS = {"etcd-linearizable-read": "read-index"}


class InputError(Exception):
    """Input that cannot be used: unreadable file, a line that is not a JSON object, or a run
    record missing a key the report needs. The message names the file and line."""


RUN_KEYS = ("tool", "target", "topology", "clients", "workload", "payload_bytes", "ops_per_s")


def read_records(paths):
    """Returns (runs, micro): the run records and the micro-benchmark records of all `paths`,
    in file order. Later runs with the same identity replace earlier ones (see run_identity)."""
    runs = {}
    micro = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.readlines()
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror}") from e
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"{path}:{number}: not JSON: {e.msg}") from e
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number}: not a JSON object")
            if "workload" not in record:
                if "tool" not in record:
                    raise InputError(f"{path}:{number}: no \"tool\" key")
                micro.append(record)
                continue
            missing = [k for k in RUN_KEYS if k not in record]
            if missing:
                raise InputError(f"{path}:{number}: missing {', '.join(missing)}")
            runs[run_identity(record)] = record
    return list(runs.values()), micro


def storage_label(record):
    """The log storage of a run, with its preallocation when not the default ("auto") and
    "no fsync" when its writes were not synced."""
    storage = record.get("log_storage") or ""
    preallocate = record.get("log_preallocate")
    if storage and preallocate not in (None, "auto"):
        storage += f" (preallocate {preallocate})"
    if record.get("fsync") is False:
        storage += (", " if storage else "") + "no fsync"
    return storage


def load_label(record):
    """How the clients loaded the cluster: "" for a closed loop, "paced R/s" for raft-bench
    --rate (each latency from the operation's scheduled time, docs/benchmarks.md)."""
    rate = record.get("rate_ops_per_s")
    return f"paced {rate:g}/s" if rate else ""


def run_identity(record):
    """What makes two records measurements of the same configuration."""
    return (record["tool"], record["target"], record["topology"], storage_label(record),
            record.get("replicas"), record.get("groups"), record["workload"],
            record["payload_bytes"], record["clients"], load_label(record))


def table_key(record):
    """One markdown table per (tool, topology, workload, payload)."""
    return (record["tool"], record["topology"], record["workload"], record["payload_bytes"])


def series_key(record):
    """One plotted line per (target, workload, log storage, load)."""
    return (record["target"], record["workload"], storage_label(record), load_label(record))


def group(records, key):
    """{key(record): [records sorted by series then clients]}, keys (tuples) in sorted order."""
    groups = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    return {k: sorted(v, key=lambda r: (series_key(r), r["clients"]))
            for k, v in sorted(groups.items(), key=lambda kv: sortable(kv[0]))}


def sortable(key):
    """A tuple key that sorts numbers numerically and before text (None as text)."""
    return tuple((0, x, "") if isinstance(x, (int, float)) else (1, 0, str(x)) for x in key)


def comparisons(runs):
    """Rows pairing a pontoon run with the etcd run of the same workload (or its comparable
    one), payload and client count: dicts with "pontoon", "etcd" and "workload"."""
    etcd = {}
    # Only closed loops compare: a paced run's latencies count from the schedule.
    runs = [r for r in runs if not load_label(r)]
    for r in runs:
        if r["target"] == "etcd":
            workload = COMPARABLE_WORKLOADS.get(r["workload"], r["workload"])
            etcd[(workload, r["payload_bytes"], r["clients"])] = r
    rows = []
    for r in runs:
        if r["target"] != "pontoon":
            continue
        other = etcd.get((r["workload"], r["payload_bytes"], r["clients"]))
        if other is not None:
            rows.append({"workload": r["workload"], "pontoon": r, "etcd": other})
    rows.sort(key=lambda row: (row["workload"], row["pontoon"]["payload_bytes"],
                               row["pontoon"].get("topology", ""),
                               storage_label(row["pontoon"]),
                               row["pontoon"]["clients"]))
    return rows


def ratio(numerator, denominator):
    """numerator / denominator, or None when either is unknown or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def latency(record, percentile):
    return (record.get("latency_ms") or {}).get(percentile)


def rss_max(record):
    return (record.get("rss_mb") or {}).get("max")
