"""The register checker: which histories are linearizable, and what it says when one is not."""

import json
import random
import time
import unittest

from pontoon_jepsen import simulation
from pontoon_jepsen.history import FAIL, INFO, OK, HistoryError, parse_history
from pontoon_jepsen.register import UNKNOWN, add_wrapping, canonical, check_register

from .builders import HistoryBuilder


def check(builder, **options):
    return check_register(builder.history(), **options)


def only_anomaly(test, result):
    test.assertIs(result.valid, False)
    test.assertEqual(len(result.anomalies), 1, result.anomalies)
    return result.anomalies[0]


class AcceptedTest(unittest.TestCase):
    def test_sequential_writes_and_reads(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "read", "x").ok(0, 1)
        h.invoke(1, "write", "x", 2).ok(1)
        h.invoke(0, "read", "x").ok(0, 2)
        self.assertIs(check(h).valid, True)

    def test_a_read_concurrent_with_a_write_may_see_either_value(self):
        for seen in (1, 2):
            with self.subTest(seen=seen):
                h = HistoryBuilder()
                h.invoke(0, "write", "x", 1).ok(0)
                h.invoke(0, "write", "x", 2)
                h.invoke(1, "read", "x").ok(1, seen)
                h.ok(0)
                self.assertIs(check(h).valid, True)

    def test_reads_of_an_unwritten_key_see_the_initial_value(self):
        h = HistoryBuilder()
        h.invoke(0, "read", "x").ok(0, None)
        h.invoke(0, "get", "y").ok(0, 0)
        self.assertIs(check(h).valid, False)
        self.assertIs(check(h, initial=0).valid, False)  # x read null, not 0.
        h2 = HistoryBuilder()
        h2.invoke(0, "get", "y").ok(0, 0)
        self.assertIs(check(h2, initial=0).valid, True)

    def test_compare_and_set_chains(self):
        h = HistoryBuilder()
        h.invoke(0, "set", "x", 1).ok(0)
        h.invoke(1, "compare_and_set", "x", [1, 2]).ok(1)
        h.invoke(0, "cas", "x", [2, 3]).ok(0)
        h.invoke(1, "read", "x").ok(1, 3)
        self.assertIs(check(h).valid, True)

    def test_an_order_found_only_by_backtracking(self):
        # Both writes are concurrent with everything; only write 2, read 2, write 1, read 1
        # works, and the search's first choice (write 1, invoked first) is wrong.
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1)
        h.invoke(1, "write", "x", 2)
        h.invoke(2, "read", "x").ok(2, 2)
        h.invoke(2, "read", "x").ok(2, 1)
        h.ok(0).ok(1)
        self.assertIs(check(h).valid, True)


