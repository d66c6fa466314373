"""Linearizability of per-key registers: read/get, write/set, cas/compare_and_set, fetch_add.

The model: each key is an independent register holding a JSON value, initially `initial`
(null unless told otherwise).

    read  / get              ok "value" is the value read; legal iff it equals the register
    write / set              "value" is the value written; always legal
    cas / compare_and_set    "value" is [expected, new]; legal iff the register holds
                             expected, which it then replaces with new. A cas that found
                             another value completes "fail": it had no effect.
    fetch_add                "value" is the delta (an integer); ok "value" is the register
                             before, which it then replaces with the sum (wrapping around as
                             a signed 64-bit integer, as example/atomic does). Legal iff the
                             register holds that previous value; an ok fetch_add is searched
                             as the cas [previous, previous + delta]. Only an integer register
                             can be added to.

Keys are independent, so the history is split by key and each key is searched on its own
(linearizability is compositional). For one key, the search is Wing & Gong's with the
memoisation Porcupine-style checkers add: the operations' invokes and completions sit in one
list in real-time order; a depth-first search repeatedly picks an operation whose invoke comes
before every completion still in the list, applies it to the model and lifts it out of the
list; meeting a completion means the operation it completes was not placed in time, so the
search backtracks. A (set of placed operations, register value) pair already explored is never
explored again, which is what makes real histories cheap.

How outcomes count:
  ok    must be placed, between its invoke and its completion;
  fail  is dropped: it did not take effect;
  info  may be placed anywhere after its invoke, or never. An info read is dropped (it
        constrains nothing); an info write or cas has no completion in the list. An info
        fetch_add (its previous value unknown) adds its delta to whatever integer the
        register holds where it is placed; one of delta 0 is dropped (it changes nothing).

Reductions that keep the search small without changing its answer:
  - an operation that never changes the register (a read, a cas [v, v]) is placed as soon as
    it is legal and is never tried at a later point: if some linearization places it later,
    moving it here gives another, since every operation that must precede it is already
    placed (or its invoke would not have been reached) and nothing it passes sees a
    difference. (This is not true of a write of the value already there: moved earlier, it
    loses the effect it has where it was);
  - an info write or cas whose new value no operation observes (an ok read of it, or a cas
    or ok fetch_add expecting it, not over before the info invoke) is dropped: in any
    linearization that places it, the next state-changing operation overwrites it unseen, so
    removing it leaves a linearization. On a key with info fetch_adds, "observes" widens to
    "could reach by them": a value v counts if v + S is observed for some sum S of distinct
    info fetch_adds' deltas (S = 0 included), since those may add to v unseen; otherwise
    the unseen value and any info adds placed on it can be removed together;
  - every value no operation ever observes (nor reaches as above) is one state to the memo:
    such values are told apart by nothing, so which of them the register holds does not
    matter; an info fetch_add keeps such a value such a value (its delta is one of S's);
  - a write whose value nobody ever reads can always be placed right before another write
    (which overwrites it unseen), so placing a write places every such write waiting in the
    frontier too;
  - where the search must branch, it first tries the operations writing a value some
    operation in the frontier waits for, then the others by earliest completion.

The search has a budget of steps per key; a key that exhausts it is reported undecided
("unknown") instead of the checker running without bound.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any, Optional

from .history import FAIL, INFO, MISSING, OK, History, HistoryError, Operation

READ, WRITE, CAS, FETCH_ADD = 0, 1, 2, 3
_KINDS = {"read": READ, "get": READ, "write": WRITE, "set": WRITE, "cas": CAS,
          "compare_and_set": CAS, "fetch_add": FETCH_ADD}

_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT64_RANGE = 1 << 64


def add_wrapping(value: int, delta: int) -> int:
    """value + delta as example/atomic computes it: two's complement, 64 bits."""
    return (value + delta - _INT64_MIN) % _UINT64_RANGE + _INT64_MIN


def _is_integer(value: Any) -> bool:
    return type(value) is int  # Not bool, which JSON keeps apart.

# Per key. A valid key of n operations takes a little over n steps; the budget is for the
# histories that make the search backtrack.
DEFAULT_MAX_STEPS_PER_KEY = 1_000_000

# How many linearized operations an explanation shows before the point where it stops.
_EXPLAIN_TAIL = 6

