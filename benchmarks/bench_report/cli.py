"""Command line of benchmarks/report."""
import argparse
import os
import sys

from . import markdown
from . import plots as plotting
from . import records as rec


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    parser = Parser(prog="benchmarks/report",
                    description="Markdown tables and plots from benchmark JSON lines.")
    parser.add_argument("--out", default="bench-report", help="output directory")
    parser.add_argument("--title", default="Benchmark report")
    parser.add_argument("--no-plots", action="store_true", help="write report.md only")
    parser.add_argument("runs", nargs="+", metavar="RUNS.jsonl")
    return parser.parse_args(argv)


def main(argv):
    try:
        args = parse_args(argv)
        runs, micro = rec.read_records(args.runs)
    except (UsageError, rec.InputError) as e:
        print(f"benchmarks/report: {e}", file=sys.stderr)
        return 2
    if not runs and not micro:
        print("benchmarks/report: no records in " + ", ".join(args.runs), file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    notes = []
    plots = []
    if runs and not args.no_plots:
        if plotting.gnuplot_available():
            try:
                plots = plotting.draw(args.out, runs)
            except RuntimeError as e:
                print(f"benchmarks/report: {e}", file=sys.stderr)
                return 1
        else:
            notes.append("No plots: gnuplot is not installed (Debian: gnuplot-nox).")
            print("benchmarks/report: gnuplot not found, writing no plots", file=sys.stderr)
    text = markdown.report(args.title, runs, micro, rec.comparisons(runs), plots, notes)
    path = os.path.join(args.out, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"benchmarks/report: wrote {path}" + (f" and {2 * len(plots)} images" if plots else ""))
    return 0
