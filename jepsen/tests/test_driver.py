"""The driver's pure parts: the wire encoding and the nemesis schedule."""

import unittest

import contextlib
import io
import os

from pontoon_jepsen import driver, nemesis, services, wire
from pontoon_jepsen.client import Client


class ArgumentsTest(unittest.TestCase):
    def test_the_command_line_builds_and_help_exits_0(self):
        # Building the parser raises on two options with one name; --help builds all of them.
        with contextlib.redirect_stdout(io.StringIO()) as out, \
                self.assertRaises(SystemExit) as exit_:
            driver._arguments(["--help"])
        self.assertEqual(exit_.exception.code, 0)
        for option in ("--raft-cli", "--read", "--slow-leader-rate", "--log-storage",
                       "--snapshot-interval-s"):
            self.assertIn(option, out.getvalue())


    def test_a_snapshot_interval_out_of_range_is_refused_naming_the_flag(self):
        for value in ("-1", "86401"):
            with contextlib.redirect_stderr(io.StringIO()) as err, \
                    self.assertRaises(SystemExit) as exit_:
                driver._arguments(["--service", "counter", "--out", "/tmp/x",
                                   "--snapshot-interval-s", value])
            self.assertEqual(exit_.exception.code, 2)
            self.assertIn("--snapshot-interval-s must be in [0, 86400]", err.getvalue())

    def test_the_replay_line_parses_back_to_the_same_run(self):
        argv = ["--service", "atomic", "--nodes", "3", "--time-limit-s", "40", "--nemesis",
                "slow-leader", "--seed", "7", "--clients", "12", "--pinned-readers", "2",
                "--keys", "5", "--read", "lease", "--max-clock-drift-ms", "0",
                "--slow-leader-rate", "0.15", "--snapshot-interval-s", "5", "--expect", "invalid",
                "--out", "/tmp/x",
                "--bin-dir", "/nonexistent"]
        namespace = _namespace(argv)
        words = driver.replay_command(namespace).split()
        self.assertEqual(words[:2], ["python3", "jepsen/run.py"])
        replayed = _namespace(words[2:-2] + ["--out", "/tmp/x", "--bin-dir", "/nonexistent"])
        for attr in ("service", "nodes", "nemesis", "seed", "time_limit_s", "clients",
                     "pinned_readers", "keys", "read", "max_clock_drift_ms",
                     "slow_leader_rate", "expect", "op_timeout_s", "log_storage",
                     "snapshot_interval_s"):
            self.assertEqual(getattr(replayed, attr), getattr(namespace, attr), attr)
        self.assertNotIn("--op-timeout-s", words)  # Defaults are left out.

    def test_servers_get_the_run_options_and_no_preallocation_under_a_full_disk(self):
        plain = _namespace(["--service", "counter", "--out", "/tmp/x", "--read", "lease",
                            "--snapshot-interval-s", "30"])
        self.assertEqual(driver.server_arguments(plain, nemesis.parse_nemesis("kill", 3)),
                         ["--read", "lease", "--snapshot-interval-s", "30"])
        full = driver.server_arguments(plain, nemesis.parse_nemesis("disk", 3))
        self.assertEqual(full[-1], "--no-log-preallocate")
        self.assertNotIn("--no-log-preallocate",
                         driver.server_arguments(plain, nemesis.parse_nemesis("disk-eio", 3)))


def _namespace(argv):
    """run.py's arguments as parsed, before the checks that need servers on disk."""
    return driver._parser().parse_args(argv)


