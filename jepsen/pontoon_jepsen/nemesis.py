"""Nemeses: the faults a run injects, and the schedule that says when.

Each fault is held for a few seconds and then healed, with a quiet gap between faults:

  kill-one, kill-minority, kill-all        SIGKILL, then restart on the same data directory
  pause-one, pause-leader, pause-minority  SIGSTOP, then SIGCONT
  partition-one       one node cut off from every other
  partition-leader    the current leader cut off from every other
  partition-halves    a minority against a majority (with 3 nodes: 1 | 2)
  partition-ring      (5 nodes) a ring: each node reaches only its two neighbours, so every
                      node sees a majority (itself and two) but no two see the same one
  partition-bridge    (5 nodes) two halves joined by one node that reaches both

--nemesis takes a comma-separated list of fault names or families ("kill", "pause",
"partition", "all"). The schedule (which fault, which nodes, when, how long) is drawn from a
random.Random(seed) before the run starts, so the same --seed replays the same schedule;
"the leader" is resolved when the fault begins.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Optional

FAMILIES = {
    "kill": ["kill-one", "kill-minority", "kill-all"],
    "pause": ["pause-one", "pause-leader", "pause-minority"],
    "partition": ["partition-one", "partition-leader", "partition-halves", "partition-ring",
                  "partition-bridge"],
}
ALL_FAULTS = [f for family in FAMILIES.values() for f in family]
FIVE_NODES_ONLY = {"partition-ring", "partition-bridge"}


def parse_nemesis(text: str, nodes: int) -> list[str]:
    """The fault names a --nemesis list stands for; ValueError naming an unknown entry."""
    faults: list[str] = []
    for word in filter(None, (w.strip() for w in text.split(","))):
        if word == "none":
            continue
        if word == "all":
            expansion = ALL_FAULTS
        elif word in FAMILIES:
            expansion = FAMILIES[word]
        elif word in ALL_FAULTS:
            expansion = [word]
        else:
            raise ValueError(f"unknown nemesis '{word}' (faults: {', '.join(ALL_FAULTS)}; "
                             "families: kill, pause, partition, all; or none)")
        for fault in expansion:
            if fault in FIVE_NODES_ONLY and nodes < 5 and word != fault:
                continue  # A family skips what does not apply to this many nodes.
            if fault in FIVE_NODES_ONLY and nodes < 5:
                raise ValueError(f"nemesis '{fault}' needs 5 nodes")
            if fault not in faults:
                faults.append(fault)
    return faults


def needs_partitions(faults: list[str]) -> bool:
    return any(f.startswith("partition-") for f in faults)


@dataclasses.dataclass
class Fault:
    name: str
    start_s: float  # Seconds after the workload starts.
    hold_s: float
    # Node indexes (1-based) chosen in advance; for "-leader" faults, filled when it begins.
    nodes: list[int]
    # For partitions: the groups of node indexes that can talk among themselves, or for ring
    # and bridge the pairs that stay connected.
    links: Optional[list[list[int]]] = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _minority(rng: random.Random, nodes: int) -> list[int]:
    return sorted(rng.sample(range(1, nodes + 1), (nodes - 1) // 2))


def _plan(name: str, rng: random.Random, nodes: int) -> tuple[list[int], Optional[list]]:
    everyone = list(range(1, nodes + 1))
    if name in ("kill-one", "pause-one", "partition-one"):
        return [rng.choice(everyone)], None
    if name in ("kill-minority", "pause-minority", "partition-halves"):
        return _minority(rng, nodes), None
    if name == "kill-all":
        return everyone, None
    if name in ("pause-leader", "partition-leader"):
        return [], None
    order = everyone[:]
    rng.shuffle(order)
    if name == "partition-ring":
        pairs = [sorted([order[i], order[(i + 1) % nodes]]) for i in range(nodes)]
        return order, pairs
    if name == "partition-bridge":
        bridge, left, right = order[0], order[1:1 + (nodes - 1) // 2], order[1 + (nodes - 1) // 2:]
        pairs = [sorted([a, b]) for side in (left, right) for a in side for b in side if a < b]
        pairs += [sorted([bridge, x]) for x in left + right]
        return order, pairs
    raise AssertionError(name)


def schedule(faults: list[str], nodes: int, seed: int, time_limit_s: float) -> list[Fault]:
    """Faults from `faults`, one at a time: quiet 2-4 s, hold 3-6 s, until the time limit (the
    last fault is healed at least 2 s before it)."""
    rng = random.Random(seed)
    planned: list[Fault] = []
    if not faults:
        return planned
    t = rng.uniform(2.0, 4.0)
    while True:
        hold = rng.uniform(3.0, 6.0)
        if t + hold > time_limit_s - 2.0:
            return planned
        name = rng.choice(faults)
        chosen, links = _plan(name, rng, nodes)
        planned.append(Fault(name, round(t, 3), round(hold, 3), chosen, links))
        t += hold + rng.uniform(2.0, 4.0)


def blocked_pairs(fault: Fault, nodes: int) -> list[tuple[int, int]]:
    """For a partition, the node pairs to cut."""
    everyone = range(1, nodes + 1)
    all_pairs = [(a, b) for a in everyone for b in everyone if a < b]
    if fault.links is not None:
        keep = {tuple(p) for p in fault.links}
        return [p for p in all_pairs if p not in keep]
    isolated = set(fault.nodes)
    return [(a, b) for a, b in all_pairs if (a in isolated) != (b in isolated)]
