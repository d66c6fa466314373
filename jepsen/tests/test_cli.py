"""check.py: the verdict it prints and writes, and its exit status."""

import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

from pontoon_jepsen import cli

from .builders import HistoryBuilder

CHECK_PY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "check.py")


class CliTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        self.addCleanup(self.directory.cleanup)

    def write(self, lines, name="history.jsonl"):
        path = os.path.join(self.directory.name, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write("\n".join(lines) + "\n")
        return path

    def run_main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        status = cli.main(list(argv), out=out, err=err)
        return status, out.getvalue(), err.getvalue()

    def stale_register(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "write", "x", 2).ok(0)
        h.invoke(1, "read", "x").ok(1, 1)
        return self.write(h.lines())

    def test_a_valid_history_exits_0_with_a_json_verdict_last(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(1, "read", "x").ok(1, 1)
        status, out, _ = self.run_main("--model", "register", self.write(h.lines()))
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("VALID: register history of 2 operations over 1 key"))
        verdict = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(verdict, {"valid": True, "model": "register", "ops": 2, "keys": 1,
                                   "anomalies": [], "undecided": []})

    def test_an_invalid_history_exits_1_and_explains(self):
        status, out, _ = self.run_main("--model", "register", self.stale_register())
        self.assertEqual(status, 1)
        self.assertIn("INVALID", out)
        self.assertIn('key "x" is not linearizable', out)
        verdict = json.loads(out.strip().splitlines()[-1])
        self.assertIs(verdict["valid"], False)
        self.assertEqual([a["key"] for a in verdict["anomalies"]], ["x"])

    def test_the_verdict_can_go_to_a_file(self):
        path = os.path.join(self.directory.name, "verdict.json")
        status, out, _ = self.run_main("--model", "register", "--verdict", path,
                                       self.stale_register())
        self.assertEqual(status, 1)
        self.assertNotIn('"valid"', out)
        with open(path, encoding="utf-8") as stream:
            self.assertIs(json.load(stream)["valid"], False)

    def test_an_undecided_history_exits_3(self):
        h = HistoryBuilder()
        for n in range(5):
            h.invoke(0, "write", "x", n).ok(0)
            h.invoke(1, "read", "x").ok(1, n)
        status, out, _ = self.run_main("--model", "register", "--max-steps", "3",
                                       self.write(h.lines()))
        self.assertEqual(status, 3)
        self.assertEqual(json.loads(out.strip().splitlines()[-1])["undecided"], ["x"])

    def test_the_counter_model(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).invoke(1, "incr", None, 1)
        h.ok(0, 1).ok(1, 1)
        status, out, _ = self.run_main("--model", "counter", self.write(h.lines()))
        self.assertEqual(status, 1)
        verdict = json.loads(out.strip().splitlines()[-1])
        self.assertEqual([a["kind"] for a in verdict["anomalies"]], ["duplicate-value"])

    def test_a_malformed_line_exits_2_naming_it(self):
        path = self.write([HistoryBuilder().invoke(0, "read", "x").lines()[0], "{oops"])
        status, out, err = self.run_main("--model", "register", path)
        self.assertEqual((status, out), (2, ""))
        self.assertIn("line 2: not JSON", err)

    def test_a_history_of_the_wrong_model_exits_2(self):
        h = HistoryBuilder().invoke(0, "incr", None, 1).ok(0, 1)
        status, _, err = self.run_main("--model", "register", self.write(h.lines()))
        self.assertEqual(status, 2)
        self.assertIn('line 1: the register model has no operation "incr"', err)

    def test_a_missing_file_exits_2(self):
        status, _, err = self.run_main("--model", "counter",
                                       os.path.join(self.directory.name, "absent"))
        self.assertEqual(status, 2)
        self.assertIn("cannot read", err)

    def test_bad_usage_exits_2(self):
        path = self.stale_register()
        for argv in ([path], ["--model", "queue", path], ["--model", "register"],
                     ["--model", "register", "--max-steps", "0", path],
                     ["--model", "counter", "--initial", "null", path],
                     ["--model", "register", "--initial", "{", path]):
            with self.subTest(argv=argv):
                with self.assertRaises(SystemExit) as raised:
                    self.run_main(*argv)
                self.assertEqual(raised.exception.code, 2)

    def test_check_py_runs_as_a_program(self):
        done = subprocess.run([sys.executable, CHECK_PY, "--model", "register",
                               self.stale_register()], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("INVALID", done.stdout)


if __name__ == "__main__":
    unittest.main()