UNKNOWN = "unknown"

_ILLEGAL = object()

# Above this many distinct sums of info fetch_add deltas, every value counts as observed (the
# search is still right, only slower).
_MAX_ADD_SUMS = 4096


def canonical(value: Any) -> Any:
    """The register's state for a JSON value: hashable, and equal only for equal JSON values.

    Integers, strings and null stand for themselves (they compare as JSON does); anything else
    (true, 1.5, lists, objects) becomes its JSON text, tagged so it never equals a string.
    """
    kind = type(value)
    if kind is int or kind is str or value is None:
        return value
    return ("json", json.dumps(value, sort_keys=True, separators=(",", ":")))


def show(state: Any) -> str:
    """A state as JSON text, for people."""
    if type(state) is tuple:
        return state[1]
    return json.dumps(state)


def _value(state: Any) -> Any:
    """A state back as the JSON value it stands for."""
    return json.loads(show(state))


@dataclasses.dataclass
class _Op:
    op: Operation
    kind: int  # READ, WRITE, CAS, or FETCH_ADD (info only: an ok fetch_add is a CAS).
    a: Any  # read: the value read; write: the value written; cas: expected; fetch_add: delta.
    b: Any  # cas: new.
    ok: bool


@dataclasses.dataclass
class KeyResult:
    key: str
    valid: Any  # True, False or UNKNOWN.
    operations: int  # ok + info operations searched (fail and info reads are not).
    dropped_info: int  # info writes/cas whose value nobody observed, info adds of 0.
    steps: int
    anomaly: Optional[dict] = None


@dataclasses.dataclass
class RegisterResult:
    valid: Any  # True, False or UNKNOWN.
    operations: int  # every operation in the history
    keys: list[KeyResult]

    @property
    def anomalies(self) -> list[dict]:
        return [k.anomaly for k in self.keys if k.anomaly is not None]

    @property
    def undecided(self) -> list[str]:
        return [k.key for k in self.keys if k.valid == UNKNOWN]


def _model_op(op: Operation) -> Optional[_Op]:
    """The operation as the search sees it, None if it constrains nothing; raises on misuse."""
    kind = _KINDS.get(op.f)
    if kind is None:
        raise HistoryError(op.invoke_line, f'the register model has no operation "{op.f}" '
                           "(read/get, write/set, cas/compare_and_set, fetch_add)")
    if op.key is None:
        raise HistoryError(op.invoke_line, f'a register {op.f} needs a "key"')
    if kind == WRITE and op.value is MISSING:
        raise HistoryError(op.invoke_line, f'a {op.f} needs the "value" it writes')
    if kind == CAS and not (isinstance(op.value, list) and len(op.value) == 2):
        raise HistoryError(op.invoke_line, f'a {op.f} needs "value": [expected, new]')
    if op.status == OK and kind == READ and op.result is MISSING:
        raise HistoryError(op.complete_line, f'an ok {op.f} must carry the "value" it read')
    if kind == FETCH_ADD and not _is_integer(op.value):
        raise HistoryError(op.invoke_line, f'a {op.f} needs the integer "value" it adds')
    if op.status == OK and kind == FETCH_ADD and not _is_integer(op.result):
        raise HistoryError(op.complete_line,
                           f'an ok {op.f} must carry the integer "value" it found')
    if op.status == FAIL:
        return None
    if kind == FETCH_ADD:
        if op.status == OK:
            return _Op(op, CAS, op.result, add_wrapping(op.result, op.value), True)
        return _Op(op, FETCH_ADD, op.value, None, False)
    if kind == READ:
        if op.status == INFO:
            return None
        return _Op(op, READ, canonical(op.result), None, True)
    if kind == WRITE:
        return _Op(op, WRITE, canonical(op.value), None, op.status == OK)
    return _Op(op, CAS, canonical(op.value[0]), canonical(op.value[1]), op.status == OK)


def _last_observation(ops: list[_Op]) -> dict[Any, float]:
    """For each value: the latest completion of an op that observes it (inf: an info cas)."""
    last: dict[Any, float] = {}
    for op in ops:
        if op.kind == WRITE or op.kind == FETCH_ADD:
            continue
        end = op.op.complete_position if op.ok else float("inf")
        if end > last.get(op.a, -1):
            last[op.a] = end
    return last


