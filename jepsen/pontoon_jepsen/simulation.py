"""Histories of simulated services, for the checkers' tests and benchmark.

A simulation runs concurrent processes against one in-memory service on virtual time: each
process invokes an operation, the operation takes effect atomically at a random instant, and
the process hears back later. Some operations are rejected (fail: never applied) and some lose
their answer (info: applied with a given probability, at any instant after the invoke, even
after the process gave up). The service is correct unless a fault is asked for; each fault is
injected so that the resulting history is certainly not linearizable, and the simulation says
so in `SimulationResult.guaranteed` (a fault that could not be made certain is retried later).

Everything is driven by one random.Random(seed), so a seed reproduces a history exactly.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import random
from typing import Any, Callable, Optional

from . import register

REGISTER_FAULTS = ("stale-read", "lost-write", "future-read")
COUNTER_FAULTS = ("duplicate-apply", "duplicate-value", "stale-read", "future-read")


@dataclasses.dataclass
class SimulationResult:
    events: list[dict]  # The history, in order.
    fault: Optional[str] = None
    fault_key: Optional[str] = None
    guaranteed: bool = False  # The fault was injected so that no linearization exists.

    def lines(self) -> list[str]:
        return [json.dumps(e) for e in self.events]


@dataclasses.dataclass
class _Op:
    process: int
    f: str
    key: Optional[str]
    value: Any
    outcome: str  # planned: ok, fail or info
    fault: Optional[str] = None
    result: Any = None
    applied: bool = False
    invoke_index: int = -1
    complete_index: Optional[int] = None


class _Simulator:
    """The event loop shared by the register and counter simulations."""

    def __init__(self, rng: random.Random, processes: int, ops: int, p_info: float,
                 p_fail: float, info_applied: float):
        self.rng = rng
        self.processes = processes
        self.ops = ops
        self.p_info = p_info
        self.p_fail = p_fail
        self.info_applied = info_applied
        self.events: list[dict] = []
        self.queue: list = []
        self.seq = 0
        self.issued = 0
        self.now = 0

    def at(self, time: int, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (time, self.seq, action))

    def record(self, op: _Op, kind: str, value: Any) -> int:
        event = {"process": op.process, "type": kind, "f": op.f}
        if op.key is not None:
            event["key"] = op.key
        if value is not None or kind == "ok":
            event["value"] = value
        event["time"] = self.now
        event["index"] = len(self.events)
        self.events.append(event)
        return event["index"]

    def delay(self, mean_ns: int) -> int:
        return 1 + int(self.rng.expovariate(1.0 / mean_ns))

    def run(self, next_op: Callable[[int], Optional[_Op]], apply: Callable[[_Op], None],
            complete: Callable[[_Op], None]) -> None:
        """Runs processes until `ops` operations were invoked and every effect happened."""
        def start(process: int) -> None:
            if self.issued >= self.ops:
                return
            op = next_op(process)
            if op is None:
                return
            self.issued += 1
            if op.outcome is None:
                roll = self.rng.random()
                op.outcome = "info" if roll < self.p_info else \
                    "fail" if roll < self.p_info + self.p_fail else "ok"
            op.invoke_index = self.record(op, "invoke", op.value)
            self.at(self.now + self.delay(400_000), lambda: effect(op))

        def effect(op: _Op) -> None:
            if op.outcome == "ok":
                apply(op)
                self.at(self.now + self.delay(400_000), lambda: finish(op))
                return
            if op.outcome == "info" and op.f not in ("read", "get") and \
                    self.rng.random() < self.info_applied:
                # The answer is lost; the effect may land before or long after the timeout.
                self.at(self.now + self.delay(3_000_000), lambda: apply(op))
            self.at(self.now + self.delay(1_000_000), lambda: finish(op))

        def finish(op: _Op) -> None:
            complete(op)
            value = op.result if op.outcome == "ok" else None
            if op.outcome == "ok" and op.f in ("write", "set", "cas", "compare_and_set"):
                value = op.value  # A fetch_add answers its result: the value before.
            op.complete_index = self.record(op, op.outcome, value)
            self.at(self.now + self.delay(200_000), lambda: start(op.process))

        for process in range(self.processes):
            self.at(self.delay(100_000), lambda p=process: start(p))
        while self.queue:
            self.now, _, action = heapq.heappop(self.queue)
            action()


def simulate_register(seed: int, ops: int = 2000, processes: int = 5, keys: int = 3,
                      p_info: float = 0.05, p_fail: float = 0.05, info_applied: float = 0.5,
                      fault: Optional[str] = None, initial: Any = None,
                      p_fetch_add: float = 0.0) -> SimulationResult:
    """Per-key registers with read, write (unique values), cas and, with `p_fetch_add`,
    fetch_add (of a multiple of 10**9, so that sums never equal a written value).

    REQUIRES: initial is an integer if p_fetch_add > 0 (fetch_add adds to an integer).

    Faults (process 0 runs a short script in the middle of the run, the others go on):
      stale-read   write x, write y (both ok), then a read answered x;
      lost-write   a write acknowledged but never applied, then a read that misses it and
                   returns a value written before the lost write was invoked;
      future-read  a read answered with a value that process 0 writes right afterwards.
    """
    assert fault is None or fault in REGISTER_FAULTS, fault
    assert p_fetch_add == 0 or type(initial) is int, initial
    rng = random.Random(seed)
    sim = _Simulator(rng, processes, ops, p_info, p_fail, info_applied)
    written_twice: set = set()  # Sums two fetch_adds made alike: no longer tell their writer.
    names = [f"k{n}" for n in range(keys)]
    state = {k: initial for k in names}
    writer: dict[Any, _Op] = {}  # value -> the op that wrote it (values are unique)
    counter = [0]
    result = SimulationResult(events=sim.events, fault=fault)
    script: list[_Op] = []
    armed = [fault is not None]
    lost: dict[str, _Op] = {}

    def fresh() -> int:
        counter[0] += 1
        return counter[0]

    def arm() -> None:
        key = rng.choice(names)
        result.fault_key = key
        if fault == "stale-read":
            x, y = fresh(), fresh()
            script.extend([_Op(0, "write", key, x, "ok"), _Op(0, "write", key, y, "ok"),
                           _Op(0, "read", key, None, "ok", fault="return:" + json.dumps(x))])
        elif fault == "lost-write":
            script.extend([_Op(0, "write", key, fresh(), "ok", fault="drop"),
                           _Op(0, "read", key, None, "ok", fault="confirm-lost")])
        else:
            script.append(_Op(0, "read", key, None, "ok", fault="future"))

    def next_op(process: int) -> Optional[_Op]:
        if process == 0 and armed[0] and sim.issued >= ops // 3:
            armed[0] = False
            arm()
        if process == 0 and script:
            return script.pop(0)
        key = rng.choice(names)
        if p_fetch_add and rng.random() < p_fetch_add:
            return _Op(process, "fetch_add", key, rng.randint(1, 9) * 1_000_000_000, None)
        roll = rng.random()
        if roll < 0.5:
            return _Op(process, "read", key, None, None)
        if roll < 0.8:
            return _Op(process, "write", key, fresh(), None)
        known = state[key] if rng.random() < 0.5 else rng.choice([initial, counter[0]])
        return _Op(process, "cas", key, [known, fresh()], None)

    def write(op: _Op, value: Any) -> None:
        state[op.key] = value
        if value in writer:
            written_twice.add(value)
        writer[value] = op
        op.applied = True

    def apply(op: _Op) -> None:
        if op.f == "read":
            op.result = state[op.key]
            if op.fault and op.fault.startswith("return:"):
                op.result = json.loads(op.fault[len("return:"):])
                result.guaranteed = True
            elif op.fault == "future":
                future = fresh()
                op.result = future
                script.insert(0, _Op(0, "write", op.key, future, "ok"))
                result.guaranteed = True
            elif op.fault == "confirm-lost":
                confirm_lost(op)
        elif op.f == "write":
            if op.fault == "drop":
                lost[op.key] = op
                return
            write(op, op.value)
        elif op.f == "cas":
            if state[op.key] == op.value[0]:
                write(op, op.value[1])
            elif op.outcome == "ok":
                op.outcome = "fail"
        elif op.f == "fetch_add":
            op.result = state[op.key]
            write(op, register.add_wrapping(op.result, op.value))

    def confirm_lost(read: _Op) -> None:
        # Certain only if the value read was written by an op that completed (ok) before the
        # lost write was invoked: then every linearization has overwritten it by this read.
        dropped = lost[read.key]
        source = writer.get(read.result)
        if read.result in written_twice:
            armed[0] = True  # Which write it saw is unclear: try again later.
        elif read.result == initial and source is None:
            result.guaranteed = True
        elif source is not None and source.outcome == "ok" and \
                source.complete_index is not None and \
                source.complete_index < dropped.invoke_index:
            result.guaranteed = True
        elif not result.guaranteed:
            armed[0] = True  # Try again later, on another write.

    sim.run(next_op, apply, lambda op: None)
    return result


def simulate_counter(seed: int, ops: int = 2000, processes: int = 5, p_info: float = 0.05,
                     p_fail: float = 0.05, info_applied: float = 0.5,
                     fault: Optional[str] = None, final_read: bool = True) -> SimulationResult:
    """One counter (no key): incr with a delta of 1..3 answering the new value, and read.

    With `final_read`, a last process reads once everything else is over. Faults:
      duplicate-apply  an acknowledged increment applied twice (certain when every unknown
                       increment is applied: the final read then exceeds acked + unknown);
      duplicate-value  an increment acknowledged with the value of the previous acknowledged
                       increment, and not applied;
      stale-read       a read answered one less than the increments acknowledged before it;
      future-read      a read answered one more than all increments invoked before it
                       completed, failed ones included.
    """
    assert fault is None or fault in COUNTER_FAULTS, fault
    rng = random.Random(seed)
    sim = _Simulator(rng, processes, ops, p_info, p_fail, info_applied)
    value = [0]
    acked = [0]  # Sum of deltas of ok increments completed so far.
    invoked = [0]  # Sum of deltas of increments invoked so far, failed ones included.
    last_ok_result: list[Optional[int]] = [None]
    result = SimulationResult(events=sim.events, fault=fault)
    armed = [fault is not None]
    lower_at_invoke: dict[int, int] = {}

    def next_op(process: int) -> Optional[_Op]:
        if process == 0 and armed[0] and sim.issued >= ops // 3:
            armed[0] = False
            if fault in ("duplicate-apply", "duplicate-value"):
                op = _Op(0, "incr", None, 1, "ok", fault=fault)
            else:
                op = _Op(0, "read", None, None, "ok", fault=fault)
        elif rng.random() < 0.6:
            op = _Op(process, "incr", None, rng.randint(1, 3), None)
        else:
            op = _Op(process, "read", None, None, None)
        if op.f == "incr":
            invoked[0] += op.value
        else:
            lower_at_invoke[id(op)] = acked[0]
        return op

    def apply(op: _Op) -> None:
        if op.f == "read":
            op.result = value[0]
            return
        if op.fault == "duplicate-value" and last_ok_result[0] is not None:
            op.result = last_ok_result[0]
            result.guaranteed = True
            return
        value[0] += op.value
        op.result = value[0]
        if op.fault == "duplicate-apply":
            sim.at(sim.now + sim.delay(1_000_000), lambda: dup(op))
        if op.outcome == "ok":
            last_ok_result[0] = op.result

    def dup(op: _Op) -> None:
        value[0] += op.value
        result.guaranteed = info_applied == 1.0 or p_info == 0.0

    def complete(op: _Op) -> None:
        if op.f == "incr" and op.outcome == "ok":
            acked[0] += op.value
        if op.f != "read" or op.outcome != "ok":
            return
        if op.fault == "stale-read":
            lower = lower_at_invoke[id(op)]
            if lower == 0:
                armed[0] = True
                return
            op.result = lower - 1
            result.guaranteed = True
        elif op.fault == "future-read":
            op.result = invoked[0] + 1
            result.guaranteed = True

    sim.run(next_op, apply, complete)
    if final_read:
        reader = _Op(processes, "read", None, None, "ok", result=value[0])
        sim.now += 1
        sim.record(reader, "invoke", None)
        sim.now += 1
        sim.record(reader, "ok", value[0])
    return result