class PinnedClientTest(unittest.TestCase):
    def test_a_pinned_client_stays_on_its_replica_whatever_it_is_told(self):
        client = Client(["127.0.0.1:1", "127.0.0.1:2"], 0.05, pinned_to="127.0.0.1:2")
        calls = []

        class NotLeader:
            def call(self, method_id, body, timeout_s):
                calls.append(method_id)
                raise wire.RpcError("EPERM", "not the leader; leader_hint=127.0.0.1:1")

            def close(self):
                pass

        client.connections["127.0.0.1:2"] = NotLeader()
        kind, _, _ = client.invoke(services.register_read("k0"))
        self.assertEqual(kind, "fail")
        self.assertGreater(len(calls), 1)  # It retried, and every time on its own replica.
        self.assertEqual(client.target, "127.0.0.1:2")
        self.assertEqual(list(client.connections), ["127.0.0.1:2"])

    def test_an_unpinned_client_follows_the_hint(self):
        client = Client(["127.0.0.1:1", "127.0.0.1:2"], 0.05)
        client.target = "127.0.0.1:2"

        class Answers:
            def __init__(self, error):
                self.error = error

            def call(self, method_id, body, timeout_s):
                if self.error:
                    raise wire.RpcError("EPERM", "leader_hint=127.0.0.1:1")
                return b""

            def close(self):
                pass

        client.connections = {"127.0.0.1:2": Answers(True), "127.0.0.1:1": Answers(False)}
        kind, _, _ = client.invoke(services.register_read("k0"))
        self.assertEqual((kind, client.target), ("ok", "127.0.0.1:1"))

    def test_a_write_lost_to_a_timeout_is_info_and_the_next_call_tries_another_replica(self):
        client = Client(["127.0.0.1:1", "127.0.0.1:2"], 0.05)

        class Silent:
            def call(self, method_id, body, timeout_s):
                raise wire.Lost("timed out")

            def close(self):
                pass

        client.connections = {"127.0.0.1:1": Silent()}
        kind, _, why = client.invoke(services.register_write("k0", 1))
        self.assertEqual(kind, "info")
        self.assertIn("127.0.0.1:1", why)
        self.assertEqual(client.target, "127.0.0.1:2")

    def test_a_reads_only_workload_only_reads(self):
        for service in (services.COUNTER, services.ATOMIC):
            workload = services.Workload(service, 3, 1, 5, reads_only=True)
            self.assertEqual({workload.next().f for _ in range(200)}, {"read"})


class LeaseWindowTest(unittest.TestCase):
    def test_reads_the_cut_off_node_served_after_a_write_elsewhere_are_an_overlap(self):
        endpoints = ["a:1", "b:1", "c:1"]
        s = 1_000_000_000
        nemesis_records = [
            {"time": 10 * s, "event": "start", "fault": "slow-leader", "nodes": [2]},
            {"time": 16 * s, "event": "stop", "fault": "slow-leader", "nodes": [2]},
            {"time": 20 * s, "event": "start", "fault": "slow-leader", "nodes": [3]},
            {"time": 26 * s, "event": "stop", "fault": "slow-leader", "nodes": [3]}]
        history = []
        for process, f, invoke_s, kind, complete_s, replica in [
                (1, "read", 8, "ok", 9, "b:1"),  # Before the cut.
                (2, "write", 9.5, "ok", 10.5, None),  # Invoked before the cut: not counted.
                (1, "read", 10.5, "ok", 11, "b:1"),
                (3, "read", 11.5, "ok", 12, "a:1"),  # Another node.
                (2, "write", 11, "ok", 12, None),
                (1, "read", 13, "ok", 14, "b:1"),  # After the write.
                (1, "read", 14, "info", 15, "b:1"),  # Not served.
                (4, "read", 20.5, "ok", 21, "c:1"),
                (5, "cas", 20.5, "fail", 21, None),  # Not acknowledged.
                (5, "fetch_add", 21.5, "ok", 22, None)]:
            history.append({"process": process, "type": "invoke", "f": f,
                            "time": int(invoke_s * s)})
            history.append({"process": process, "type": kind, "f": f,
                            "time": int(complete_s * s),
                            **({"replica": replica} if replica else {})})
        history.sort(key=lambda e: e["time"])
        first, second = nemesis.lease_windows(history, nemesis_records, endpoints)
        self.assertEqual((first.node, first.reads_served, first.last_read_s,
                          first.first_write_elsewhere_s, first.healed_s), (2, 2, 4.0, 2.0, 6.0))
        self.assertTrue(first.overlapped)
        self.assertEqual((second.node, second.reads_served, second.last_read_s,
                          second.first_write_elsewhere_s), (3, 1, 1.0, 2.0))
        self.assertFalse(second.overlapped)
        self.assertTrue(second.to_json()["overlapped"] is False)


class ExpectInvalidTest(unittest.TestCase):
    def test_any_anomaly_of_either_checker_counts_and_a_failed_node_check_does_not(self):
        import json
        import tempfile
        cases = [({"valid": False, "anomalies": [{"kind": "not-linearizable"}]}, True),
                 ({"valid": False, "anomalies": [{"kind": "read-bounds"}]}, True),
                 ({"valid": False, "anomalies": [],
                   "nemesis_checks": [{"ok": False, "check": "caught-up"}]}, False),
                 ({"valid": "unknown", "anomalies": [], "undecided": ["k1"]}, False)]
        for verdict, broken in cases:
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump(verdict, f)
            try:
                self.assertEqual(driver._not_linearizable(f.name), broken, verdict)
            finally:
                os.unlink(f.name)


