"""The report's markdown: a table per (tool, topology, workload, payload), the pontoon / etcd
ratios, and the micro-benchmark records as plain tables."""
from . import records as rec

DASH = "—"  # An unknown value (null in the input, e.g. etcd's fsyncs).


def number(value, digits=2):
    """`value` for a table cell: thousands separated, `digits` decimals below 100."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def times(value):
    return DASH if value is None else f"{value:.2f}×"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


RUN_HEADER = ["target", "storage", "replicas", "clients", "load", "ops/s", "p50 ms", "p90 ms", "p99 ms",
              "p99.9 ms", "CPU s/1000 ops", "fsyncs/s", "entries/fsync", "RSS max MB", "failed"]


def run_row(r):
    return [r["target"], rec.storage_label(r) or DASH, number(r.get("replicas")),
            number(r["clients"]), rec.load_label(r) or "closed loop", number(r["ops_per_s"]),
            number(rec.latency(r, "p50")),
            number(rec.latency(r, "p90")), number(rec.latency(r, "p99")),
            number(rec.latency(r, "p999")), number(r.get("cpu_s_per_1000_ops"), 3),
            number(r.get("fsyncs_per_s")), number(r.get("entries_per_fsync")),
            number(rec.rss_max(r), 1), number(r.get("failed"))]


def run_tables(runs):
    parts = []
    for (tool, topology, workload, payload), rows in rec.group(runs, rec.table_key).items():
        fraction = rows[0].get("read_fraction")
        mix = f", read fraction {fraction}" if fraction else ""
        parts.append(f"### {tool}: {workload}, {topology}, {payload} B payload{mix}\n")
        parts.append(table(RUN_HEADER, [run_row(r) for r in rows]) + "\n")
    return "\n".join(parts)


RATIO_HEADER = ["workload", "payload", "clients", "pontoon storage", "pontoon ops/s",
                "etcd ops/s", "ops/s ratio", "p50 ratio", "p99 ratio", "CPU/op ratio"]


def ratio_table(comparisons):
    rows = []
    for c in comparisons:
        p, e = c["pontoon"], c["etcd"]
        rows.append([c["workload"] if c["workload"] == e["workload"]
                     else f'{c["workload"]} vs {e["workload"]}',
                     f'{p["payload_bytes"]} B', number(p["clients"]),
                     rec.storage_label(p) or DASH, number(p["ops_per_s"]), number(e["ops_per_s"]),
                     times(rec.ratio(p["ops_per_s"], e["ops_per_s"])),
                     times(rec.ratio(rec.latency(p, "p50"), rec.latency(e, "p50"))),
                     times(rec.ratio(rec.latency(p, "p99"), rec.latency(e, "p99"))),
                     times(rec.ratio(p.get("cpu_s_per_1000_ops"), e.get("cpu_s_per_1000_ops")))])
    return table(RATIO_HEADER, rows)


def flatten(record, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}, leaving out the machine and time of the run."""
    flat = {}
    for key, value in record.items():
        if key in ("machine", "started_at", "tool") and not prefix:
            continue
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        elif not isinstance(value, list):
            flat[prefix + key] = value
    return flat


def micro_tables(micro):
    parts = []
    by_tool = {}
    for record in micro:
        # A tool's kinds of case (log-storage-bench's appends and "reads") get a table each.
        title = record["tool"] + (f': {record["case"]}' if "case" in record else "")
        by_tool.setdefault(title, []).append(flatten(record))
    for tool, rows in sorted(by_tool.items()):
        header = []
        for row in rows:
            header += [k for k in row if k not in header]
        parts.append(f"### {tool}\n")
        parts.append(table(header, [[number(row.get(k)) for k in header] for row in rows]) + "\n")
    return "\n".join(parts)


def machines(records):
    seen = []
    for r in records:
        m = r.get("machine") or {}
        text = f'{m.get("hostname", "?")}: {m.get("cores", "?")} cores, kernel {m.get("kernel", "?")}'
        if text not in seen:
            seen.append(text)
    return seen


def report(title, runs, micro, comparisons, plots, notes):
    """The whole report.md. `plots` lists (caption, png file name); `notes` free lines."""
    started = sorted(r["started_at"] for r in runs + micro if r.get("started_at"))
    out = [f"# {title}\n"]
    if started:
        out.append(f"Runs from {started[0]} to {started[-1]}.")
    out += [f"Machine {m}." for m in machines(runs + micro)]
    out += notes
    out.append("")
    if comparisons:
        out.append("## pontoon / etcd\n")
        out.append("Ratios above 1 mean pontoon has more of it (for latency and CPU: worse). "
                   "etcd-linearizable-read is compared with read-index: both are 9:1 "
                   "linearizable-read:write mixes confirmed by a ReadIndex round.\n")
        out.append(ratio_table(comparisons) + "\n")
    if runs:
        out.append("## Runs\n")
        out.append(run_tables(runs))
    if plots:
        out.append("## Plots\n")
        out += [f"![{caption}]({name})\n" for caption, name in plots]
    if micro:
        out.append("## Micro-benchmarks\n")
        out.append(micro_tables(micro))
    return "\n".join(out).rstrip() + "\n"