def _observed(info: _Op, last_observation: dict[Any, float]) -> bool:
    """Whether an op may observe the value `info` writes after `info` is invoked."""
    written = info.a if info.kind == WRITE else info.b
    return last_observation.get(written, -1) > info.op.invoke_position


# Search-only states: any state satisfies _ANY, any integer _INTEGER; _SAME leaves the state
# as it was; _ADD adds the op's delta to it (an info fetch_add); _UNSEEN
# stands for every value no operation ever observes (no read returns it, no cas expects it).
# Replacing such values by one state changes no operation's legality, and lets the memo treat
# "which unread value is there" as the same situation.
_ANY = object()
_INTEGER = object()
_SAME = object()
_ADD = object()
_UNSEEN = ("unseen",)


def _search(ops: list[_Op], initial: Any, max_steps: int, relevant):
    """Depth-first search for a linearization. Returns (verdict, steps, longest prefix).

    Each round first looks along the frontier (the invokes before the first completion still
    listed) for a legal operation that never changes the register and places it without
    branching; only when there is none does it branch over the legal operations that change
    the state, in the order the module comment gives. Backtracking resumes that branching
    after the operation taken off.
    """
    need = []
    new = []
    delta = [0] * len(ops)
    for i, op in enumerate(ops):
        if op.kind == FETCH_ADD:
            need.append(_INTEGER)
            new.append(_ADD)
            delta[i] = op.a
            continue
        need.append(_ANY if op.kind == WRITE else op.a)
        if op.kind == READ or (op.kind == CAS and op.a == op.b):
            new.append(_SAME)
        else:
            written = op.a if op.kind == WRITE else op.b
            new.append(written if relevant(written) else _UNSEEN)

    def after(i: int, before: Any) -> Any:
        """The register once ops[i] is placed on `before` (where it is legal)."""
        made = new[i]
        if made is _SAME:
            return before
        if made is _ADD:
            if before is _UNSEEN:
                return _UNSEEN
            made = add_wrapping(before, delta[i])
            return made if relevant(made) else _UNSEEN
        return made

    events = []
    for i, op in enumerate(ops):
        events.append((op.op.invoke_position, i, True))
        if op.ok:
            events.append((op.op.complete_position, i, False))
    events.sort()
    m = len(events)
    tail = m + 1
    # A doubly linked list over nodes 1..m, with 0 the head and m+1 the tail sentinel.
    nxt = list(range(1, m + 2)) + [tail]
    prv = [0] + list(range(0, m + 1))
    node_op = [0] * (m + 2)
    node_call = [False] * (m + 2)
    call_node = [0] * len(ops)
    ret_node = [0] * len(ops)
    for node, (_, i, is_call) in enumerate(events, start=1):
        node_op[node] = i
        node_call[node] = is_call
        if is_call:
            call_node[i] = node
        else:
            ret_node[i] = node

    ret_position = [op.op.complete_position if op.ok else float("inf") for op in ops]
    kinds = [op.kind for op in ops]

    def lift(i: int) -> None:
        c = call_node[i]
        nxt[prv[c]] = nxt[c]
        prv[nxt[c]] = prv[c]
        r = ret_node[i]
        if r:
            nxt[prv[r]] = nxt[r]
            prv[nxt[r]] = prv[r]

    def unlift(i: int) -> None:
        r = ret_node[i]
        if r:
            nxt[prv[r]] = r
            prv[nxt[r]] = r
        c = call_node[i]
        nxt[prv[c]] = c
        prv[nxt[c]] = c

    # Info operations (no completion) are placed lazily: only where what they leave in the
    # register, plus the deltas of some info fetch_adds still unplaced, is a value some op in
    # the frontier needs. Any linearization can be rearranged so: an info op followed by
    # anything else (a write, or an op needing another value) is either overwritten unseen or
    # illegal there, and can be removed or moved. The memo stays right: the frontier, and so
    # what is useful, is a function of the placed set.
    add_sums_by_mask: dict[int, Optional[frozenset]] = {}

    def add_sums(mask: int) -> Optional[frozenset]:
        """Sums of distinct deltas among the info adds in `mask` (0 included); None: too many."""
        sums = add_sums_by_mask.get(mask, False)
        if sums is False:
            found = {0}
            rest, j = mask, 0
            while rest and found is not None:
                if rest & 1:
                    found |= {add_wrapping(x, delta[j]) for x in found}
                    if len(found) > _MAX_ADD_SUMS:
                        found = None
                rest >>= 1
                j += 1
            sums = None if found is None else frozenset(found)
            add_sums_by_mask[mask] = sums
        return sums

    def useful(made: Any, wanted_values: set, pending_adds: int) -> bool:
        if made is _UNSEEN:
            return False  # Nothing tells it apart, whatever is added to it.
        if made in wanted_values:
            return True
        if not pending_adds or type(made) is not int:
            return False
        sums = add_sums(pending_adds)
        if sums is None:
            return True
        return any(type(w) is int and add_wrapping(w, -made) in sums for w in wanted_values)

    state = initial
    linearized = 0  # bit i set: ops[i] is placed.
    remaining = sum(1 for op in ops if op.ok)
    cache = set()
    # One entry per placed operation: (op, state before, the choices it was taken from or
    # None if it was placed without branching, its index there, how many unread writes it
    # absorbed). Absorbed writes sit just below the write that absorbed them.
    stack: list[tuple[int, Any, Optional[list[int]], int, int]] = []
    best: list[tuple] = []
    steps = 0
    choices: Optional[list[int]] = None
    choice = 0
    while remaining:
        steps += 1
        if steps > max_steps:
            return UNKNOWN, steps, [s[0] for s in best]
        take = -1
        forced = False
        if choices is None:
            # A new prefix. An operation that never changes the register, legal here, is placed
            # without branching; otherwise the legal state-changing operations of the frontier
            # are the choices, those writing a value the frontier needs first, then by deadline.
            frontier = []
            scan = nxt[0]
            while node_call[scan]:
                i = node_op[scan]
                wanted = need[i]
                if wanted is _ANY or wanted == state or (
                        wanted is _INTEGER and (type(state) is int or state is _UNSEEN)):
                    if new[i] is _SAME:
                        take = i
                        forced = True
                        break
                    frontier.append(i)
                scan = nxt[scan]
            if forced:
                if (linearized | (1 << take), state) in cache:
                    take = -1  # Failed before from here, and so did this prefix.
            else:
                if len(frontier) > 1 or (frontier and not ret_node[frontier[0]]):
                    wanted_values = set()
                    pending_adds = 0
                    scan = nxt[0]
                    while node_call[scan]:
                        j = node_op[scan]
                        w = need[j]
                        if w is not _ANY and w is not _INTEGER:
                            wanted_values.add(w)
                        elif w is _INTEGER:
                            pending_adds |= 1 << j
                        scan = nxt[scan]
                    if not all(ret_node[j] for j in frontier):
                        frontier = [j for j in frontier if ret_node[j] or
                                    useful(after(j, state), wanted_values, pending_adds)]
                    frontier.sort(key=lambda j: (after(j, state) not in wanted_values,
                                                 ret_position[j]))
                choices = frontier
                choice = 0
        absorbed: list[int] = []
        if not forced and choices is not None:
            while choice < len(choices):
                i = choices[choice]
                bits = linearized | (1 << i)
                if kinds[i] == WRITE:
                    # A write nobody reads can always go right before another write, where it
                    # is overwritten unseen; so every write takes such writes along.
                    absorbed = [j for j in choices
                                if j != i and kinds[j] == WRITE and new[j] is _UNSEEN]
                    for j in absorbed:
                        bits |= 1 << j
                if (bits, after(i, state)) not in cache:
                    take = i
                    break
                absorbed = []
                choice += 1
        if take >= 0:
            i = take
            next_state = after(i, state)
            bits = linearized | (1 << i)
            for j in absorbed:
                bits |= 1 << j
                stack.append((j, state, None, 0, 0))
                lift(j)
                if ret_node[j]:
                    remaining -= 1
            cache.add((bits, next_state))
            stack.append((i, state, None if forced else choices, choice, len(absorbed)))
            lift(i)
            if ret_node[i]:
                remaining -= 1
            state = next_state
            linearized = bits
            choices = None
            continue
        # No way to extend this prefix: take operations off until one with choices left.
        if len(stack) > len(best):
            best = list(stack)
        while True:
            if not stack:
                return False, steps, [s[0] for s in best]
            i, state, choices, choice, absorbed_count = stack.pop()
            unlift(i)
            linearized ^= 1 << i
            if ret_node[i]:
                remaining += 1
            for _ in range(absorbed_count):
                j = stack.pop()[0]
                unlift(j)
                linearized ^= 1 << j
                if ret_node[j]:
                    remaining += 1
            if choices is not None:
                choice += 1
                break
    return True, steps, [s[0] for s in best]