class WireTest(unittest.TestCase):
    def test_integers_round_trip_through_their_protobuf_encodings(self):
        for value in (0, 1, -1, 63, -64, 2**31, -(2**31), 2**63 - 1, -(2**63)):
            fields = wire.decode_message(wire.field_sint64(1, value) + wire.field_varint(2, value))
            self.assertEqual(wire.get_sint64(fields, 1), value)
            self.assertEqual(wire.get_int64(fields, 2), value)

    def test_a_zero_field_is_omitted_as_proto3_does(self):
        self.assertEqual(wire.field_sint64(1, 0), b"")
        self.assertEqual(wire.field_bytes(1, b""), b"")

    def test_known_encodings(self):
        # sint64 -1 is zigzag 1; a key is length-delimited.
        self.assertEqual(wire.field_sint64(1, -1), b"\x08\x01")
        self.assertEqual(services.register_read("k1").body, b"\x0a\x02k1")

    def test_a_status_response_is_parsed(self):
        body = (wire.field_bytes(1, b"10.0.0.1:5") + wire.field_bytes(2, b"leader") +
                wire.field_varint(3, 7) + wire.field_bytes(4, b"10.0.0.1:5"))
        status = services.parse_status(body)
        self.assertEqual((status["role"], status["term"], status["leader"]),
                         ("leader", 7, "10.0.0.1:5"))


class NemesisTest(unittest.TestCase):
    def test_families_expand_and_unknown_names_are_refused(self):
        self.assertEqual(nemesis.parse_nemesis("kill", 3), nemesis.FAMILIES["kill"])
        self.assertNotIn("partition-ring", nemesis.parse_nemesis("partition", 3))
        self.assertIn("partition-ring", nemesis.parse_nemesis("all", 5))
        with self.assertRaisesRegex(ValueError, "unknown nemesis 'frobnicate'"):
            nemesis.parse_nemesis("kill,frobnicate", 3)
        with self.assertRaisesRegex(ValueError, "needs 5 nodes"):
            nemesis.parse_nemesis("partition-ring", 3)

    def test_the_same_seed_gives_the_same_schedule_within_the_time_limit(self):
        faults = nemesis.parse_nemesis("all", 5)
        first = nemesis.schedule(faults, 5, 42, 120)
        self.assertEqual(first, nemesis.schedule(faults, 5, 42, 120))
        self.assertNotEqual(first, nemesis.schedule(faults, 5, 43, 120))
        self.assertGreater(len(first), 5)
        for earlier, later in zip(first, first[1:]):
            self.assertLess(earlier.start_s + earlier.hold_s, later.start_s)  # One at a time.
        self.assertLessEqual(first[-1].start_s + first[-1].hold_s, 118)

    def test_a_ring_leaves_each_node_its_two_neighbours(self):
        ring = nemesis.Fault("partition-ring", 0, 1, [3, 1, 4, 5, 2],
                             [[1, 3], [1, 4], [4, 5], [2, 5], [2, 3]])
        cut = nemesis.blocked_pairs(ring, 5)
        for node in range(1, 6):
            reachable = [p for p in [(a, b) for a in range(1, 6) for b in range(a + 1, 6)]
                         if node in p and p not in cut]
            self.assertEqual(len(reachable), 2)

    def test_isolating_a_minority_cuts_exactly_the_pairs_across(self):
        halves = nemesis.Fault("partition-halves", 0, 1, [1, 2])
        self.assertEqual(sorted(nemesis.blocked_pairs(halves, 5)),
                         [(1, 3), (1, 4), (1, 5), (2, 3), (2, 4), (2, 5)])