class RejectedTest(unittest.TestCase):
    def test_a_stale_read(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "write", "x", 2).ok(0)
        h.invoke(1, "read", "x").ok(1, 1)
        anomaly = only_anomaly(self, check(h))
        self.assertEqual((anomaly["key"], anomaly["hint"]), ("x", "stale-read"))

    def test_a_lost_acknowledged_write(self):
        # Write 2 was acknowledged, then every read, by anyone, misses it.
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(1, "write", "x", 2).ok(1)
        h.invoke(2, "read", "x").ok(2, 1)
        h.invoke(1, "read", "x").ok(1, 1)
        anomaly = only_anomaly(self, check(h))
        self.assertEqual(anomaly["key"], "x")
        self.assertIn("must take effect", anomaly["explanation"][-1])

    def test_a_future_read(self):
        h = HistoryBuilder()
        h.invoke(0, "read", "x").ok(0, 5)
        h.invoke(1, "write", "x", 5).ok(1)
        anomaly = only_anomaly(self, check(h))
        self.assertEqual(anomaly["hint"], "future-read")

    def test_a_value_never_written(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(1, "read", "x").ok(1, 9)
        self.assertEqual(only_anomaly(self, check(h))["hint"], "never-written")

    def test_a_compare_and_set_that_succeeded_against_another_value(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(1, "cas", "x", [7, 2]).ok(1)
        self.assertIs(check(h).valid, False)

    def test_keys_are_independent_registers(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "a", 1).ok(0)
        h.invoke(1, "read", "b").ok(1, 1)
        h.invoke(1, "read", "a").ok(1, 1)
        anomaly = only_anomaly(self, check(h))
        self.assertEqual(anomaly["key"], "b")

    def test_values_compare_as_json(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", True).ok(0)
        h.invoke(0, "read", "x").ok(0, 1)
        self.assertIs(check(h).valid, False)
        h2 = HistoryBuilder()
        h2.invoke(0, "write", "x", {"a": [1, 2]}).ok(0)
        h2.invoke(0, "read", "x").ok(0, {"a": [1, 2]})
        self.assertIs(check(h2).valid, True)

    def test_the_explanation_shows_the_prefix_and_the_stuck_operations(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "write", "x", 2).ok(0)
        h.invoke(1, "read", "x").ok(1, 1)
        text = "\n".join(only_anomaly(self, check(h))["explanation"])
        self.assertIn('key "x" is not linearizable', text)
        self.assertIn("places 2 of 3 operations, leaving the register at 2", text)
        self.assertIn("process 0 write 2 -> ok [index 2..3, line 3..4]   => 2", text)
        self.assertIn("process 1 read -> 1 ok [index 4..5, line 5..6]: needs 1, the register "
                      "holds 2", text)


class OutcomeTest(unittest.TestCase):
    """fail: never took effect. info: may take effect once, any time after its invoke."""

    def test_a_failed_writes_value_is_never_read(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).fail(0)
        h.invoke(1, "read", "x").ok(1, 1)
        self.assertEqual(only_anomaly(self, check(h))["hint"], "failed-write-read")

    def test_a_failed_cas_has_no_effect(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "cas", "x", [1, 2]).fail(0)
        h.invoke(1, "read", "x").ok(1, 1)
        self.assertIs(check(h).valid, True)
        h.invoke(1, "read", "x").ok(1, 2)
        self.assertIs(check(h).valid, False)

    def test_an_info_writes_value_may_be_read_long_after(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).info(0)
        for _ in range(5):
            h.invoke(1, "read", "x").ok(1, None)
        h.invoke(1, "read", "x").ok(1, 1)
        self.assertIs(check(h).valid, True)

    def test_an_info_write_may_never_take_effect(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).info(0)
        h.invoke(1, "read", "x").ok(1, None)
        self.assertIs(check(h).valid, True)

    def test_an_invoke_never_completed_is_an_info(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1)
        h.invoke(1, "read", "x").ok(1, 1)
        self.assertIs(check(h).valid, True)

    def test_an_info_write_does_not_take_effect_before_its_invoke(self):
        h = HistoryBuilder()
        h.invoke(1, "read", "x").ok(1, 1)
        h.invoke(0, "write", "x", 1).info(0)
        self.assertEqual(only_anomaly(self, check(h))["hint"], "future-read")

    def test_an_info_write_takes_effect_at_most_once(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).info(0)
        h.invoke(1, "write", "x", 2).ok(1)
        h.invoke(1, "read", "x").ok(1, 1)
        h.invoke(1, "write", "x", 3).ok(1)
        h.invoke(1, "read", "x").ok(1, 1)
        self.assertIs(check(h).valid, False)

    def test_an_info_cas_takes_effect_only_from_its_expected_value(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(0, "cas", "x", [5, 2]).info(0)
        h.invoke(1, "read", "x").ok(1, 2)
        self.assertIs(check(h).valid, False)
        h2 = HistoryBuilder()
        h2.invoke(0, "write", "x", 1).ok(0)
        h2.invoke(0, "cas", "x", [1, 2]).info(0)
        h2.invoke(1, "read", "x").ok(1, 2)
        self.assertIs(check(h2).valid, True)

    def test_an_info_read_constrains_nothing(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 1).ok(0)
        h.invoke(1, "read", "x").info(1)
        self.assertIs(check(h).valid, True)


class ModelUsageTest(unittest.TestCase):
    def assertRejected(self, builder, line, fragment):
        with self.assertRaises(HistoryError) as raised:
            check(builder)
        self.assertEqual(raised.exception.line, line)
        self.assertIn(fragment, str(raised.exception))

    def test_an_unknown_function(self):
        self.assertRejected(HistoryBuilder().invoke(0, "incr", "x", 1).ok(0), 1,
                            'no operation "incr"')

    def test_a_missing_key(self):
        self.assertRejected(HistoryBuilder().invoke(0, "write", None, 1).ok(0), 1, '"key"')

    def test_a_write_without_a_value(self):
        self.assertRejected(HistoryBuilder().invoke(0, "write", "x").ok(0), 1, '"value"')

    def test_a_cas_without_a_pair(self):
        self.assertRejected(HistoryBuilder().invoke(0, "cas", "x", [1]).fail(0), 1,
                            "[expected, new]")

    def test_an_ok_read_without_a_value(self):
        self.assertRejected(HistoryBuilder().invoke(0, "read", "x").ok(0), 2, "must carry")


class FetchAddTest(unittest.TestCase):
    """fetch_add: "value" the delta, ok "value" the register before; registers start at 0."""

    def test_sequential_fetch_adds_answer_the_value_before(self):
        h = HistoryBuilder()
        h.invoke(0, "fetch_add", "x", 5).ok(0, 0)
        h.invoke(1, "fetch_add", "x", -2).ok(1, 5)
        h.invoke(0, "read", "x").ok(0, 3)
        h.invoke(0, "cas", "x", [3, 10]).ok(0)
        h.invoke(1, "fetch_add", "x", 1).ok(1, 10)
        h.invoke(1, "read", "x").ok(1, 11)
        self.assertIs(check(h, initial=0).valid, True)

    def test_a_fetch_add_answering_a_wrong_previous_value_is_caught(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 7).ok(0)
        h.invoke(1, "fetch_add", "x", 1).ok(1, 6)  # The register held 7.
        anomaly = only_anomaly(self, check(h, initial=0))
        self.assertEqual(anomaly["key"], "x")
        self.assertIn("fetch_add", anomaly["blocking"])

    def test_two_fetch_adds_cannot_both_see_the_same_previous_value(self):
        h = HistoryBuilder()
        h.invoke(0, "fetch_add", "x", 1)
        h.invoke(1, "fetch_add", "x", 1)
        h.ok(0, 0)
        h.ok(1, 0)  # A lost update.
        only_anomaly(self, check(h, initial=0))
        h2 = HistoryBuilder()
        h2.invoke(0, "fetch_add", "x", 1)
        h2.invoke(1, "fetch_add", "x", 1)
        h2.ok(0, 1)
        h2.ok(1, 0)  # Concurrent: either order.
        self.assertIs(check(h2, initial=0).valid, True)

    def test_a_read_missing_an_acknowledged_fetch_add_is_stale(self):
        h = HistoryBuilder()
        h.invoke(0, "fetch_add", "x", 4).ok(0, 0)
        h.invoke(1, "read", "x").ok(1, 0)
        self.assertEqual(only_anomaly(self, check(h, initial=0))["hint"], "stale-read")

    def test_an_info_fetch_add_may_have_been_applied_once_or_never(self):
        for seen, valid in ((10, True), (13, True), (16, False), (11, False)):
            with self.subTest(seen=seen):
                h = HistoryBuilder()
                h.invoke(0, "write", "x", 10).ok(0)
                h.invoke(1, "fetch_add", "x", 3).info(1)
                h.invoke(0, "read", "x").ok(0, seen)
                self.assertIs(check(h, initial=0).valid, valid)

    def test_an_info_fetch_add_is_not_applied_before_its_invoke(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 10).ok(0)
        h.invoke(0, "read", "x").ok(0, 13)
        h.invoke(1, "fetch_add", "x", 3).info(1)
        only_anomaly(self, check(h, initial=0))

    def test_an_info_fetch_add_may_add_to_a_value_nobody_read(self):
        # The write of 5 is unknown and nobody reads 5, but the unknown fetch_add may turn it
        # into the 8 that is read: neither may be dropped as unobserved.
        h = HistoryBuilder()
        h.invoke(0, "write", "x", 5).info(0)
        h.invoke(1, "fetch_add", "x", 3).info(1)
        h.invoke(2, "read", "x").ok(2, 8)
        self.assertIs(check(h, initial=0).valid, True)
        # Two acknowledged writes, neither read: which one the info fetch_add adds to matters.
        h2 = HistoryBuilder()
        h2.invoke(0, "write", "x", 1).ok(0)
        h2.invoke(0, "write", "x", 2).ok(0)
        h2.invoke(1, "fetch_add", "x", 10).info(1)
        h2.invoke(2, "read", "x").ok(2, 12)
        self.assertIs(check(h2, initial=0).valid, True)
        h3 = HistoryBuilder()
        h3.invoke(0, "write", "x", 1).ok(0)
        h3.invoke(0, "write", "x", 2).ok(0)
        h3.invoke(1, "fetch_add", "x", 10).info(1)
        h3.invoke(2, "read", "x").ok(2, 11)  # 1 was overwritten before the fetch_add began.
        only_anomaly(self, check(h3, initial=0))

    def test_info_fetch_adds_chain(self):
        h = HistoryBuilder()
        h.invoke(1, "fetch_add", "x", 3).info(1)
        h.invoke(2, "fetch_add", "x", 4).info(2)
        h.invoke(0, "read", "x").ok(0, 7)
        self.assertIs(check(h, initial=0).valid, True)
        h.invoke(0, "read", "x").ok(0, 3)  # Neither can be taken back.
        only_anomaly(self, check(h, initial=0))

    def test_a_fetch_add_needs_an_integer_register(self):
        h = HistoryBuilder()
        h.invoke(0, "write", "x", "text").ok(0)
        h.invoke(1, "fetch_add", "x", 1).info(1)
        h.invoke(0, "read", "x").ok(0, "text")
        self.assertIs(check(h).valid, True)  # The fetch_add never took effect.
        h2 = HistoryBuilder()
        h2.invoke(1, "fetch_add", "x", 1).info(1)
        h2.invoke(0, "read", "x").ok(0, 1)
        only_anomaly(self, check(h2))  # null + 1 is nothing.
        self.assertIs(check(h2, initial=0).valid, True)

    def test_fetch_add_wraps_around_as_a_signed_64_bit_integer(self):
        top = (1 << 63) - 1
        h = HistoryBuilder()
        h.invoke(0, "write", "x", top).ok(0)
        h.invoke(0, "fetch_add", "x", 1).ok(0, top)
        h.invoke(0, "read", "x").ok(0, -(1 << 63))
        self.assertIs(check(h, initial=0).valid, True)

    def test_a_failed_fetch_add_had_no_effect_and_an_info_one_of_zero_none(self):
        h = HistoryBuilder()
        h.invoke(0, "fetch_add", "x", 5).fail(0)
        h.invoke(1, "fetch_add", "x", 0).info(1)
        h.invoke(0, "read", "x").ok(0, 0)
        result = check(h, initial=0)
        self.assertIs(result.valid, True)
        self.assertEqual(result.keys[0].dropped_info, 1)
        h.invoke(0, "read", "x").ok(0, 5)
        only_anomaly(self, check(h, initial=0))

    def test_a_fetch_add_without_an_integer_delta_or_result(self):
        h = HistoryBuilder()
        h.invoke(0, "fetch_add", "x", "one").ok(0, 0)
        with self.assertRaisesRegex(HistoryError, "integer"):
            check(h)
        h2 = HistoryBuilder()
        h2.invoke(0, "fetch_add", "x", 1).ok(0, "zero")
        with self.assertRaisesRegex(HistoryError, "integer"):
            check(h2)


class BudgetTest(unittest.TestCase):
    @staticmethod
    def sixty_steps():
        h = HistoryBuilder()
        for n in range(30):  # Each operation is one step of the search.
            h.invoke(0, "write", "x", n).ok(0)
            h.invoke(1, "read", "x").ok(1, n)
        return h

    def test_a_key_over_the_step_budget_is_undecided_not_guessed(self):
        h = self.sixty_steps()
        h.invoke(0, "read", "y").ok(0, None)
        result = check(h, max_steps_per_key=10)
        self.assertEqual(result.valid, UNKNOWN)
        self.assertEqual(result.undecided, ["x"])
        self.assertEqual([k.steps for k in result.keys if k.key == "x"], [11])
        self.assertIs(check(h).valid, True)

    def test_an_invalid_key_outweighs_an_undecided_one(self):
        h = self.sixty_steps()
        h.invoke(0, "read", "y").ok(0, 4)
        self.assertIs(check(h, max_steps_per_key=10).valid, False)


def brute_force_linearizable(history, initial=None):
    """Tries every order of the ok and info (optional) operations, per key. Tiny inputs only."""
    by_key = {}
    for op in history.operations:
        if op.status == FAIL or (op.status == INFO and op.f in ("read", "get")):
            continue
        by_key.setdefault(op.key, []).append(op)

    illegal = object()

    def step(state, op):
        if op.f in ("read", "get"):
            return state if state == canonical(op.result) else illegal
        if op.f in ("write", "set"):
            return canonical(op.value)
        if op.f == "fetch_add":
            if type(state) is not int:
                return illegal
            if op.status == OK and state != op.result:
                return illegal
            return add_wrapping(state, op.value)
        return canonical(op.value[1]) if state == canonical(op.value[0]) else illegal

    def search(state, left):
        if all(op.status != OK for op in left):
            return True
        for op in left:
            # op may go next only if no other unplaced op completed before op was invoked.
            if any(o.status == OK and o.complete_position < op.invoke_position for o in left):
                continue
            after = step(state, op)
            if after is not illegal and search(after, [o for o in left if o is not op]):
                return True
        return False

    return all(search(canonical(initial), ops) for ops in by_key.values())


def random_history(rng, processes=3, events=16, values=3, keys=1):
    """A random history over few values (so values repeat); reads return null or a value
    some write or cas on the key was invoked with, so about a fifth are linearizable."""
    lines = []
    open_ops = {}
    written = {}  # key -> values invoked so far
    for index in range(events):
        process = rng.randrange(processes)
        if process in open_ops:
            f, key = open_ops.pop(process)
            outcome = rng.choices(["ok", "fail", "info"], [6, 1, 1])[0]
            event = {"type": outcome, "f": f, "key": key}
            if outcome == "ok" and f == "read":
                event["value"] = rng.choice([None] + written.get(key, []))
        else:
            f = rng.choice(["read", "read", "write", "cas"])
            key = f"k{rng.randrange(keys)}"
            event = {"type": "invoke", "f": f, "key": key}
            if f == "write":
                event["value"] = rng.randrange(values)
                written.setdefault(key, []).append(event["value"])
            elif f == "cas":
                event["value"] = [rng.choice([None, rng.randrange(values)]),
                                  rng.randrange(values)]
                written.setdefault(key, []).append(event["value"][1])
            open_ops[process] = (f, key)
        event.update(process=process, time=index, index=index)
        lines.append(json.dumps(event))
    return parse_history(lines)


def random_history_with_adds(rng, processes=3, events=16, values=3, keys=1):
    """Like random_history over integers from 0, with fetch_adds of 1 or 2 (ok: a previous
    value near what could be there), so that sums collide with written values."""
    lines = []
    open_ops = {}
    for index in range(events):
        process = rng.randrange(processes)
        if process in open_ops:
            f, key = open_ops.pop(process)
            outcome = rng.choices(["ok", "fail", "info"], [6, 1, 2])[0]
            event = {"type": outcome, "f": f, "key": key}
            if outcome == "ok" and f in ("read", "fetch_add"):
                event["value"] = rng.randrange(values + 3)
        else:
            f = rng.choice(["read", "write", "cas", "fetch_add", "fetch_add"])
            key = f"k{rng.randrange(keys)}"
            event = {"type": "invoke", "f": f, "key": key}
            if f == "write":
                event["value"] = rng.randrange(values)
            elif f == "cas":
                event["value"] = [rng.randrange(values), rng.randrange(values)]
            elif f == "fetch_add":
                event["value"] = rng.choice([1, 2])
            open_ops[process] = (f, key)
        event.update(process=process, time=index, index=index)
        lines.append(json.dumps(event))
    return parse_history(lines)


class ReferenceTest(unittest.TestCase):
    def test_agrees_with_trying_every_order_with_fetch_adds(self):
        rng = random.Random(11)
        verdicts = {True: 0, False: 0}
        for n in range(2000):
            history = random_history_with_adds(rng, keys=1 + n % 2)
            expected = brute_force_linearizable(history, initial=0)
            with self.subTest(n=n):
                self.assertIs(check_register(history, initial=0).valid, expected)
            verdicts[expected] += 1
        self.assertGreater(verdicts[True], 100)
        self.assertGreater(verdicts[False], 300)

    def test_agrees_with_trying_every_order_on_random_small_histories(self):
        rng = random.Random(7)
        verdicts = {True: 0, False: 0}
        for n in range(2000):
            history = random_history(rng, keys=1 + n % 2)
            expected = brute_force_linearizable(history)
            with self.subTest(n=n):
                self.assertIs(check_register(history).valid, expected)
            verdicts[expected] += 1
        # Both kinds were exercised, enough to mean something.
        self.assertGreater(verdicts[True], 300)
        self.assertGreater(verdicts[False], 300)


class SimulatedTest(unittest.TestCase):
    def test_correct_registers_are_accepted_over_many_seeds(self):
        for seed in range(30):
            processes = 3 + seed % 10
            keys = 1 + seed % 4
            sim = simulation.simulate_register(seed, ops=400, processes=processes, keys=keys,
                                               p_info=0.1, p_fail=0.05)
            with self.subTest(seed=seed):
                result = check_register(parse_history(sim.lines()))
                self.assertIs(result.valid, True, result.anomalies)

    def test_a_hot_key_with_many_processes_is_accepted(self):
        sim = simulation.simulate_register(3, ops=2000, processes=20, keys=1)
        self.assertIs(check_register(parse_history(sim.lines())).valid, True)

    def test_each_injected_fault_is_found_on_its_key(self):
        for fault in simulation.REGISTER_FAULTS:
            for seed in range(5):
                sim = simulation.simulate_register(seed, ops=1500, processes=8, keys=3,
                                                   p_info=0.05, fault=fault)
                with self.subTest(fault=fault, seed=seed):
                    self.assertTrue(sim.guaranteed)
                    result = check_register(parse_history(sim.lines()))
                    self.assertIs(result.valid, False)
                    self.assertIn(sim.fault_key, [a["key"] for a in result.anomalies])

    def test_with_fetch_adds_correct_runs_pass_and_faults_are_found(self):
        for seed in range(10):
            sim = simulation.simulate_register(seed, ops=1500, processes=8, keys=3, p_info=0.1,
                                               initial=0, p_fetch_add=0.2)
            with self.subTest(seed=seed):
                result = check_register(parse_history(sim.lines()), initial=0)
                self.assertIs(result.valid, True, result.anomalies)
        for fault in simulation.REGISTER_FAULTS:
            for seed in range(3):
                sim = simulation.simulate_register(seed, ops=1500, processes=8, keys=3,
                                                   p_info=0.05, fault=fault, initial=0,
                                                   p_fetch_add=0.2)
                with self.subTest(fault=fault, seed=seed):
                    self.assertTrue(sim.guaranteed)
                    result = check_register(parse_history(sim.lines()), initial=0)
                    self.assertIs(result.valid, False)
                    self.assertIn(sim.fault_key, [a["key"] for a in result.anomalies])

    def test_100000_operations_with_fetch_adds_over_20_keys_are_decided_quickly(self):
        sim = simulation.simulate_register(1, ops=100_000, processes=30, keys=20, p_info=0.05,
                                           initial=0, p_fetch_add=0.1)
        history = parse_history(sim.lines())
        started = time.perf_counter()
        result = check_register(history, initial=0)
        elapsed = time.perf_counter() - started
        self.assertIs(result.valid, True)
        self.assertLess(elapsed, 60.0)  # About 10 s on one unloaded core.

    def test_the_same_run_without_the_fault_is_accepted(self):
        # The control for the test above: the detections come from the faults.
        for seed in range(5):
            sim = simulation.simulate_register(seed, ops=1500, processes=8, keys=3, p_info=0.05)
            with self.subTest(seed=seed):
                self.assertIs(check_register(parse_history(sim.lines())).valid, True)


if __name__ == "__main__":
    unittest.main()
