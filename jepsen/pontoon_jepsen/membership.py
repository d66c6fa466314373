"""Membership changes of a running cluster through raft-cli (docs/operations.md), for the
membership nemesis (churn-remove-add), and the check that the configuration is whole again.

raft-cli exits 0 when the change is done, 1 when it failed and changed nothing, 2 for bad
usage, 3 when the outcome is unknown (the change was sent and may still complete). After 1 or 3
the configuration is read back with list-peers: the change counts as done when the leader's
configuration shows it, and is retried otherwise, until a deadline. Usage errors are a bug of
the driver and raise.
"""

from __future__ import annotations

import dataclasses
import subprocess
import time
from typing import Callable, Optional

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNKNOWN = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True)
class Peers:
    """A configuration as list-peers prints it: "a,b,c,d/learner"."""

    voters: frozenset
    learners: frozenset

    @staticmethod
    def parse(text: str) -> "Peers":
        voters, learners = set(), set()
        for item in filter(None, (w.strip() for w in text.strip().split(","))):
            if item.endswith("/learner"):
                learners.add(item[:-len("/learner")])
            else:
                voters.add(item)
        return Peers(frozenset(voters), frozenset(learners))

    def describe(self) -> str:
        return ",".join(sorted(self.voters) + [f"{p}/learner" for p in sorted(self.learners)])


@dataclasses.dataclass
class CliResult:
    code: int
    out: str


Runner = Callable[[list[str], float], CliResult]


def run_process(argv: list[str], timeout_s: float) -> CliResult:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return CliResult(EXIT_UNKNOWN, f"{argv[0]} did not exit within {timeout_s:g} s")
    return CliResult(done.returncode, (done.stdout + done.stderr).strip())


class RaftCli:
    """raft-cli for one group, asking the replicas `conf` ("ip:port,...")."""

    def __init__(self, binary: str, group: str, conf: str, call_timeout_ms: int = 10000,
                 runner: Runner = run_process, sleep: Callable[[float], None] = time.sleep):
        self.binary = binary
        self.group = group
        self.conf = conf
        self.call_timeout_ms = call_timeout_ms
        self._runner = runner
        self._sleep = sleep
        self.transcript: list[str] = []  # "command -> exit: output", for the nemesis log.

    def _run(self, *command: str) -> CliResult:
        argv = [self.binary, *command, "--group", self.group, "--conf", self.conf,
                "--timeout-ms", str(self.call_timeout_ms)]
        result = self._runner(argv, self.call_timeout_ms / 1000 + 5)
        self.transcript.append(f"{' '.join(command)} -> {result.code}: {result.out}")
        if result.code == EXIT_USAGE:
            raise ValueError(f"raft-cli usage error: {' '.join(argv)}: {result.out}")
        return result

    def list_peers(self) -> Optional[Peers]:
        result = self._run("list-peers")
        return Peers.parse(result.out) if result.code == EXIT_OK else None

    def change(self, command: str, peer: str, done: Callable[[Peers], bool],
               deadline_s: float) -> bool:
        """Runs `raft-cli COMMAND PEER` until the leader's configuration satisfies `done`, or
        the deadline (seconds, time.monotonic()) passes. Returns whether it did."""
        while True:
            result = self._run(command, peer)
            if result.code == EXIT_OK:
                return True
            peers = self.list_peers()  # Failed or unknown: did it happen after all?
            if peers is not None and done(peers):
                return True
            if time.monotonic() >= deadline_s:
                return False
            self._sleep(0.5)

    def remove_peer(self, peer: str, deadline_s: float) -> bool:
        return self.change("remove-peer", peer,
                           lambda p: peer not in p.voters and peer not in p.learners, deadline_s)

    def add_peer(self, peer: str, deadline_s: float) -> bool:
        return self.change("add-peer", peer, lambda p: peer in p.voters, deadline_s)


def check_membership_restored(expected: list[str], peers: Optional[Peers]) -> dict:
    """At the end of a run with membership churn the configuration must be the full set of
    voters again, with no learners left over."""
    check = {"check": "membership-restored", "node": 0}
    want = frozenset(expected)
    if peers is None:
        return {**check, "ok": False, "detail": "list-peers found no leader to ask"}
    if peers.voters != want or peers.learners:
        return {**check, "ok": False,
                "detail": f"configuration {peers.describe()}, expected {','.join(sorted(want))}"}
    return {**check, "ok": True, "detail": peers.describe()}