def _apply(state: Any, op: _Op) -> Any:
    """The register after `op`, or _ILLEGAL if `op` is not legal in `state`."""
    if op.kind == WRITE:
        return op.a
    if op.kind == FETCH_ADD:
        return add_wrapping(state, op.a) if _is_integer(state) else _ILLEGAL
    if state != op.a:
        return _ILLEGAL
    return state if op.kind == READ else op.b


def _hint(op: _Op, all_ops: list[Operation], initial: Any) -> Optional[tuple[str, str]]:
    """(tag, sentence) on why `op`, which needs the register to hold op.a, cannot see it."""
    if op.kind == WRITE or op.kind == FETCH_ADD:
        return None
    value = op.a
    writers = []
    for other in all_ops:
        kind = _KINDS[other.f]
        if kind == WRITE and canonical(other.value) == value:
            writers.append(other)
        elif kind == CAS and canonical(other.value[1]) == value:
            writers.append(other)
        elif kind == FETCH_ADD and other.status == OK and \
                add_wrapping(other.result, other.value) == value:
            writers.append(other)
    shown = show(value)
    verb = "read" if op.kind == READ else "expected"
    live = [w for w in writers if w.status != FAIL]
    if not writers:
        if value == initial:
            return ("stale-read", f"{verb} {shown}, the initial value, after it was overwritten")
        return ("never-written", f"{verb} {shown}, which no operation ever wrote")
    if not live:
        return ("failed-write-read", f"{verb} {shown}, written only by operations that failed "
                "(fail = did not take effect)")
    end = op.op.complete_position
    if all(w.invoke_position > end for w in live):
        return ("future-read", f"{verb} {shown}, written only by operations invoked after this "
                "one completed (a read from the future)")
    return ("stale-read", f"{verb} {shown}, which had been overwritten by then (a stale read, "
            "or a lost write)")


