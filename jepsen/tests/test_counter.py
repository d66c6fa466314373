"""The counter checker: unique increment values, real-time bounds, and the final value."""

import unittest

from pontoon_jepsen import simulation
from pontoon_jepsen.counter import check_counter
from pontoon_jepsen.history import HistoryError, parse_history

from .builders import HistoryBuilder


def kinds(builder, **options):
    return [a["kind"] for a in check_counter(builder.history(), **options).anomalies]


class AcceptedTest(unittest.TestCase):
    def test_sequential_increments_and_reads(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 1)
        h.invoke(1, "incr", None, 5).ok(1, 6)
        h.invoke(0, "read").ok(0, 6)
        self.assertEqual(kinds(h), [])
        self.assertIs(check_counter(h.history()).valid, True)

    def test_a_read_concurrent_with_an_increment_may_see_either_value(self):
        for seen in (0, 1):
            with self.subTest(seen=seen):
                h = HistoryBuilder()
                h.invoke(0, "incr", None, 1)
                h.invoke(1, "get").ok(1, seen)
                h.ok(0, 1)
                self.assertEqual(kinds(h), [])

    def test_the_initial_value_shifts_every_bound(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 11)
        h.invoke(0, "read").ok(0, 11)
        self.assertEqual(kinds(h, initial=10), [])
        self.assertNotEqual(kinds(h), [])

    def test_keys_are_separate_counters(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", "a", 1).ok(0, 1)
        h.invoke(1, "incr", "b", 1).ok(1, 1)
        self.assertEqual(kinds(h), [])


class RejectedTest(unittest.TestCase):
    def test_two_increments_answering_the_same_value(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1)
        h.invoke(1, "incr", None, 1)
        h.ok(0, 1).ok(1, 1)
        self.assertEqual(kinds(h), ["duplicate-value"])

    def test_an_increment_applied_twice(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 2)  # Its first apply is invisible; 2 is too high.
        h.invoke(0, "read").ok(0, 2)
        self.assertEqual(kinds(h), ["increment-bounds", "final-value"])

    def test_a_stale_read(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 1)
        h.invoke(1, "read").ok(1, 0)
        h.invoke(0, "incr", None, 1).ok(0, 2)
        self.assertEqual(kinds(h), ["read-bounds"])
        anomaly = check_counter(h.history()).anomalies[0]
        self.assertEqual((anomaly["low"], anomaly["high"], anomaly["value"]), (1, 1, 0))
        self.assertIn("below what was acknowledged", anomaly["explanation"][0])

    def test_a_future_read(self):
        h = HistoryBuilder()
        h.invoke(1, "read").ok(1, 1)
        h.invoke(0, "incr", None, 1).ok(0, 1)
        self.assertEqual(kinds(h), ["read-bounds"])
        self.assertIn("above everything invoked",
                      check_counter(h.history()).anomalies[0]["explanation"][0])

    def test_a_lost_acknowledged_increment(self):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 1)
        h.invoke(0, "incr", None, 1).ok(0, 2)
        h.invoke(1, "read").ok(1, 1)
        self.assertEqual(kinds(h), ["final-value"])
        self.assertIn("outside acked..acked+unknown = 2..2",
                      check_counter(h.history()).anomalies[0]["explanation"][0])


class OutcomeTest(unittest.TestCase):
    """fail never counts; info may count, once, from its invoke on."""

    def final(self, value, outcome):
        h = HistoryBuilder()
        h.invoke(0, "incr", None, 1).ok(0, 1)
        h.invoke(1, "incr", None, 2)
        getattr(h, outcome)(1)
        h.invoke(0, "read").ok(0, value)
        return kinds(h)

    def test_an_info_increment_may_or_may_not_count(self):
        self.assertEqual(self.final(1, "info"), [])
        self.assertEqual(self.final(3, "info"), [])
        self.assertEqual(self.final(5, "info"), ["final-value"])

    def test_a_failed_increment_never_counts(self):
        self.assertEqual(self.final(1, "fail"), [])
        self.assertEqual(self.final(3, "fail"), ["final-value"])

    def test_an_increment_never_completed_counts_as_info(self):
        h = HistoryBuilder()
        h.invoke(1, "incr", None, 2)
        h.invoke(0, "read").ok(0, 2)
        self.assertEqual(kinds(h), [])

    def test_an_info_increment_does_not_count_before_its_invoke(self):
        h = HistoryBuilder()
        h.invoke(0, "read").ok(0, 2)
        h.invoke(1, "incr", None, 2).info(1)
        self.assertEqual(kinds(h), ["read-bounds"])


class ModelUsageTest(unittest.TestCase):
    def assertRejected(self, builder, line, fragment):
        with self.assertRaises(HistoryError) as raised:
            check_counter(builder.history())
        self.assertEqual(raised.exception.line, line)
        self.assertIn(fragment, str(raised.exception))

    def test_a_delta_that_is_not_a_positive_integer(self):
        for delta in (0, -1, 1.5, None):
            with self.subTest(delta=delta):
                self.assertRejected(HistoryBuilder().invoke(0, "incr", None, delta).ok(0, 1),
                                    1, "positive integer")

    def test_an_ok_increment_without_its_value(self):
        self.assertRejected(HistoryBuilder().invoke(0, "incr", None, 1).ok(0), 2,
                            "the counter after it")

    def test_an_ok_read_without_its_value(self):
        self.assertRejected(HistoryBuilder().invoke(0, "read").ok(0), 2, "the value read")

    def test_an_unknown_function(self):
        self.assertRejected(HistoryBuilder().invoke(0, "write", None, 1).ok(0), 1,
                            'no operation "write"')


class SimulatedTest(unittest.TestCase):
    def test_correct_counters_are_accepted_over_many_seeds(self):
        for seed in range(30):
            sim = simulation.simulate_counter(seed, ops=500, processes=2 + seed % 12,
                                              p_info=0.1, p_fail=0.05)
            with self.subTest(seed=seed):
                result = check_counter(parse_history(sim.lines()))
                self.assertEqual(result.anomalies, [])

    def test_each_injected_fault_is_found(self):
        expected = {"duplicate-apply": "final-value", "duplicate-value": "duplicate-value",
                    "stale-read": "read-bounds", "future-read": "read-bounds"}
        for fault, kind in expected.items():
            for seed in range(5):
                # A second apply hides behind an unknown increment that never applied, so
                # that fault is certain only when every unknown increment applies.
                sim = simulation.simulate_counter(
                    seed, ops=1000, processes=8, p_info=0.05,
                    info_applied=1.0 if fault == "duplicate-apply" else 0.5, fault=fault)
                with self.subTest(fault=fault, seed=seed):
                    self.assertTrue(sim.guaranteed)
                    result = check_counter(parse_history(sim.lines()))
                    self.assertIs(result.valid, False)
                    self.assertIn(kind, [a["kind"] for a in result.anomalies])

    def test_the_same_runs_without_the_fault_are_accepted(self):
        for info_applied in (0.5, 1.0):
            for seed in range(5):
                sim = simulation.simulate_counter(seed, ops=1000, processes=8, p_info=0.05,
                                                  info_applied=info_applied)
                with self.subTest(seed=seed, info_applied=info_applied):
                    self.assertIs(check_counter(parse_history(sim.lines())).valid, True)


if __name__ == "__main__":
    unittest.main()
