"""The history format: one JSON object per line, one line per event.

An event is an invocation ("invoke") or a completion ("ok", "fail", "info") of one operation
by one process:

    {"process": 3, "type": "invoke", "f": "write", "key": "k1", "value": 7,
     "time": 1250000, "index": 41}

A process has at most one operation outstanding: its next event after an invoke completes that
operation. Events are written in the order they happened, and "index" grows strictly from line
to line, so the order of the lines is the real-time order the checkers use ("time", monotonic
nanoseconds, is kept for people and for the driver's own logs). A completion means:

    ok    the operation took effect, once, between its invoke and this line;
    fail  the operation definitely did not take effect;
    info  unknown (timeout, connection lost): it may take effect at any time after its invoke,
          or never. An invoke the history never completes counts as info.

parse_history() checks the structure (fields, types, pairing) and raises HistoryError naming the
line; what each model requires of "f" and "value" is checked by that model's checker.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable, Optional

INVOKE = "invoke"
OK = "ok"
FAIL = "fail"
INFO = "info"
COMPLETIONS = (OK, FAIL, INFO)

# A value the history does not carry: an invoke or completion line without a "value" field.
MISSING = object()


class HistoryError(ValueError):
    """A malformed history. `line` is the 1-based line number of the offending event."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclasses.dataclass
class Operation:
    """One invoke and its completion.

    `position` fields are the 0-based event numbers (line order among events); the checkers
    compare those. `status` is ok, fail or info; an operation never completed is info with
    `complete_position` None.
    """

    id: int  # Invocation order, 0-based.
    process: int
    f: str
    key: Optional[str]
    value: Any  # The invoke's "value" (the argument), or MISSING.
    result: Any  # The completion's "value" (ok/fail/info), or MISSING.
    status: str
    invoke_position: int
    complete_position: Optional[int]
    invoke_line: int
    complete_line: Optional[int]
    invoke_index: int
    complete_index: Optional[int]
    invoke_time: int
    complete_time: Optional[int]

    def describe(self) -> str:
        """A one-line account, e.g. `process 3 write 7 -> ok [index 41..45, line 42..46]`."""
        args = "" if self.value is MISSING or self.value is None else " " + _show(self.value)
        if self.status == OK and self.result is not MISSING and self.result != self.value:
            outcome = f"-> {_show(self.result)} ok"
        else:
            outcome = f"-> {self.status}"
        if self.complete_index is None:
            span = f"index {self.invoke_index}.., line {self.invoke_line}, never completed"
        else:
            span = (f"index {self.invoke_index}..{self.complete_index}, "
                    f"line {self.invoke_line}..{self.complete_line}")
        return f"process {self.process} {self.f}{args} {outcome} [{span}]"


@dataclasses.dataclass
class History:
    operations: list[Operation]
    event_count: int


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require(event: dict, field: str, line: int, check, what: str) -> Any:
    if field not in event:
        raise HistoryError(line, f'missing field "{field}"')
    value = event[field]
    if not check(value):
        raise HistoryError(line, f'field "{field}" must be {what}, got {_show(value)}')
    return value


_TYPES = frozenset((INVOKE,) + COMPLETIONS)


def _explain_bad_event(event: dict, line: int) -> None:
    """Raises HistoryError for the first field of `event` that is missing or mistyped."""
    _require(event, "process", line, _is_int, "an integer")
    _require(event, "type", line, lambda v: isinstance(v, str) and v in _TYPES,
             '"invoke", "ok", "fail" or "info"')
    _require(event, "f", line, lambda v: isinstance(v, str) and v != "", "a non-empty string")
    _require(event, "time", line, _is_int, "an integer (nanoseconds)")
    _require(event, "index", line, _is_int, "an integer")
    key = event.get("key")
    if key is not None and not isinstance(key, str):
        raise HistoryError(line, f'field "key" must be a string, got {_show(key)}')
    raise AssertionError(f"line {line}: event {event} passed every check")


def _decode(text: str, line: int) -> dict:
    try:
        event = json.loads(text)
    except json.JSONDecodeError as e:
        raise HistoryError(line, f"not JSON: {e.msg} at column {e.colno}") from None
    if not isinstance(event, dict):
        raise HistoryError(line, "an event must be a JSON object")
    return event


def parse_history(lines: Iterable[str]) -> History:
    """Reads events, one per line (blank lines are skipped), and pairs them into operations."""
    operations: list[Operation] = []
    outstanding: dict[int, Operation] = {}  # process -> its operation awaiting completion
    last_index: Optional[int] = None
    last_index_line = 0
    position = 0
    for line_number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        event = _decode(text, line_number)
        process = event.get("process")
        kind = event.get("type")
        f = event.get("f")
        time = event.get("time")
        index = event.get("index")
        key = event.get("key")
        # The fast path checks everything at once; _explain_bad_event() finds what is wrong.
        if not (type(process) is int and type(kind) is str and kind in _TYPES and
                type(f) is str and f and type(time) is int and type(index) is int and
                (key is None or type(key) is str)):
            _explain_bad_event(event, line_number)
        if last_index is not None and index <= last_index:
            raise HistoryError(line_number, f'"index" {index} does not grow (line '
                               f'{last_index_line} has {last_index}); events must be written '
                               "in the order they happened")
        last_index, last_index_line = index, line_number
        value = event.get("value", MISSING)

        if kind == INVOKE:
            pending = outstanding.get(process)
            if pending is not None:
                raise HistoryError(line_number, f"process {process} invokes {f} while its "
                                   f"{pending.f} from line {pending.invoke_line} is outstanding")
            op = Operation(id=len(operations), process=process, f=f, key=key, value=value,
                           result=MISSING, status=INFO, invoke_position=position,
                           complete_position=None, invoke_line=line_number,
                           complete_line=None, invoke_index=index, complete_index=None,
                           invoke_time=time, complete_time=None)
            operations.append(op)
            outstanding[process] = op
        else:
            op = outstanding.pop(process, None)
            if op is None:
                raise HistoryError(line_number, f'"{kind}" for process {process}, which has '
                                   "no operation outstanding")
            if f != op.f:
                raise HistoryError(line_number, f'completes "{f}" but process {process} '
                                   f'invoked "{op.f}" on line {op.invoke_line}')
            if "key" in event and key != op.key:
                raise HistoryError(line_number, f"completes key {_show(key)} but the invoke on "
                                   f"line {op.invoke_line} has key {_show(op.key)}")
            op.status = kind
            op.result = value
            op.complete_position = position
            op.complete_line = line_number
            op.complete_index = index
            op.complete_time = time
        position += 1
    return History(operations=operations, event_count=position)


def read_history_file(path: str) -> History:
    """parse_history() over a file; "-" reads standard input."""
    if path == "-":
        import sys
        return parse_history(sys.stdin)
    with open(path, "r", encoding="utf-8") as stream:
        return parse_history(stream)
