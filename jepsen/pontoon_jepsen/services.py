"""The services the driver can test, as seen from its clients: method ids, request encoding,
response decoding, and the operations the workload generates.

counter (example/counter/counter.proto, method ids in raft/rpc/method_ids.h):
    2000 Increment {delta: sint64 = 1} -> {value: sint64 = 1}
    2001 Get {} -> {value: sint64 = 1}
    2002 Status {} -> {peer = 1, role = 2, term = 3, leader = 4, ...}
atomic (example/atomic/atomic.proto, example/atomic/atomic_method_ids.h):
    2100 Get {key: bytes = 1} -> {value: sint64 = 1}
    2101 Set {key = 1, value: sint64 = 2} -> {}
    2102 CompareAndSet {key = 1, expected: sint64 = 2, new_value: sint64 = 3}
         -> {succeeded: bool = 1, current: sint64 = 2}
    2103 FetchAdd {key = 1, delta: sint64 = 2} -> {previous: sint64 = 1}
    2104 Status, like the counter's

The history names operations as the checkers expect (docs/jepsen.md): the counter's "incr"
(value: the delta; ok value: the counter after it) and "read"; the registers' "read", "write"
and "cas" ([expected, new]; a cas that found another value completes "fail"), and "fetch_add"
(value: the delta; ok value: the register before, FetchAddResponse.previous).
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any, Callable, Optional

from . import wire


@dataclasses.dataclass
class Request:
    """One operation as the client sends it and the history records it."""

    f: str
    key: Optional[str]
    value: Any  # The invoke's "value" (absent for reads: None).
    method_id: int
    body: bytes
    read_only: bool
    # Turns the response body into (completion type, completion value).
    decode: Callable[[bytes], tuple[str, Any]]


def _value_of(body: bytes) -> tuple[str, Any]:
    return "ok", wire.get_sint64(wire.decode_message(body), 1)


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    server_binary: str
    status_method: int
    checker_model: str  # check.py --model
    checker_initial: str  # check.py --initial (JSON)


COUNTER = Service("counter", "counter-server", 2002, "counter", "0")
ATOMIC = Service("atomic", "atomic-server", 2104, "register", "0")
SERVICES = {s.name: s for s in (COUNTER, ATOMIC)}


def counter_incr(delta: int = 1) -> Request:
    return Request("incr", None, delta, 2000, wire.field_sint64(1, delta), False, _value_of)


def counter_read() -> Request:
    return Request("read", None, None, 2001, b"", True, _value_of)


def register_read(key: str) -> Request:
    return Request("read", key, None, 2100, wire.field_bytes(1, key.encode()), True, _value_of)


def register_write(key: str, value: int) -> Request:
    body = wire.field_bytes(1, key.encode()) + wire.field_sint64(2, value)
    return Request("write", key, value, 2101, body, False, lambda _: ("ok", value))


def register_cas(key: str, expected: int, new: int) -> Request:
    body = (wire.field_bytes(1, key.encode()) + wire.field_sint64(2, expected) +
            wire.field_sint64(3, new))

    def decode(response: bytes) -> tuple[str, Any]:
        fields = wire.decode_message(response)
        return ("ok" if fields.get(1, 0) else "fail"), [expected, new]

    return Request("cas", key, [expected, new], 2102, body, False, decode)


def register_fetch_add(key: str, delta: int) -> Request:
    body = wire.field_bytes(1, key.encode()) + wire.field_sint64(2, delta)
    return Request("fetch_add", key, delta, 2103, body, False, _value_of)


def parse_status(body: bytes) -> dict:
    fields = wire.decode_message(body)
    return {"peer": wire.get_string(fields, 1), "role": wire.get_string(fields, 2),
            "term": wire.get_int64(fields, 3), "leader": wire.get_string(fields, 4),
            "commit_index": wire.get_int64(fields, 7), "applied_index": wire.get_int64(fields, 8)}


class Workload:
    """Generates one client's operations. Each client has its own, seeded from the run's seed.

    counter: 80% incr 1, 20% read. atomic: over `keys` registers k0..k{keys-1}, 50% read, 25%
    write of a value unique to the run (below 10**9), 15% cas from the value this client last
    saw for that key to a unique value (so cas sometimes succeeds and sometimes finds another
    value), 10% fetch_add of 1..9 x 10**9 (so a sum never equals a written value, and the
    checker can tell which write an unknown fetch_add may have added to). A `reads_only`
    workload (run.py --pinned-readers) only reads: the counter, or a random register.
    """

    def __init__(self, service: Service, client: int, seed: int, keys: int,
                 reads_only: bool = False):
        self.service = service
        self.reads_only = reads_only
        self.client = client
        self.rng = random.Random(seed * 1_000_003 + client)
        self.keys = [f"k{i}" for i in range(keys)]
        self.last_seen: dict[str, int] = {}
        self.next_unique = 0

    def _unique(self) -> int:
        self.next_unique += 1
        return self.client * 10_000_000 + self.next_unique

    def next(self) -> Request:
        roll = 0.0 if self.reads_only else self.rng.random()
        if self.service is COUNTER:
            if self.reads_only:
                return counter_read()
            return counter_incr(1) if roll < 0.8 else counter_read()
        key = self.rng.choice(self.keys)
        if roll < 0.5:
            return register_read(key)
        if roll < 0.75:
            return register_write(key, self._unique())
        if roll < 0.9:
            return register_cas(key, self.last_seen.get(key, 0), self._unique())
        return register_fetch_add(key, self.rng.randint(1, 9) * 1_000_000_000)

    def observe(self, request: Request, kind: str, value: Any) -> None:
        """Remembers what an ok operation says about its register (for the next cas)."""
        if kind != "ok" or request.key is None:
            return
        if request.f in ("read", "write"):
            self.last_seen[request.key] = value
        elif request.f == "cas":
            self.last_seen[request.key] = value[1]
        elif request.f == "fetch_add":
            self.last_seen[request.key] = value + request.value

    def final_reads(self) -> list[Request]:
        """Reads issued after the workload and every fault are over."""
        if self.service is COUNTER:
            return [counter_read()]
        return [register_read(key) for key in self.keys]
