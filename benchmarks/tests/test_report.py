"""Tests of benchmarks/report on data/sample.jsonl: three pontoon write/read-index runs (one
repeated), three etcd runs, one micro-benchmark line."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = os.path.dirname(HERE)
sys.path.insert(0, BENCHMARKS)

from bench_report import markdown, plots, records  # noqa: E402

SAMPLE = os.path.join(HERE, "data", "sample.jsonl")
REPORT = os.path.join(BENCHMARKS, "report")


def write_lines(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class ReadRecordsTest(unittest.TestCase):
    def setUp(self):
        self.runs, self.micro = records.read_records([SAMPLE])

    def test_run_records_and_micro_records_are_kept_apart(self):
        self.assertEqual(len(self.runs), 6)
        self.assertEqual([m["tool"] for m in self.micro], ["rpc-codec-bench"])

    def test_a_repeated_configuration_keeps_the_later_run(self):
        pontoon_64 = [r for r in self.runs
                      if r["target"] == "pontoon" and r["workload"] == "write"
                      and r["clients"] == 64]
        self.assertEqual(len(pontoon_64), 1)
        self.assertEqual(pontoon_64[0]["ops_per_s"], 4000.0)

    def test_runs_differing_in_preallocation_are_kept_apart_and_labelled(self):
        base = ('{"tool": "raft-bench", "target": "pontoon", "topology": "processes", '
                '"workload": "write", "payload_bytes": 4096, "clients": 64, "ops_per_s": %d, '
                '"log_storage": "segments"%s}\n')
        with tempfile.TemporaryDirectory() as d:
            path = write_lines(d, "pre.jsonl",
                               base % (100, ', "log_preallocate": "auto"') +
                               base % (200, ', "log_preallocate": "always"') +
                               base % (300, ""))
            runs, _ = records.read_records([path])
        # A record without the key (older raft-bench) is the same configuration as "auto".
        self.assertEqual(sorted(r["ops_per_s"] for r in runs), [200, 300])
        self.assertEqual(sorted(records.storage_label(r) for r in runs),
                         ["segments", "segments (preallocate always)"])

    def test_runs_with_and_without_fsync_are_kept_apart_and_labelled(self):
        line = ('{"tool": "raft-bench", "target": "pontoon", "topology": "processes", '
                '"workload": "write", "payload_bytes": 16, "clients": 64, "ops_per_s": %d, '
                '"log_storage": "segments", "fsync": %s}\n')
        with tempfile.TemporaryDirectory() as d:
            path = write_lines(d, "sync.jsonl", line % (100, "true") + line % (200, "false"))
            runs, _ = records.read_records([path])
        self.assertEqual(sorted(records.storage_label(r) for r in runs),
                         ["segments", "segments, no fsync"])

    def test_paced_runs_are_kept_apart_labelled_and_not_compared_with_etcd(self):
        line = ('{"tool": "%s", "target": "%s", "topology": "processes", "workload": "write", '
                '"payload_bytes": 256, "clients": 64, "ops_per_s": %d%s}\n')
        with tempfile.TemporaryDirectory() as d:
            path = write_lines(d, "paced.jsonl",
                               line % ("raft-bench", "pontoon", 100, "") +
                               line % ("raft-bench", "pontoon", 200, ', "rate_ops_per_s": null') +
                               line % ("raft-bench", "pontoon", 300, ', "rate_ops_per_s": 5000') +
                               line % ("etcd-bench", "etcd", 50, ""))
            runs, _ = records.read_records([path])
        # null is a closed loop, the same configuration as a record without the key.
        self.assertEqual(sorted(r["ops_per_s"] for r in runs), [50, 200, 300])
        self.assertEqual(sorted(records.load_label(r) for r in runs), ["", "", "paced 5000/s"])
        compared = records.comparisons(runs)
        self.assertEqual([c["pontoon"]["ops_per_s"] for c in compared], [200])

    def test_a_line_that_is_not_json_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = write_lines(d, "bad.jsonl", '{"tool": "x"}\n{"tool": \n')
            with self.assertRaisesRegex(records.InputError, r"bad\.jsonl:2: not JSON"):
                records.read_records([path])

    def test_a_run_missing_a_key_is_refused_naming_it(self):
        with tempfile.TemporaryDirectory() as d:
            path = write_lines(d, "short.jsonl", '{"tool": "raft-bench", "workload": "write"}\n')
            with self.assertRaisesRegex(records.InputError, r"short\.jsonl:1: missing .*clients"):
                records.read_records([path])

    def test_a_missing_file_is_an_input_error(self):
        with self.assertRaisesRegex(records.InputError, "cannot read /nonexistent"):
            records.read_records(["/nonexistent/runs.jsonl"])


class ComparisonTest(unittest.TestCase):
    def setUp(self):
        runs, _ = records.read_records([SAMPLE])
        self.rows = records.comparisons(runs)

    def test_pairs_share_workload_payload_and_clients(self):
        pairs = [(r["workload"], r["pontoon"]["clients"], r["etcd"]["workload"]) for r in self.rows]
        self.assertEqual(pairs, [("read-index", 64, "etcd-linearizable-read"),
                                 ("write", 1, "write"), ("write", 64, "write")])

    def test_ratios_are_pontoon_over_etcd(self):
        text = markdown.ratio_table(self.rows)
        # write, 64 clients: 4000 / 2000 ops/s, p50 8 / 16, p99 20 / 40, CPU 0.1 / 0.2.
        self.assertIn("| write | 256 B | 64 | rocksdb | 4,000 | 2,000 | 2.00× | 0.50× | 0.50× | 0.50× |",
                      text)
        # read-index against etcd's linearizable range: 9000 / 3000.
        self.assertIn("| read-index vs etcd-linearizable-read | 256 B | 64 | rocksdb | 9,000 | "
                      "3,000 | 3.00× | 0.50× | 0.25× | 0.50× |", text)

    def test_an_unknown_or_zero_denominator_has_no_ratio(self):
        self.assertIsNone(records.ratio(1.0, None))
        self.assertIsNone(records.ratio(None, 1.0))
        self.assertIsNone(records.ratio(1.0, 0))


class MarkdownTest(unittest.TestCase):
    def setUp(self):
        runs, micro = records.read_records([SAMPLE])
        self.text = markdown.report("T", runs, micro, records.comparisons(runs), [], [])

    def test_one_table_per_tool_topology_workload_and_payload(self):
        headings = [l for l in self.text.splitlines() if l.startswith("### ")]
        self.assertEqual(headings, [
            "### etcd-bench: etcd-linearizable-read, processes, 256 B payload, read fraction 0.9",
            "### etcd-bench: write, processes, 256 B payload",
            "### raft-bench: read-index, processes, 256 B payload, read fraction 0.9",
            "### raft-bench: write, processes, 256 B payload",
            "### rpc-codec-bench",
        ])

    def test_rows_hold_the_figures_and_unknowns_are_dashes(self):
        # etcd write, 1 client: no fsync figures.
        self.assertIn("| etcd | etcd | 3 | 1 | closed loop | 250 | 3.00 | 6.00 | 6.00 | 12.00 | 0.400 | — | — | "
                      "120 | 0 |", self.text)
        self.assertIn("| pontoon | rocksdb | 3 | 64 | closed loop | 4,000 | 8.00 | 16.00 | 20.00 | 40.00 | 0.100 | "
                      "300 | 10.00 | 120 | 0 |", self.text)

    def test_rows_are_sorted_by_clients_within_a_table(self):
        section = self.text.split("### raft-bench: write")[1]
        self.assertLess(section.index("| pontoon | rocksdb | 3 | 1 |"),
                        section.index("| pontoon | rocksdb | 3 | 64 |"))

    def test_machine_and_time_span_are_stated(self):
        self.assertIn("Machine bench-host: 2 cores, kernel 6.1.0-test.", self.text)
        self.assertIn("Runs from 2026-12-02T01:00:00Z to 2026-12-02T01:07:00Z.", self.text)

    def test_micro_records_become_a_flat_table(self):
        self.assertIn("| message | direction | entries | frames_per_s | gb_per_s | "
                      "allocations_per_frame |", self.text)
        self.assertIn("| AppendEntriesRequest | encode | 32 | 123,456 | 1.25 | 104 |", self.text)


class CommandLineTest(unittest.TestCase):
    def run_report(self, *args):
        return subprocess.run([sys.executable, REPORT, *args], capture_output=True, text=True,
                              check=False)

    def test_writes_report_md_into_out(self):
        with tempfile.TemporaryDirectory() as d:
            done = self.run_report("--out", d, "--title", "Sample", "--no-plots", SAMPLE)
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(os.path.join(d, "report.md"), encoding="utf-8") as f:
                text = f.read()
            self.assertTrue(text.startswith("# Sample\n"))
            self.assertIn("## pontoon / etcd", text)

    def test_usage_errors_exit_2_with_a_message(self):
        for args, message in ((["--out"], "expected one argument"),
                              ([], "required: RUNS.jsonl"),
                              (["/nonexistent/x.jsonl"], "cannot read /nonexistent/x.jsonl")):
            done = self.run_report(*args)
            self.assertEqual(done.returncode, 2, args)
            self.assertIn(message, done.stderr)
            self.assertEqual(len(done.stderr.splitlines()), 1, done.stderr)


@unittest.skipUnless(shutil.which("gnuplot"), "gnuplot is not installed")
class PlotTest(unittest.TestCase):
    def test_throughput_and_latency_plots_as_png_and_svg(self):
        runs, _ = records.read_records([SAMPLE])
        with tempfile.TemporaryDirectory() as d:
            drawn = plots.draw(d, runs)
            self.assertEqual([name for _, name in drawn],
                             ["payload-256B-throughput.png", "payload-256B-latency.png"])
            for stem in ("payload-256B-throughput", "payload-256B-latency"):
                for extension in ("png", "svg"):
                    path = os.path.join(d, f"{stem}.{extension}")
                    self.assertGreater(os.path.getsize(path), 1000, path)
            with open(os.path.join(d, "payload-256B-throughput.svg"), encoding="utf-8") as f:
                svg = f.read()
            # One line per (target, workload, storage, topology).
            for title in ("pontoon write (rocksdb, processes)",
                          "pontoon read-index (rocksdb, processes)", "etcd write (processes)",
                          "etcd etcd-linearizable-read (processes)"):
                self.assertIn(title, svg)
            with open(os.path.join(d, "payload-256B-series3.dat"), encoding="utf-8") as f:
                data = f.read()
            # pontoon write (sorted fourth): both client counts, the repeat's figures.
            self.assertEqual(data.splitlines()[1:], ["1 500.0 1.5 3.0", "64 4000.0 8.0 20.0"])


if __name__ == "__main__":
    unittest.main()