def _explain(key: str, ops: list[_Op], all_ops: list[Operation], initial: Any,
             prefix: list[int]) -> dict:
    """A person-sized account of where the longest linearization found stops."""
    states = [initial]
    for i in prefix:
        states.append(_apply(states[-1], ops[i]))
    state = states[-1]
    placed = set(prefix)
    unplaced_ok = [op for i, op in enumerate(ops) if op.ok and i not in placed]
    blocking = min(unplaced_ok, key=lambda o: o.op.complete_position)
    deadline = blocking.op.complete_position
    candidates = [op for i, op in enumerate(ops)
                  if i not in placed and op.op.invoke_position < deadline]
    candidates.sort(key=lambda o: o.op.invoke_position)

    lines = [f"key {json.dumps(key)} is not linearizable.",
             f"The longest linearizable prefix found places {len(prefix)} of {len(ops)} "
             f"operations, leaving the register at {show(state)}. Its last operations:"]
    start = max(0, len(prefix) - _EXPLAIN_TAIL)
    if start:
        lines.append("    ...")
    for n in range(start, len(prefix)):
        lines.append(f"    {ops[prefix[n]].op.describe()}   => {show(states[n + 1])}")
    lines.append("No operation can come next:")
    hint = None
    for op in candidates:
        after = _apply(state, op)
        if after is _ILLEGAL:
            found = _hint(op, all_ops, initial) if op.ok else None
            needs = "an integer" if op.kind == FETCH_ADD else show(op.a)
            why = f"needs {needs}, the register holds {show(state)}"
            if found:
                why += f"; it {found[1]}"
                if hint is None or op is blocking:
                    hint = found
        else:
            why = f"legal (register => {show(after)}), but no linearization continues from there"
        lines.append(f"    {op.op.describe()}: {why}")
    lines.append(f"and {blocking.op.describe()} must take effect before it completes "
                 f"(index {blocking.op.complete_index}).")
    return {
        "kind": "not-linearizable",
        "key": key,
        "hint": hint[0] if hint else None,
        "prefix_length": len(prefix),
        "state": _value(state),
        "blocking": blocking.op.describe(),
        "explanation": lines,
    }


