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
  skew-fast, skew-slow  one node restarted (SIGTERM, same data) under libfaketime with its
                      clocks running at SKEW_FAST_RATE or SKEW_SLOW_RATE, then restarted normally
  skew-leader         the same for the current leader, at a rate drawn from the seed
  slow-leader         one node restarted (SIGTERM, same data) with --clock-rate R (the
                      servers' test hook: its clock AND timers run at R x real time), made
                      leader with raft-cli transfer-leader, then cut off from its peers (not
                      from the clients): with R below 1 - max_clock_drift / lease it goes on
                      answering lease reads after the others elected a new leader; healed by
                      reconnecting it and restarting it at the real rate
  disk-full-one       one node's data directory (its own tmpfs) filled until writes fail with
  disk-full-leader    ENOSPC; healed by removing the filler and restarting the node (kill -9:
                      a node stopped on a storage error does not recover by itself)
  disk-eio-one        one node's storage starts failing every log write, log read and term/vote
  disk-eio-leader     write with EIO (SIGUSR2 to a server started with the test hook
                      --inject-disk-eio-on-signal); healed by kill -9 and a restart on the same
                      data, the fault disarmed (a fresh process)
  churn-remove-add    one node (the leader, a third of the time) removed from the configuration
                      with raft-cli remove-peer, stopped, its data wiped, restarted empty with
                      --join; healed by raft-cli add-peer (membership.py)

--nemesis takes a comma-separated list of fault names or families ("kill", "pause",
"partition", "skew", "lease", "disk", "disk-eio", "membership", "all"; "all" is every family but
membership, whose heal can fail and leave a smaller group under the next faults). The schedule (which fault, which nodes, when, how long) is drawn from a
random.Random(seed) before the run starts, so the same --seed replays the same schedule;
"the leader" is resolved when the fault begins.
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Optional

FAMILIES = {
    "kill": ["kill-one", "kill-minority", "kill-all"],
    "pause": ["pause-one", "pause-leader", "pause-minority"],
    "partition": ["partition-one", "partition-leader", "partition-halves", "partition-ring",
                  "partition-bridge"],
    "skew": ["skew-fast", "skew-slow", "skew-leader"],
    "disk": ["disk-full-one", "disk-full-leader"],
    "disk-eio": ["disk-eio-one", "disk-eio-leader"],
    "membership": ["churn-remove-add"],
    "lease": ["slow-leader"],
}
KNOWN_FAULTS = [f for family in FAMILIES.values() for f in family]
NOT_IN_ALL = {"membership"}
ALL_FAULTS = [f for name, family in FAMILIES.items() if name not in NOT_IN_ALL for f in family]
# Of the churn faults, this share removes the leader (drawn from the seed).
CHURN_LEADER_SHARE = 1 / 3
FIVE_NODES_ONLY = {"partition-ring", "partition-bridge"}
SKEW_FAST_RATE = 2.0  # The skewed node's clocks run this many times as fast as real time.
SKEW_SLOW_RATE = 0.5
SLOW_LEADER_RATE = 0.5  # slow-leader's default --clock-rate (run.py --slow-leader-rate).


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
        elif word in KNOWN_FAULTS:
            expansion = [word]
        else:
            raise ValueError(f"unknown nemesis '{word}' (faults: {', '.join(KNOWN_FAULTS)}; "
                             f"families: {', '.join(FAMILIES)}, all; or none)")
        for fault in expansion:
            if fault in FIVE_NODES_ONLY and nodes < 5 and word != fault:
                continue  # A family skips what does not apply to this many nodes.
            if fault in FIVE_NODES_ONLY and nodes < 5:
                raise ValueError(f"nemesis '{fault}' needs 5 nodes")
            if fault not in faults:
                faults.append(fault)
    return faults


def needs_partitions(faults: list[str]) -> bool:
    return any(f.startswith("partition-") or f == "slow-leader" for f in faults)


def needs_faketime(faults: list[str]) -> bool:
    return any(f.startswith("skew-") for f in faults)


def needs_disk_limits(faults: list[str]) -> bool:
    """Whether every node's data directory must be its own size-limited file system."""
    return any(f.startswith("disk-full-") for f in faults)


def needs_disk_eio(faults: list[str]) -> bool:
    """Whether the servers must start with the test hook --inject-disk-eio-on-signal."""
    return any(f.startswith("disk-eio-") for f in faults)


def needs_raft_cli(faults: list[str]) -> bool:
    """Membership churn and slow-leader (transfer-leader) drive the cluster with raft-cli."""
    return any(f.startswith("churn-") or f == "slow-leader" for f in faults)


def faketime_spec(rate: float, realtime_s: float, monotonic_s: float) -> str:
    """libfaketime's FAKETIME for clocks running at `rate` from now on.

    libfaketime 0.9.10 applies a relative offset to CLOCK_MONOTONIC as if it were the
    realtime clock: under "+0 x2" the process reads a monotonic clock near the Unix time
    (about 1.8e9 s) instead of the kernel's (seconds since boot). The servers' timer thread
    waits with pthread_cond_clockwait(CLOCK_MONOTONIC), which libfaketime does not intercept,
    so the kernel gets that faked deadline unconverted and its timers stop firing (measured:
    no election at all). The offset here, monotonic - realtime, starts the faked monotonic
    clock at the kernel's value, so only its rate differs (and the realtime clock reads 1970
    plus the uptime: log timestamps of a skewed node are not wall-clock times).
    """
    assert rate > 0, rate
    return f"{monotonic_s - realtime_s:+.6f} x{rate:.6g}"


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
    # For skews: how fast the node's clocks run, relative to real time.
    rate: Optional[float] = None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def _minority(rng: random.Random, nodes: int) -> list[int]:
    return sorted(rng.sample(range(1, nodes + 1), (nodes - 1) // 2))


def _plan(name: str, rng: random.Random, nodes: int) -> tuple[list[int], Optional[list]]:
    everyone = list(range(1, nodes + 1))
    if name in ("kill-one", "pause-one", "partition-one", "skew-fast", "skew-slow",
                "disk-full-one", "disk-eio-one", "slow-leader"):
        return [rng.choice(everyone)], None
    if name == "churn-remove-add":
        # No node chosen: the leader, resolved when the fault begins.
        return ([] if rng.random() < CHURN_LEADER_SHARE else [rng.choice(everyone)]), None
    if name in ("kill-minority", "pause-minority", "partition-halves"):
        return _minority(rng, nodes), None
    if name == "kill-all":
        return everyone, None
    if name in ("pause-leader", "partition-leader", "skew-leader", "disk-full-leader",
                "disk-eio-leader"):
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


def _rate(name: str, rng: random.Random, slow_leader_rate: float) -> Optional[float]:
    if name == "slow-leader":
        return slow_leader_rate
    if name == "skew-fast":
        return SKEW_FAST_RATE
    if name == "skew-slow":
        return SKEW_SLOW_RATE
    if name == "skew-leader":
        return rng.choice([SKEW_FAST_RATE, SKEW_SLOW_RATE])
    return None


def schedule(faults: list[str], nodes: int, seed: int, time_limit_s: float,
             slow_leader_rate: float = SLOW_LEADER_RATE) -> list[Fault]:
    """Faults from `faults`, one at a time: quiet 2-4 s, hold 3-6 s, until the time limit (the
    last fault is healed at least 2 s before it). slow-leader holds 6-9 s: the restart and
    the transfer take the first seconds of it."""
    assert 0 < slow_leader_rate <= 100, slow_leader_rate
    rng = random.Random(seed)
    planned: list[Fault] = []
    if not faults:
        return planned
    t = rng.uniform(2.0, 4.0)
    while True:
        hold = rng.uniform(3.0, 6.0)
        name = rng.choice(faults)
        if name == "slow-leader":
            hold += 3.0
        if t + hold > time_limit_s - 2.0:
            return planned
        chosen, links = _plan(name, rng, nodes)
        rate = _rate(name, rng, slow_leader_rate)
        planned.append(Fault(name, round(t, 3), round(hold, 3), chosen, links, rate))
        t += hold + rng.uniform(2.0, 4.0)


def blocked_pairs(fault: Fault, nodes: int) -> list[tuple[int, int]]:
    """For a partition (and slow-leader: its node from every other), the node pairs to cut."""
    everyone = range(1, nodes + 1)
    all_pairs = [(a, b) for a in everyone for b in everyone if a < b]
    if fault.links is not None:
        keep = {tuple(p) for p in fault.links}
        return [p for p in all_pairs if p not in keep]
    isolated = set(fault.nodes)
    return [(a, b) for a, b in all_pairs if (a in isolated) != (b in isolated)]


# -- what the nodes said -------------------------------------------------------------------

# A storage error naming a full disk, as RocksDB ("IO error: No space left on device") and
# the segment storage (strerror, or the errno name) word it.
_NO_SPACE = re.compile(r"no space left on device|ENOSPC", re.IGNORECASE)
# The EIO of the failing-disk test hook (raft/storage/fault_injecting_log_storage.h), as the
# node and the log manager log it: "EIO: injected disk fault (...): log write failed", or with
# the node's context in between: "EIO: cannot persist term and vote: injected disk fault (...)".
# The arming line itself ("SIGUSR2 armed the injected disk fault; ... fails with EIO") has no
# "EIO:" before the fault's name, so it is not taken for a report of a failed operation.
_INJECTED_EIO = re.compile(r"EIO: .*injected disk fault \(")
# The servers' log lines start "I 23:25:07.286153 file.cc:274] ...".
_LOG_STAMP = re.compile(r"^[DIWE] (\d\d):(\d\d):(\d\d\.\d+) ", re.MULTILINE)


def storage_error_lines(log_text: str, fault: str = "disk-full-one") -> list[str]:
    """The lines of a server's log that report an operation failing under `fault`: on a full
    disk (ENOSPC), or with the injected EIO for the disk-eio faults."""
    pattern = _INJECTED_EIO if fault.startswith("disk-eio-") else _NO_SPACE
    return [line for line in log_text.splitlines() if pattern.search(line)]


def log_time_span_s(log_text: str) -> "Optional[float]":
    """Seconds between the first and the last timestamped line (by the server's clock), or
    None with fewer than two. Spans of more than a day are not told apart."""
    stamps = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in _LOG_STAMP.findall(log_text)]
    if len(stamps) < 2:
        return None
    return (stamps[-1] - stamps[0]) % 86400


@dataclasses.dataclass
class DiskFaultReport:
    """What a node reported while its disk was full, taken just before the heal."""

    fault: str
    node: int
    role: str  # Its Status role ("error", ...), or "exited", or "no answer".
    storage_errors: list[str]  # The first few log lines naming ENOSPC (or the injected EIO).


def check_disk_fault(report: DiskFaultReport) -> dict:
    """A full or failing disk must be noticed and must stop the node: its log names the error,
    and it no longer serves as a leader or follower: it stays up in role "error". A node still
    in the game after failing a write would be acknowledging what it could not persist, or
    after failing a read applying what it could not read; one that exited did not stop
    cleanly."""
    eio = report.fault.startswith("disk-eio-")
    check = {"check": "disk-eio-reported" if eio else "disk-full-reported", "node": report.node,
             "fault": report.fault}
    if not report.storage_errors:
        what = ("the injected EIO", "its disk was failing") if eio else ("ENOSPC",
                                                                        "its disk was full")
        return {**check, "ok": False,
                "detail": f"no storage error naming {what[0]} in n{report.node}.log while "
                          f"{what[1]} (role {report.role})"}
    if report.role != "error":
        return {**check, "ok": False,
                "detail": f"n{report.node} logged a storage error but still says role "
                          f"{report.role}: {report.storage_errors[0]}"}
    return {**check, "ok": True, "detail": f"role {report.role}: {report.storage_errors[0]}"}


@dataclasses.dataclass
class LeaseWindow:
    """What a slow-leader fault let happen, read from the history: the evidence that a run
    did (or did not) open a window for stale lease reads. Times in s after the cut."""
    node: int
    reads_served: int  # ok reads the cut-off node answered to its pinned readers
    last_read_s: Optional[float]
    # The first ok write/cas/fetch_add invoked after the cut (one invoked before may have been
    # committed by the node itself just before it).
    first_write_elsewhere_s: Optional[float]
    healed_s: float

    @property
    def overlapped(self) -> bool:
        """The cut-off node answered a read after a write was acknowledged elsewhere."""
        return (self.last_read_s is not None and self.first_write_elsewhere_s is not None and
                self.last_read_s > self.first_write_elsewhere_s)

    def to_json(self) -> dict:
        return {**dataclasses.asdict(self), "overlapped": self.overlapped}


def lease_windows(history: "list[dict]", nemesis_records: "list[dict]",
                  endpoints: "list[str]") -> list[LeaseWindow]:
    """For each slow-leader fault in nemesis.jsonl's records: what its node served while cut
    off (reads tagged with its "replica") against the first write acknowledged meanwhile.
    Only ok writes invoked after the cut count: the node, cut off, can commit none of those, so
    every one was acknowledged elsewhere."""
    windows = []
    starts: dict[int, dict] = {}
    invoked: dict[int, int] = {}  # id of a completion -> the time of its invoke
    pending: dict[int, int] = {}  # process -> the time of its outstanding invoke
    for e in history:
        if e["type"] == "invoke":
            pending[e.get("process", -1)] = e["time"]
        else:
            invoked[id(e)] = pending.pop(e.get("process", -1), e["time"])
    for record in nemesis_records:
        if record.get("fault") != "slow-leader":
            continue
        node = record["nodes"][0]
        if record["event"] == "start":
            starts[node] = record
            continue
        start = starts.pop(node, None)
        if start is None:
            continue
        t0, t1 = start["time"], record["time"]
        endpoint = endpoints[node - 1]
        reads = [e["time"] for e in history
                 if e.get("replica") == endpoint and e["type"] == "ok" and t0 <= e["time"] <= t1]
        writes = [e["time"] for e in history
                  if e["type"] == "ok" and e["f"] != "read" and t0 <= e["time"] <= t1 and
                  invoked[id(e)] >= t0]

        def since(ns: int) -> float:
            return round((ns - t0) / 1e9, 3)

        windows.append(LeaseWindow(node, len(reads), since(max(reads)) if reads else None,
                                   since(min(writes)) if writes else None, since(t1)))
    return windows