class SkewAndDiskNemesisTest(unittest.TestCase):
    def test_the_new_families_expand_and_all_includes_them(self):
        self.assertEqual(nemesis.parse_nemesis("skew", 3),
                         ["skew-fast", "skew-slow", "skew-leader"])
        self.assertEqual(nemesis.parse_nemesis("disk", 3), ["disk-full-one", "disk-full-leader"])
        everything = nemesis.parse_nemesis("all", 3)
        self.assertIn("skew-leader", everything)
        self.assertIn("disk-full-one", everything)
        self.assertTrue(nemesis.needs_faketime(["kill-one", "skew-slow"]))
        self.assertFalse(nemesis.needs_faketime(["kill-one"]))
        self.assertTrue(nemesis.needs_disk_limits(["disk-full-leader"]))
        self.assertFalse(nemesis.needs_disk_limits(["skew-fast", "partition-one"]))

    def test_skews_carry_their_rate_drawn_from_the_seed(self):
        planned = nemesis.schedule(["skew-fast", "skew-slow", "skew-leader"], 3, 5, 300)
        self.assertEqual(planned, nemesis.schedule(["skew-fast", "skew-slow", "skew-leader"],
                                                   3, 5, 300))
        rates = {f.name: set() for f in planned}
        for fault in planned:
            rates[fault.name].add(fault.rate)
            self.assertEqual(len(fault.nodes), 0 if fault.name == "skew-leader" else 1)
        self.assertEqual(rates["skew-fast"], {nemesis.SKEW_FAST_RATE})
        self.assertEqual(rates["skew-slow"], {nemesis.SKEW_SLOW_RATE})
        self.assertEqual(rates["skew-leader"], {nemesis.SKEW_FAST_RATE, nemesis.SKEW_SLOW_RATE})

    def test_adding_families_leaves_the_old_faults_schedules_alone(self):
        # What seed 9 drew for kill,pause before skew and disk existed (commit 2ea5829): the
        # new faults draw nothing from the generator unless they are in the list.
        planned = nemesis.schedule(nemesis.parse_nemesis("kill,pause", 3), 3, 9, 30)
        self.assertEqual([(f.name, f.start_s, f.hold_s, f.nodes, f.rate) for f in planned],
                         [("kill-minority", 2.926, 4.12, [1], None),
                          ("pause-leader", 10.779, 3.019, [], None),
                          ("kill-all", 16.726, 4.814, [1, 2, 3], None)])

    def test_the_faketime_spec_starts_the_fake_monotonic_clock_at_the_real_one(self):
        # libfaketime 0.9.10 offsets CLOCK_MONOTONIC as if it were realtime; the offset
        # cancels that, so only the rate differs.
        self.assertEqual(nemesis.faketime_spec(2.0, 1_796_167_551.5, 15_062.25),
                         "-1796152489.250000 x2")
        self.assertEqual(nemesis.faketime_spec(0.5, 100.0, 100.0), "+0.000000 x0.5")
        with self.assertRaises(AssertionError):
            nemesis.faketime_spec(0, 1.0, 1.0)

    def test_storage_errors_naming_a_full_disk_are_found_in_a_server_log(self):
        log = "\n".join([
            "I 23:33:28.800000 node.cc:172] starting",
            "E 23:33:28.814072 rocksdb_log_storage.cc:220] EIO: group g: write (truncate after "
            "22874, append up to 22887): IO error: No space left on device: While appending",
            "E 23:34:18.047426 file_log_storage.cc:262] EIO: log write failed: write f: "
            "ENOSPC; refusing further changes until reopened",
            "E 23:34:19.000000 node.cc:481] stops on error: EIO: something else",
        ])
        errors = nemesis.storage_error_lines(log)
        self.assertEqual(len(errors), 2)
        self.assertIn("rocksdb_log_storage", errors[0])
        self.assertEqual(nemesis.storage_error_lines("I 00:00:00.0 x] all fine"), [])

    def test_a_log_time_span_is_read_from_the_timestamps(self):
        log = ("==== 23:59:00 starting ...\nI 23:59:59.500000 a.cc:1] x\nplain line\n"
               "W 00:00:01.000000 b.cc:2] y\n")
        self.assertAlmostEqual(nemesis.log_time_span_s(log), 1.5)  # Across midnight.
        self.assertIsNone(nemesis.log_time_span_s("I 10:00:00.000000 a.cc:1] only one\n"))

    def test_a_full_disk_must_be_reported_and_must_stop_the_node(self):
        line = "E 23:33:28.8 rocksdb_log_storage.cc:220] IO error: No space left on device"
        ok = nemesis.check_disk_fault(nemesis.DiskFaultReport("disk-full-one", 2, "error", [line]))
        self.assertTrue(ok["ok"])
        silent = nemesis.check_disk_fault(
            nemesis.DiskFaultReport("disk-full-one", 2, "follower", []))
        self.assertFalse(silent["ok"])
        self.assertIn("no storage error naming ENOSPC", silent["detail"])
        serving = nemesis.check_disk_fault(
            nemesis.DiskFaultReport("disk-full-leader", 3, "leader", [line]))
        self.assertFalse(serving["ok"])
        self.assertIn("still says role leader", serving["detail"])
        crashed = nemesis.check_disk_fault(
            nemesis.DiskFaultReport("disk-full-one", 1, "exited", [line]))
        self.assertFalse(crashed["ok"])