def check_key(key: str, all_ops: list[Operation], initial: Any = None,
              max_steps: int = DEFAULT_MAX_STEPS_PER_KEY) -> KeyResult:
    """Checks one key's operations (all of them, any status). Raises HistoryError."""
    modeled = [m for m in (_model_op(op) for op in all_ops) if m is not None]
    return _check_modeled(key, modeled, all_ops, initial, max_steps)




def _relevance(ops: list[_Op]):
    """relevant(value): whether an op may observe `value` or what info fetch_adds make of it."""
    observed = {op.a for op in ops if op.kind != WRITE and op.kind != FETCH_ADD}
    deltas = [op.a for op in ops if op.kind == FETCH_ADD]
    if not deltas:
        return observed.__contains__
    sums = {0}  # Without wrapping; the fast path below only runs where nothing wraps.
    for d in deltas:
        sums |= {s + d for s in sums}
        if len(sums) > _MAX_ADD_SUMS:
            return lambda value: True
    span = max(abs(s) for s in sums)
    wrapped = sorted({add_wrapping(0, s) for s in sums})
    # Every sum is a multiple of g, so v + S = o only for o with v's residue.
    g = 0
    for d in deltas:
        g = math.gcd(g, d)
    by_residue: dict[int, list[int]] = {}
    for o in observed:
        if type(o) is int:
            by_residue.setdefault(o % g, []).append(o)
    memo: dict[Any, bool] = {}

    def relevant(value: Any) -> bool:
        if type(value) is not int:
            return value in observed
        known = memo.get(value)
        if known is None:
            if abs(value) + span <= _INT64_MAX:
                known = any(o - value in sums for o in by_residue.get(value % g, ()))
            else:
                known = any(add_wrapping(value, s) in observed for s in wrapped)
            memo[value] = known
        return known

    return relevant


def _check_modeled(key: str, modeled: list[_Op], all_ops: list[Operation], initial: Any,
                   max_steps: int) -> KeyResult:
    initial_state = canonical(initial)
    last_observation = _last_observation(modeled)
    # An info fetch_add of 0 changes nothing wherever it is placed.
    modeled_effective = [m for m in modeled if m.kind != FETCH_ADD or m.a != 0]
    relevant = _relevance(modeled_effective)
    if any(m.kind == FETCH_ADD for m in modeled_effective):
        # What info adds may make of an info write's value is not bound to when it is read.
        ops = [m for m in modeled_effective
               if m.ok or m.kind == FETCH_ADD or relevant(m.a if m.kind == WRITE else m.b)]
    else:
        ops = [m for m in modeled_effective if m.ok or _observed(m, last_observation)]
    dropped = len(modeled) - len(ops)
    verdict, steps, prefix = _search(ops, initial_state, max_steps, _relevance(ops))
    result = KeyResult(key=key, valid=verdict, operations=len(ops), dropped_info=dropped,
                       steps=steps)
    if verdict is False:
        result.anomaly = _explain(key, ops, all_ops, initial_state, prefix)
    return result


def check_register(history: History, initial: Any = None,
                   max_steps_per_key: int = DEFAULT_MAX_STEPS_PER_KEY) -> RegisterResult:
    """Checks every key of `history` against the register model. Raises HistoryError."""
    by_key: dict[str, tuple[list[_Op], list[Operation]]] = {}
    for op in history.operations:
        modeled = _model_op(op)  # Validates every operation, the dropped ones too.
        searched, everything = by_key.setdefault(op.key, ([], []))
        everything.append(op)
        if modeled is not None:
            searched.append(modeled)
    results = [_check_modeled(key, searched, everything, initial, max_steps_per_key)
               for key, (searched, everything) in sorted(by_key.items())]
    if any(r.valid is False for r in results):
        valid: Any = False
    elif any(r.valid == UNKNOWN for r in results):
        valid = UNKNOWN
    else:
        valid = True
    return RegisterResult(valid=valid, operations=len(history.operations), keys=results)
