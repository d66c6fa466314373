"""The counter checker, for example/counter and any service with the same contract.

The model: one counter per key (histories of example/counter carry no key), starting at
`initial` (0). Two operations:

    incr  invoke "value": the delta, a positive integer;
          ok "value": the counter right after this increment (what the service answers)
    read  (or get) ok "value": the counter

Increments in doubt count both ways: an ok increment took effect before it completed; a fail
one never took effect; an info one (or one never completed) may have taken effect at any time
after its invoke. With A(t) the deltas of ok increments completed before event t, and P(t) the
deltas of increments not failed and invoked before t, the checker requires:

  unique values     no two ok increments answer the same value (deltas are positive, so the
                    counter never holds a value twice);
  read bounds       a read invoked at t0 and completed at t1 returns a value in
                    [initial + A(t0), initial + P(t1)]: at least what was acknowledged before
                    it began, at most what had been asked for before it ended;
  increment bounds  an increment of d answers a value in [initial + A(t0) + d,
                    initial + P(t1)] (itself included in P);
  final value       the bounds of a read invoked after every increment is over are
                    acked <= value <= acked + unknown; such a read outside them is reported
                    as a final-value anomaly rather than a read-bounds one.

These are necessary conditions of linearizability, checked in O(n log n); they are exactly what
is described above, not a full linearizability search.
"""

from __future__ import annotations

import bisect
import dataclasses
from typing import Any, Optional

from .history import FAIL, INFO, OK, History, HistoryError, Operation

_INCR = ("incr",)
_READ = ("read", "get")


@dataclasses.dataclass
class CounterResult:
    valid: bool
    operations: int
    anomalies: list[dict]
    keys: int


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(op: Operation) -> None:
    if op.f not in _INCR + _READ:
        raise HistoryError(op.invoke_line, f'the counter model has no operation "{op.f}" '
                           "(incr, read/get)")
    if op.f in _INCR and not (_is_int(op.value) and op.value > 0):
        raise HistoryError(op.invoke_line, 'an incr needs "value": its delta, a positive '
                           "integer")
    if op.status == OK and not _is_int(op.result):
        what = "the counter after it" if op.f in _INCR else "the value read"
        raise HistoryError(op.complete_line, f'an ok {op.f} must carry "value": {what}, '
                           "an integer")


class _Sums:
    """Sums of deltas of the increments whose event falls before a position."""

    def __init__(self, points: list[tuple[int, int]]):
        points.sort()
        self.positions = [p for p, _ in points]
        self.prefix = [0]
        for _, delta in points:
            self.prefix.append(self.prefix[-1] + delta)

    def before(self, position: float) -> int:
        return self.prefix[bisect.bisect_left(self.positions, position)]


def _anomaly(kind: str, key: Optional[str], op: Operation, message: str, **extra) -> dict:
    anomaly = {"kind": kind, "op": op.describe(), "explanation": [message]}
    if key is not None:
        anomaly["key"] = key
    anomaly.update(extra)
    return anomaly


def _check_key(key: Optional[str], ops: list[Operation], initial: int) -> list[dict]:
    incrs = [op for op in ops if op.f in _INCR]
    acked = _Sums([(op.complete_position, op.value) for op in incrs if op.status == OK])
    possible = _Sums([(op.invoke_position, op.value) for op in incrs if op.status != FAIL])
    last_incr_event = max((op.complete_position if op.complete_position is not None
                           else op.invoke_position for op in incrs), default=-1)
    acked_total = sum(op.value for op in incrs if op.status == OK)
    unknown_total = sum(op.value for op in incrs if op.status == INFO)
    anomalies: list[dict] = []

    seen: dict[int, Operation] = {}
    for op in incrs:
        if op.status != OK:
            continue
        first = seen.get(op.result)
        if first is not None:
            anomalies.append(_anomaly(
                "duplicate-value", key, op,
                f"{op.describe()} answered {op.result}, as {first.describe()} did: one of "
                "them was applied twice, or not at all", value=op.result,
                first=first.describe()))
        else:
            seen[op.result] = op

    for op in ops:
        if op.status != OK:
            continue
        low = initial + acked.before(op.invoke_position)
        if op.f in _INCR:
            low += op.value
        high = initial + possible.before(op.complete_position)
        value = op.result
        if low <= value <= high:
            continue
        final = op.f in _READ and op.invoke_position > last_incr_event
        if final:
            kind = "final-value"
            message = (f"final read {value} is outside acked..acked+unknown = "
                       f"{initial + acked_total}..{initial + acked_total + unknown_total} "
                       f"({op.describe()})")
        else:
            kind = "read-bounds" if op.f in _READ else "increment-bounds"
            side = ("below what was acknowledged before it was invoked" if value < low
                    else "above everything invoked before it completed")
            message = f"{op.describe()}: {value} is {side} (must lie in {low}..{high})"
        anomalies.append(_anomaly(kind, key, op, message, value=value, low=low, high=high))
    return anomalies


def check_counter(history: History, initial: int = 0) -> CounterResult:
    """Checks `history` against the counter model. Raises HistoryError."""
    by_key: dict[Optional[str], list[Operation]] = {}
    for op in history.operations:
        _validate(op)
        by_key.setdefault(op.key, []).append(op)
    anomalies: list[dict] = []
    for key in sorted(by_key, key=lambda k: (k is not None, k or "")):
        anomalies.extend(_check_key(key, by_key[key], initial))
    return CounterResult(valid=not anomalies, operations=len(history.operations),
                         anomalies=anomalies, keys=len(by_key))
