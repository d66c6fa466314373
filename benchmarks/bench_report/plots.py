"""Throughput and latency against clients, drawn by gnuplot as PNG and SVG.

For each payload size there are two plots, each with one line per (target, workload, log
storage, topology): ops/s against clients, and p50 (solid) and p99 (dashed) latency against
clients, so pontoon and etcd share a plot.
Both axes of clients are logarithmic. Data goes to .dat files next to the images and the
commands to plots.gp, so a plot can be redrawn or tweaked by hand.
"""
import os
import shutil
import subprocess

from . import records as rec


def gnuplot_available():
    return shutil.which("gnuplot") is not None


def quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def series_title(series):
    target, workload, storage, load, topology = series
    details = [d for d in (storage if storage != "etcd" else "", load, topology) if d]
    return f"{target} {workload}" + (f" ({', '.join(details)})" if details else "")


def write_data(out_dir, name, rows):
    path = os.path.join(out_dir, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write("# clients ops_per_s p50_ms p99_ms\n")
        for r in rows:
            values = [r["clients"], r["ops_per_s"], rec.latency(r, "p50"), rec.latency(r, "p99")]
            f.write(" ".join("NaN" if v is None else str(v) for v in values) + "\n")
    return name


def plot_commands(stem, title, data_files):
    """gnuplot commands for the two plots of one payload size, each as PNG and
    SVG. `data_files` is [(series title, data file name)]."""
    commands = []
    for terminal, extension in (("pngcairo size 900,560", "png"), ("svg size 900,560", "svg")):
        throughput = ", ".join(f"{quote(f)} using 1:2 with linespoints title {quote(t)}"
                               for t, f in data_files)
        latency = ", ".join(
            f"{quote(f)} using 1:3 with linespoints lc {i + 1} dt 1 title {quote(t + ' p50')}, "
            f"{quote(f)} using 1:4 with linespoints lc {i + 1} dt 2 title {quote(t + ' p99')}"
            for i, (t, f) in enumerate(data_files))
        commands += [
            f"set terminal {terminal}",
            "set logscale x 2", "unset logscale y", "set grid", "set key left top",
            "set xlabel 'clients'", "set ylabel 'ops/s'",
            f"set title {quote(title + ': throughput')}",
            f"set output {quote(f'{stem}-throughput.{extension}')}",
            f"plot {throughput}",
            "set logscale y", "set ylabel 'latency ms'",
            f"set title {quote(title + ': latency p50 (solid) and p99 (dashed)')}",
            f"set output {quote(f'{stem}-latency.{extension}')}",
            f"plot {latency}",
            "unset output",
        ]
    return commands


def draw(out_dir, runs):
    """Writes the data files, plots.gp and the images into `out_dir`. Returns the list of
    (caption, png name) drawn. Raises RuntimeError if gnuplot fails."""
    groups = rec.group(runs, lambda r: (r["payload_bytes"],))
    commands = []
    plots = []
    for (payload,), rows in groups.items():
        stem = f"payload-{payload}B"
        by_series = {}
        for r in rows:
            by_series.setdefault(rec.series_key(r) + (r["topology"],), []).append(r)
        data_files = []
        for index, (series, series_rows) in enumerate(sorted(by_series.items())):
            name = write_data(out_dir, f"{stem}-series{index}.dat", series_rows)
            data_files.append((series_title(series), name))
        title = f"{payload} B payload"
        commands += plot_commands(stem, title, data_files)
        plots += [(f"{title}: throughput", f"{stem}-throughput.png"),
                  (f"{title}: latency", f"{stem}-latency.png")]
    script = os.path.join(out_dir, "plots.gp")
    with open(script, "w", encoding="utf-8") as f:
        f.write("\n".join(commands) + "\n")
    done = subprocess.run(["gnuplot", "plots.gp"], cwd=out_dir, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gnuplot failed: {done.stderr.strip()}")
    return plots