class DiskEioAndMembershipNemesisTest(unittest.TestCase):
    def test_the_families_expand_and_all_leaves_membership_out(self):
        self.assertEqual(nemesis.parse_nemesis("disk-eio", 3), ["disk-eio-one", "disk-eio-leader"])
        self.assertEqual(nemesis.parse_nemesis("membership", 3), ["churn-remove-add"])
        everything = nemesis.parse_nemesis("all", 3)
        self.assertIn("disk-eio-leader", everything)
        self.assertNotIn("churn-remove-add", everything)
        self.assertEqual(nemesis.parse_nemesis("all,churn-remove-add", 3)[-1], "churn-remove-add")
        # The failing disk needs the test hook, not a tmpfs; churn needs raft-cli.
        self.assertTrue(nemesis.needs_disk_eio(["kill-one", "disk-eio-one"]))
        self.assertFalse(nemesis.needs_disk_eio(["disk-full-one"]))
        self.assertFalse(nemesis.needs_disk_limits(["disk-eio-one", "disk-eio-leader"]))
        self.assertTrue(nemesis.needs_disk_limits(["disk-eio-one", "disk-full-one"]))
        self.assertTrue(nemesis.needs_raft_cli(["churn-remove-add"]))
        self.assertFalse(nemesis.needs_raft_cli(["disk-eio-one"]))

    def test_churn_removes_the_leader_a_share_of_the_time_drawn_from_the_seed(self):
        planned = nemesis.schedule(["churn-remove-add"], 5, 3, 600)
        self.assertEqual(planned, nemesis.schedule(["churn-remove-add"], 5, 3, 600))
        leader = [f for f in planned if not f.nodes]
        chosen = [f for f in planned if f.nodes]
        self.assertGreater(len(leader), 0)
        self.assertGreater(len(chosen), len(leader))
        for fault in chosen:
            self.assertEqual(len(fault.nodes), 1)
            self.assertIn(fault.nodes[0], range(1, 6))

    def test_the_injected_eio_is_found_in_a_server_log_and_enospc_is_not_taken_for_it(self):
        log = "\n".join([
            "W 01:00:00.000000 replica_server.cc:50] test hook --inject-disk-eio-on-signal: "
            "SIGUSR2 armed the injected disk fault; every log and meta write and log read now "
            "fails with EIO",
            "E 01:00:00.100000 log_manager.cc:218] group g: log write failed: EIO: injected "
            "disk fault (test hook --inject-disk-eio-on-signal): log write failed",
            "E 01:00:00.100100 node.cc:482] group g peer p: stops on error: EIO: injected disk "
            "fault (test hook --inject-disk-eio-on-signal): log write failed",
            "E 01:00:00.2 rocksdb_log_storage.cc:220] IO error: No space left on device",
            # A follower that failed to store a new term before any log write (seen in a run).
            "E 02:30:53.153764 node.cc:482] group g peer p: stops on error: EIO: cannot persist "
            "term and vote: injected disk fault (test hook --inject-disk-eio-on-signal): term "
            "and vote write failed",
        ])
        eio = nemesis.storage_error_lines(log, "disk-eio-one")
        self.assertEqual(len(eio), 3)
        self.assertIn("cannot persist term and vote", eio[2])
        self.assertIn("log_manager.cc", eio[0])
        self.assertEqual(len(nemesis.storage_error_lines(log, "disk-full-one")), 1)

    def test_a_failing_disk_must_be_reported_and_must_stop_the_node(self):
        line = "E 01:00:00.1 node.cc:482] stops on error: EIO: injected disk fault (x): log write"
        ok = nemesis.check_disk_fault(nemesis.DiskFaultReport("disk-eio-leader", 1, "error",
                                                              [line]))
        self.assertTrue(ok["ok"])
        self.assertEqual(ok["check"], "disk-eio-reported")
        silent = nemesis.check_disk_fault(nemesis.DiskFaultReport("disk-eio-one", 2, "follower",
                                                                  []))
        self.assertFalse(silent["ok"])
        self.assertIn("injected EIO", silent["detail"])
        leading = nemesis.check_disk_fault(nemesis.DiskFaultReport("disk-eio-leader", 3,
                                                                   "leader", [line]))
        self.assertFalse(leading["ok"])
        self.assertIn("still says role leader", leading["detail"])


if __name__ == "__main__":
    unittest.main()
