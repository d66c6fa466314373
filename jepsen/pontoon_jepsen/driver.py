"""run.py: starts a cluster, drives it with concurrent clients under a nemesis schedule, and
checks the history.

    python3 jepsen/run.py --service counter|atomic --nodes 3|5 --time-limit-s N \
        --nemesis LIST --seed S --out DIR [--clients N] [--pinned-readers N] [--bin-dir DIR] [--keys K] \
        [--network auto|loopback|netns] [--op-timeout-s T] [--log-storage rocksdb|segments]
        [--disk-limit-mb M] [--read index|lease|wait-free|log] [--max-clock-drift-ms MS] \
        [--slow-leader-rate R] [--raft-cli PATH] [--expect valid|invalid]
    python3 jepsen/run.py --cleanup

Writes into --out: history.jsonl (docs/jepsen.md's format), nemesis.jsonl (each fault's start
and heal, on the history's clock, with what the node reported), run.json (the arguments and
the planned schedule), nodes/nI.log and nodes/nI/ (each server's output and data),
verdict.json (check.py's, plus the driver's own checks of the nodes: "nemesis_checks"), and
prints a summary. A failed driver check (a node that did not catch up after the run, a full
disk the node did not report, a configuration not whole again after membership churn) makes
the run invalid even if the history is linearizable. Exit status: 0 valid, 1 invalid, 2 bad usage, 3 undecided, 4 the run itself
failed (a server would not start, no leader was elected). With --expect invalid (a run meant
to break linearizability): 0 if the checker found the history not linearizable, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Optional, TextIO

from . import cli, cluster as cluster_mod, membership, nemesis as nemesis_mod, services, wire
from .client import Client

EXIT_RUN_FAILED = 4

DEFAULT_BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "build", "example")
# How long a churn may take to remove or add its node, raft-cli retries included.
CHURN_DEADLINE_S = 30.0


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"run.py: {message}", file=sys.stderr)
        sys.exit(cli.EXIT_USAGE)


def _parser() -> _Parser:
    """run.py's command line, before the checks that need the machine (servers, netns...)."""
    p = _Parser(prog="run.py", description="Runs a service under faults and checks it.")
    p.add_argument("--cleanup", action="store_true",
                   help="remove servers, namespaces and links left by interrupted runs, and exit")
    p.add_argument("--service", choices=sorted(services.SERVICES))
    p.add_argument("--nodes", type=int, choices=(3, 5), default=3)
    p.add_argument("--time-limit-s", type=float, default=60.0, metavar="N",
                   help="how long the workload runs (default %(default)s)")
    p.add_argument("--nemesis", default="kill,pause", metavar="LIST",
                   help="faults or families: " + ", ".join(nemesis_mod.ALL_FAULTS) +
                   "; " + ", ".join(nemesis_mod.FAMILIES) + ", all, none (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    p.add_argument("--out", metavar="DIR")
    p.add_argument("--clients", type=int, default=30, metavar="N")
    p.add_argument("--pinned-readers", type=int, default=0, metavar="N",
                   help="N more clients per replica that only read, always from that replica "
                   "(they follow no hint: a cut-off leader's lease reads meet them; default 0)")
    p.add_argument("--keys", type=int, default=20, metavar="K", help="atomic: registers")
    p.add_argument("--bin-dir", default=None, metavar="DIR",
                   help="where counter/ and atomic/ hold the servers, or the servers themselves "
                   f"(default {DEFAULT_BIN_DIR})")
    p.add_argument("--network", choices=("auto", "loopback", "netns"), default="auto",
                   help="auto: netns if the nemesis partitions, else loopback")
    p.add_argument("--op-timeout-s", type=float, default=2.0, metavar="T")
    p.add_argument("--election-timeout-ms", type=int, default=1000, metavar="MS")
    p.add_argument("--read", choices=("index", "lease", "wait-free", "log"), default=None,
                   help="the servers' --read (default: theirs, index)")
    p.add_argument("--max-clock-drift-ms", type=int, default=None, metavar="MS",
                   help="the servers' --max-clock-drift-ms (default: theirs, 100)")
    p.add_argument("--slow-leader-rate", type=float, default=nemesis_mod.SLOW_LEADER_RATE,
                   metavar="R", help="slow-leader: the node's --clock-rate (0 < R <= 100)")
    p.add_argument("--expect", choices=("valid", "invalid"), default="valid",
                   help="invalid: a run meant to break linearizability; exit 0 iff the "
                        "checker finds the history not linearizable (1 otherwise)")
    p.add_argument("--log-storage", choices=("rocksdb", "segments"), default=None,
                   help="passed to the servers (default: theirs, segments)")
    p.add_argument("--disk-limit-mb", type=int, default=64, metavar="M",
                   help="with a disk nemesis: the size of each node's tmpfs (default "
                   "%(default)s: below the ~70 MB RocksDB preallocates for its write-ahead log, "
                   "so that a full disk fails the next write instead of filling a reserve)")
    p.add_argument("--snapshot-interval-s", type=int, default=None, metavar="S",
                   help="passed to the servers: seconds between snapshots (default: theirs, "
                   "3600; 0 turns snapshots off). A long disk run needs a short interval, or "
                   "the log fills the node's tmpfs before anything truncates it")
    p.add_argument("--raft-cli", default=None, metavar="PATH",
                   help="with the membership and slow-leader nemeses: raft-cli (default: "
                   "raft-rpc/raft-cli next to --bin-dir's example/)")
    return p


def _arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    p = _parser()
    args = p.parse_args(argv)
    if args.cleanup:
        return args
    for required in ("service", "out"):
        if getattr(args, required) is None:
            p.error(f"--{required} is required")
    if args.time_limit_s <= 0:
        p.error("--time-limit-s must be positive")
    if not 1 <= args.clients <= 1000:
        p.error("--clients must be in [1, 1000]")
    if not 0 <= args.pinned_readers <= 100:
        p.error("--pinned-readers must be in [0, 100]")
    if not 1 <= args.keys <= 10000:
        p.error("--keys must be in [1, 10000]")
    if args.op_timeout_s <= 0:
        p.error("--op-timeout-s must be positive")
    if not 16 <= args.disk_limit_mb <= 16384:
        p.error("--disk-limit-mb must be in [16, 16384]")
    if args.snapshot_interval_s is not None and not 0 <= args.snapshot_interval_s <= 86400:
        p.error("--snapshot-interval-s must be in [0, 86400]")
    try:
        args.faults = nemesis_mod.parse_nemesis(args.nemesis, args.nodes)
    except ValueError as e:
        p.error(f"--nemesis: {e}")
    if args.seed is None:
        args.seed = int(time.time()) % 1_000_000
    if args.network == "auto":
        args.network = "netns" if nemesis_mod.needs_partitions(args.faults) else "loopback"
    if nemesis_mod.needs_partitions(args.faults) and args.network != "netns":
        p.error("--nemesis: partitions need --network netns")
    if args.network == "netns":
        ok, why = cluster_mod.netns_available()
        if not ok:
            p.error(f"--network netns: {why}")
    if nemesis_mod.needs_faketime(args.faults):
        ok, why = cluster_mod.faketime_available()
        if not ok:
            p.error(f"--nemesis: clock skew needs libfaketime: {why}")
    if nemesis_mod.needs_disk_limits(args.faults):
        ok, why = cluster_mod.tmpfs_available()
        if not ok:
            p.error(f"--nemesis: disk faults need {why}")
    if not 0 < args.slow_leader_rate <= 100:
        p.error("--slow-leader-rate: must be in (0, 100]")
    service = services.SERVICES[args.service]
    bin_dir = args.bin_dir or DEFAULT_BIN_DIR
    nested = os.path.join(bin_dir, args.service)
    args.server_dir = nested if os.path.isdir(nested) else bin_dir
    if not os.access(os.path.join(args.server_dir, service.server_binary), os.X_OK):
        p.error(f"--bin-dir: no {service.server_binary} in {bin_dir} (build it first)")
    if nemesis_mod.needs_raft_cli(args.faults):
        args.raft_cli = args.raft_cli or os.path.join(
            os.path.dirname(os.path.abspath(bin_dir)), "raft-rpc", "raft-cli")
        if not os.access(args.raft_cli, os.X_OK):
            p.error(f"--raft-cli: {args.raft_cli} is not an executable (build raft-cli, or "
                    "name it)")
    return args


class History:
    """The history file: events go through one queue to one writer thread.

    An event's time is taken and its place in the queue fixed under one lock, so the order of
    the lines is the order in which the events happened (invoke before sending, completion
    after the answer), as the checkers require.
    """

    def __init__(self, path: str):
        self._stream = open(path, "w", encoding="utf-8")
        self._queue: queue.Queue = queue.Queue()
        self._lock = threading.Lock()
        self.start_ns = time.monotonic_ns()
        self.counts: dict[str, int] = {"invoke": 0, "ok": 0, "fail": 0, "info": 0}
        self._writer = threading.Thread(target=self._write, name="history-writer", daemon=True)
        self._writer.start()

    def now_ns(self) -> int:
        return time.monotonic_ns() - self.start_ns

    def record(self, process: int, kind: str, request: services.Request, value: Any = None,
               with_value: bool = False, replica: Optional[str] = None,
               error: Optional[str] = None) -> None:
        event: dict[str, Any] = {"process": process, "type": kind, "f": request.f}
        if request.key is not None:
            event["key"] = request.key
        if with_value:
            event["value"] = value
        if replica is not None:
            event["replica"] = replica
        if error is not None:
            event["error"] = error  # Why a call failed or ended unknown, for people.
        with self._lock:
            event["time"] = self.now_ns()
            self.counts[kind] += 1
            self._queue.put(event)

    def _write(self) -> None:
        index = 0
        while True:
            event = self._queue.get()
            if event is None:
                break
            event["index"] = index
            index += 1
            self._stream.write(json.dumps(event) + "\n")
        self._stream.close()

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join()


class NemesisLog:
    def __init__(self, path: str, history: History):
        self._stream = open(path, "w", encoding="utf-8")
        self._history = history
        self.injected: list[str] = []

    def log(self, event: str, fault: str, **fields: Any) -> None:
        record = {"time": self._history.now_ns(), "event": event, "fault": fault, **fields}
        self._stream.write(json.dumps(record) + "\n")
        self._stream.flush()
        if event == "start":
            self.injected.append(fault)

    def close(self) -> None:
        self._stream.close()


def node_status(node: cluster_mod.Node, service: services.Service,
                timeout_s: float = 1.0) -> dict:
    """What the node says of itself (services.parse_status), or {"role": "exited"} or
    {"role": "no answer"}."""
    if not node.running:
        return {"role": "exited"}
    connection = wire.Connection(node.host, node.port)
    try:
        return services.parse_status(connection.call(service.status_method, b"", timeout_s))
    except (wire.NotSent, wire.Lost, wire.RpcError) as e:
        return {"role": "no answer", "error": str(e)}
    finally:
        connection.close()


def find_leader(cluster: cluster_mod.Cluster, service: services.Service,
                timeout_s: float = 0.5) -> Optional[cluster_mod.Node]:
    """The node that says it leads (the highest term wins), or None."""
    best: Optional[tuple[int, cluster_mod.Node]] = None
    for node in cluster.nodes:
        if not node.running or node.paused:
            continue
        connection = wire.Connection(node.host, node.port)
        try:
            status = services.parse_status(connection.call(service.status_method, b"", timeout_s))
        except (wire.NotSent, wire.Lost, wire.RpcError):
            continue
        finally:
            connection.close()
        if status["role"] == "leader" and (best is None or status["term"] > best[0]):
            best = (status["term"], node)
    return best[1] if best else None


def wait_for_leader(cluster, service, timeout_s: float) -> Optional[cluster_mod.Node]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        leader = find_leader(cluster, service)
        if leader is not None:
            return leader
        time.sleep(0.2)
    return None


class Runner:
    def __init__(self, args: argparse.Namespace, out: TextIO):
        self.args = args
        self.out = out
        self.service = services.SERVICES[args.service]
        self.stop = threading.Event()
        self.cluster: Optional[cluster_mod.Cluster] = None
        self.history: Optional[History] = None
        self.nemesis_log: Optional[NemesisLog] = None
        self.workers: list[threading.Thread] = []
        self.schedule = nemesis_mod.schedule(args.faults, args.nodes, args.seed,
                                             args.time_limit_s,
                                             slow_leader_rate=args.slow_leader_rate)
        self._filled: dict[int, int] = {}  # Node index -> its log's size when its disk filled.
        self._failing: dict[int, int] = {}  # The same for disks failing with EIO.
        self.disk_reports: list[nemesis_mod.DiskFaultReport] = []
        self.raft_cli: Optional[membership.RaftCli] = None  # With the membership nemesis.
        self.checks: list[dict] = []  # The driver's own checks, for verdict.json.
        self.lease_windows: list[nemesis_mod.LeaseWindow] = []  # With slow-leader.

    # -- clients -------------------------------------------------------------------------

    def _client_loop(self, process: int) -> None:
        workload = services.Workload(self.service, process, self.args.seed, self.args.keys)
        client = Client(self.cluster.conf().split(","), self.args.op_timeout_s)
        client.target = client.endpoints[process % len(client.endpoints)]
        try:
            while not self.stop.is_set():
                request = workload.next()
                self._run_op(client, process, request, workload)
        finally:
            client.close()

    def _pinned_reader_loop(self, process: int, endpoint: str) -> None:
        workload = services.Workload(self.service, process, self.args.seed, self.args.keys,
                                     reads_only=True)
        client = Client([], self.args.op_timeout_s, pinned_to=endpoint)
        try:
            while not self.stop.is_set():
                self._run_op(client, process, workload.next(), replica=endpoint)
        finally:
            client.close()

    def _run_op(self, client: Client, process: int, request: services.Request,
                workload: Optional[services.Workload] = None,
                replica: Optional[str] = None) -> str:
        """Runs one operation and records it; `replica` (a pinned reader's) goes into its
        completion, for finding who served a read the checker objects to."""
        self.history.record(process, "invoke", request, request.value,
                            with_value=request.value is not None)
        kind, value, why = client.invoke(request)
        self.history.record(process, kind, request, value, with_value=kind == "ok",
                            replica=replica, error=why or None)
        if workload is not None:
            workload.observe(request, kind, value)
        return kind

    # -- nemesis -------------------------------------------------------------------------

    def _node(self, index: int) -> cluster_mod.Node:
        return self.cluster.nodes[index - 1]

    def _begin(self, fault: nemesis_mod.Fault) -> tuple[list[int], dict]:
        """Injects the fault; returns the nodes it hit and what to log with its start."""
        name = fault.name
        nodes = fault.nodes
        # slow-leader names its node in the plan (and makes it the leader itself).
        if ((name.endswith("-leader") and name != "slow-leader") or
                (name.startswith("churn-") and not nodes)):
            leader = find_leader(self.cluster, self.service)
            nodes = [leader.index] if leader else [1]
        if name.startswith("churn-"):
            return nodes, self._begin_churn(self._node(nodes[0]))
        if name.startswith("disk-eio-"):
            return nodes, self._begin_disk_eio(self._node(nodes[0]))
        if name.startswith("skew-"):
            return nodes, self._begin_skew(self._node(nodes[0]), fault.rate)
        if name == "slow-leader":
            return nodes, self._begin_slow_leader(self._node(nodes[0]), fault)
        if name.startswith("disk-"):
            return nodes, self._begin_disk_full(self._node(nodes[0]))
        if name.startswith("kill-"):
            for i in nodes:
                self.cluster.kill(self._node(i))
        elif name.startswith("pause-"):
            for i in nodes:
                self.cluster.pause(self._node(i))
        else:
            planned = nemesis_mod.Fault(name, fault.start_s, fault.hold_s, nodes, fault.links)
            for a, b in nemesis_mod.blocked_pairs(planned, self.args.nodes):
                self.cluster.cut(self._node(a), self._node(b))
        return nodes, {"links": fault.links} if fault.links else {}

    def _end(self, fault: nemesis_mod.Fault, nodes: list[int]) -> dict:
        """Heals the fault; returns what to log with its stop."""
        if fault.name.startswith("skew-"):
            return self._end_skew(self._node(nodes[0]))
        if fault.name.startswith("churn-"):
            return self._end_churn(self._node(nodes[0]))
        if fault.name.startswith("disk-eio-"):
            return self._end_disk_eio(fault.name, self._node(nodes[0]))
        if fault.name == "slow-leader":
            self.cluster.heal()
            node = self._node(nodes[0])
            self.cluster.stop(node)
            self.cluster.start(node)
            return {}
        if fault.name.startswith("disk-"):
            return self._end_disk_full(fault.name, self._node(nodes[0]))
        if fault.name.startswith("kill-"):
            for i in nodes:
                self.cluster.start(self._node(i))
        elif fault.name.startswith("pause-"):
            for i in nodes:
                self.cluster.resume(self._node(i))
        else:
            self.cluster.heal()
        return {}

    def _begin_slow_leader(self, node: cluster_mod.Node, fault: nemesis_mod.Fault) -> dict:
        """Restarts `node` with --clock-rate, hands it leadership, and cuts it from its peers
        (its clients still reach it), so that a lease longer than it should be shows."""
        self.cluster.stop(node)
        self.cluster.start(node, server_clock_rate=fault.rate)
        deadline = time.monotonic() + 3.0
        transferred = ""
        while time.monotonic() < deadline:
            leader = find_leader(self.cluster, self.service)
            if leader is node:
                break
            result = subprocess.run(
                [self.args.raft_cli, "transfer-leader", node.endpoint, "--group",
                 self.cluster.group, "--conf", self.cluster.conf(), "--timeout-ms", "1000"],
                capture_output=True, text=True, timeout=5)
            transferred = (result.stdout + result.stderr).strip()[-200:]
            time.sleep(0.2)
        leads = find_leader(self.cluster, self.service) is node
        for other in self.cluster.nodes:
            if other is not node:
                self.cluster.cut(node, other)
        return {"rate": fault.rate, "leader": leads, "raft_cli": transferred}

    def _begin_skew(self, node: cluster_mod.Node, rate: float) -> dict:
        """Restarts the node on its data under libfaketime, its clocks running at `rate`."""
        self.cluster.stop(node)
        spec = nemesis_mod.faketime_spec(rate, time.time(), time.monotonic())
        self._skew_log_offset = _file_size(node.log_path)
        self.cluster.start(node, faketime=spec, clock_rate=rate)
        self._skew_started = time.monotonic()
        return {"rate": rate, "faketime": spec}

    def _end_skew(self, node: cluster_mod.Node) -> dict:
        """Restarts the node normally. Logs how much time the skewed server's log timestamps
        span against the real time it ran: the evidence that its clock did run at the rate."""
        self.cluster.stop(node)
        real_s = time.monotonic() - self._skew_started
        self.cluster.start(node)
        log_s = nemesis_mod.log_time_span_s(_read_from(node.log_path, self._skew_log_offset))
        fields: dict[str, Any] = {"ran_s": round(real_s, 3)}
        if log_s is not None:
            fields["log_clock_s"] = round(log_s, 3)
        return fields

    def _begin_disk_full(self, node: cluster_mod.Node) -> dict:
        self._filled[node.index] = _file_size(node.log_path)
        filled = self.cluster.fill_disk(node)
        return {"filler_bytes": filled, "free_bytes": self.cluster.free_bytes(node)}

    def _end_disk_full(self, fault_name: str, node: cluster_mod.Node) -> dict:
        """Records what the node said while its disk was full, then frees the disk and
        restarts the node (kill -9 and start: a node stopped on a storage error stays so)."""
        fields = self._report_disk_fault(fault_name, node, self._filled.pop(node.index))
        self.cluster.unfill_disk(node)
        self.cluster.kill(node)
        self.cluster.start(node)
        return fields

    def _begin_disk_eio(self, node: cluster_mod.Node) -> dict:
        self._failing[node.index] = _file_size(node.log_path)
        self.cluster.fail_disk(node)
        return {"signal": "SIGUSR2"}

    def _end_disk_eio(self, fault_name: str, node: cluster_mod.Node) -> dict:
        """Records what the node said while its disk failed, then restarts it on the same data
        (kill -9 and start: the new process has the fault disarmed)."""
        fields = self._report_disk_fault(fault_name, node, self._failing.pop(node.index))
        self.cluster.kill(node)
        self.cluster.start(node)
        return fields

    def _report_disk_fault(self, fault_name: str, node: cluster_mod.Node,
                           log_offset: int) -> dict:
        status = node_status(node, self.service)
        errors = nemesis_mod.storage_error_lines(_read_from(node.log_path, log_offset),
                                                 fault_name)
        self.disk_reports.append(nemesis_mod.DiskFaultReport(fault_name, node.index,
                                                             status["role"], errors[:3]))
        return {"role": status["role"], "storage_errors": errors[:3],
                "storage_error_count": len(errors)}

    def _begin_churn(self, node: cluster_mod.Node) -> dict:
        """Removes the node from the configuration (raft-cli remove-peer), stops it, wipes its
        data and starts it empty with --join, waiting to be added back."""
        cli_log = len(self.raft_cli.transcript)
        leader = find_leader(self.cluster, self.service)
        removed = self.raft_cli.remove_peer(node.endpoint, time.monotonic() + CHURN_DEADLINE_S)
        # Even if the removal was not confirmed the node is not wiped while it may still be a
        # voter: that would be a lost vote and log, not churn.
        if removed:
            self.cluster.kill(node)
            self.cluster.wipe(node)
            node.must_join = True
            self.cluster.start(node)
        return {"removed": removed, "leader_before": leader.index if leader else None,
                "raft_cli": self.raft_cli.transcript[cli_log:]}

    def _end_churn(self, node: cluster_mod.Node) -> dict:
        """Adds the node back (raft-cli add-peer); it catches up from the leader."""
        if not node.must_join:
            return {"added": None}  # The removal never happened: nothing to undo.
        cli_log = len(self.raft_cli.transcript)
        added = self.raft_cli.add_peer(node.endpoint, time.monotonic() + CHURN_DEADLINE_S)
        if added:
            node.must_join = False  # Its log holds the configuration now: --conf is ignored.
        return {"added": added, "raft_cli": self.raft_cli.transcript[cli_log:]}

    def _sleep_until(self, t0: float, at_s: float) -> None:
        while not self.stop.is_set():
            remaining = t0 + at_s - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(remaining, 0.1))

    def _run_nemesis(self, t0: float) -> None:
        for fault in self.schedule:
            self._sleep_until(t0, fault.start_s)
            if self.stop.is_set():
                return
            nodes, extra = self._begin(fault)
            self.nemesis_log.log("start", fault.name, nodes=nodes, **extra)
            healed: dict = {}
            try:
                self._sleep_until(t0, fault.start_s + fault.hold_s)
            finally:
                healed = self._end(fault, nodes)
                self.nemesis_log.log("stop", fault.name, nodes=nodes, **healed)
        self._sleep_until(t0, self.args.time_limit_s)

    def _heal_everything(self) -> None:
        """Undoes whatever an interrupted fault left (normally nothing is left)."""
        self.cluster.heal()
        for node in self.cluster.nodes:
            self.cluster.resume(node)
            if node.index in self._filled:
                self._filled.pop(node.index)
                self.cluster.unfill_disk(node)
                self.cluster.kill(node)
            if node.index in self._failing:
                self._failing.pop(node.index)
                self.cluster.kill(node)
            if node.clock_rate is not None:
                self.cluster.stop(node)
            if not node.running:
                self.cluster.start(node)
        for node in self.cluster.nodes:
            if node.must_join:
                self._end_churn(node)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        os.makedirs(os.path.join(args.out, "nodes"), exist_ok=True)
        disk_limit = (args.disk_limit_mb if nemesis_mod.needs_disk_limits(args.faults)
                      else None)
        server_args = server_arguments(args, args.faults)
        self.cluster = cluster_mod.Cluster(self.service, args.nodes, args.server_dir, args.out,
                                           args.seed, args.network, args.election_timeout_ms,
                                           args.log_storage, disk_limit,
                                           nemesis_mod.needs_disk_eio(args.faults), server_args)
        if nemesis_mod.needs_raft_cli(args.faults):
            self.raft_cli = membership.RaftCli(args.raft_cli, self.cluster.group,
                                               self.cluster.conf())
        self._write_run_json()
        self.cluster.set_up_storage()
        self.cluster.set_up_network()
        self.cluster.start_all()
        if wait_for_leader(self.cluster, self.service, 30.0) is None:
            print("run.py: no leader within 30 s; see nodes/*.log", file=sys.stderr)
            return EXIT_RUN_FAILED
        self.history = History(os.path.join(args.out, "history.jsonl"))
        self.nemesis_log = NemesisLog(os.path.join(args.out, "nemesis.jsonl"), self.history)
        for process in range(args.clients):
            worker = threading.Thread(target=self._client_loop, args=(process,),
                                      name=f"client-{process}", daemon=True)
            worker.start()
            self.workers.append(worker)
        # Pinned readers come after the final reads' process (args.clients).
        endpoints = self.cluster.conf().split(",")
        for i in range(args.pinned_readers * len(endpoints)):
            process = args.clients + 1 + i
            worker = threading.Thread(target=self._pinned_reader_loop,
                                      args=(process, endpoints[i % len(endpoints)]),
                                      name=f"reader-{process}", daemon=True)
            worker.start()
            self.workers.append(worker)
        try:
            self._run_nemesis(time.monotonic())
        finally:
            self.stop.set()
            for worker in self.workers:
                worker.join()
            self._heal_everything()
        leader = wait_for_leader(self.cluster, self.service, 30.0)
        if leader is None:
            print("run.py: no leader within 30 s after healing", file=sys.stderr)
        self._final_reads()
        self.history.close()
        self.nemesis_log.close()
        if "slow-leader" in args.faults:
            self.lease_windows = nemesis_mod.lease_windows(
                _json_lines(os.path.join(args.out, "history.jsonl")),
                _json_lines(os.path.join(args.out, "nemesis.jsonl")),
                self.cluster.conf().split(","))
        self._check_nodes()
        return self._check()

    def _check_nodes(self) -> None:
        """The driver's own checks, after the final reads (no more writes): every node is
        up and has applied what the leader committed (a node that could not restart on its
        data, or does not catch up, fails), every full or failing disk was reported by its
        node, and after membership churn the configuration is the full set of nodes again."""
        self.checks = [nemesis_mod.check_disk_fault(r) for r in self.disk_reports]
        leader = wait_for_leader(self.cluster, self.service, 10.0)
        target = node_status(leader, self.service).get("commit_index") if leader else None
        for node in self.cluster.nodes:
            self.checks.append(self._check_caught_up(node, target))
        if self.raft_cli is not None:
            self.checks.append(membership.check_membership_restored(
                self.cluster.conf().split(","), self.raft_cli.list_peers()))

    def _check_caught_up(self, node: cluster_mod.Node, target: Optional[int]) -> dict:
        check = {"check": "caught-up", "node": node.index}
        if target is None:
            return {**check, "ok": False, "detail": "no leader after the run"}
        deadline = time.monotonic() + 30.0
        while True:
            status = node_status(node, self.service)
            applied = status.get("applied_index")
            if applied is not None and applied >= target and status["role"] != "error":
                return {**check, "ok": True, "detail": f"applied {applied} >= {target}"}
            if time.monotonic() > deadline or status["role"] == "exited":
                return {**check, "ok": False,
                        "detail": f"role {status['role']}, applied {applied}, leader's commit "
                                  f"index {target} (see nodes/n{node.index}.log)"}
            time.sleep(0.2)

    def _final_reads(self) -> None:
        """After every fault is healed and every client is done: reads the checkers can hold
        to the final value (the counter's acked <= final <= acked + unknown)."""
        workload = services.Workload(self.service, self.args.clients, self.args.seed,
                                     self.args.keys)
        client = Client(self.cluster.conf().split(","), max(self.args.op_timeout_s, 5.0))
        try:
            for request in workload.final_reads():
                for _ in range(5):
                    if self._run_op(client, self.args.clients, request) == "ok":
                        break
        finally:
            client.close()

    def _write_run_json(self) -> None:
        a = self.args
        record = {"service": a.service, "nodes": a.nodes, "time_limit_s": a.time_limit_s,
                  "nemesis": a.nemesis, "faults": a.faults, "seed": a.seed,
                  "clients": a.clients, "pinned_readers": a.pinned_readers, "keys": a.keys,
                  "network": a.network, "read": a.read,
                  "max_clock_drift_ms": a.max_clock_drift_ms,
                  "slow_leader_rate": a.slow_leader_rate,
                  "op_timeout_s": a.op_timeout_s, "election_timeout_ms": a.election_timeout_ms,
                  "log_storage": a.log_storage or "segments",
                  "snapshot_interval_s": a.snapshot_interval_s,
                  "disk_limit_mb": a.disk_limit_mb if self.cluster.disk_limit_mb else None,
                  "inject_disk_eio": self.cluster.inject_disk_eio, "raft_cli": a.raft_cli,
                  "endpoints": self.cluster.conf().split(","),
                  "schedule": [f.to_json() for f in self.schedule]}
        with open(os.path.join(a.out, "run.json"), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)

    def _check(self) -> int:
        history_path = os.path.join(self.args.out, "history.jsonl")
        verdict_path = os.path.join(self.args.out, "verdict.json")
        code = cli.main(["--model", self.service.checker_model, "--initial",
                         self.service.checker_initial, "--verdict", verdict_path,
                         history_path], out=self.out)
        failed = [c for c in self.checks if not c["ok"]]
        if os.path.exists(verdict_path):
            with open(verdict_path, encoding="utf-8") as f:
                verdict = json.load(f)
            verdict["nemesis_checks"] = self.checks
            if self.lease_windows:
                verdict["lease_windows"] = [w.to_json() for w in self.lease_windows]
            if failed:
                verdict["valid"] = False
            with open(verdict_path, "w", encoding="utf-8") as f:
                json.dump(verdict, f)
        if failed and code == cli.EXIT_VALID:
            code = cli.EXIT_INVALID
        self._summary(code)
        if self.args.expect == "invalid":
            # Only the checker's "not linearizable" counts: a failed node check does not.
            broken = os.path.exists(verdict_path) and _not_linearizable(verdict_path)
            self.out.write(f"expected: not linearizable; {'so it was' if broken else 'it was not'}"
                           "\n")
            return cli.EXIT_VALID if broken else cli.EXIT_INVALID
        return code

    def _summary(self, code: int) -> None:
        a = self.args
        counts = self.history.counts
        faults: dict[str, int] = {}
        for name in self.nemesis_log.injected:
            faults[name] = faults.get(name, 0) + 1
        verdict = {cli.EXIT_VALID: "valid", cli.EXIT_INVALID: "INVALID",
                   cli.EXIT_UNKNOWN: "unknown"}.get(code, f"checker exit {code}")
        lines = [
            f"run: {a.service} on {a.nodes} nodes ({a.network}), {a.clients} clients"
            + (f" and {a.pinned_readers} pinned readers per replica" if a.pinned_readers else "")
            + f", {a.time_limit_s:g} s, seed {a.seed}",
            f"operations: {counts['invoke']} invoked, {counts['ok']} ok, {counts['fail']} fail, "
            f"{counts['info']} info",
            "faults: " + (", ".join(f"{n} x{c}" for n, c in sorted(faults.items())) or "none"),
            f"node checks: {sum(c['ok'] for c in self.checks)} of {len(self.checks)} passed",
        ]
        lines += [f"  FAILED {c['check']}{' n' + str(c['node']) if c['node'] else ''}: "
                  f"{c['detail']}"
                  for c in self.checks if not c["ok"]]
        for w in self.lease_windows:
            lines.append(
                f"slow-leader n{w.node}: cut off for {w.healed_s:g} s, answered "
                f"{w.reads_served} reads, the last at +{w.last_read_s} s; the first write "
                f"acknowledged elsewhere at +{w.first_write_elsewhere_s} s"
                + (" (overlap: its reads may be stale)" if w.overlapped else ""))
        lines.append(f"verdict: {verdict} (verdict.json in {a.out})")
        if code != cli.EXIT_VALID:
            lines.append("replay: " + replay_command(a))
            lines.append("schedule (seconds after the workload started):")
            for f in self.schedule:
                lines.append(f"  {f.start_s:7.3f} +{f.hold_s:.3f}  {f.name} {f.nodes or ''}"
                             f"{' links ' + str(f.links) if f.links else ''}"
                             f"{' rate x' + format(f.rate, 'g') if f.rate else ''}")
        text = "\n".join(lines) + "\n"
        with open(os.path.join(a.out, "summary.txt"), "w", encoding="utf-8") as f:
            f.write(text)
        self.out.write(text)
        self.out.flush()

    def close(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join(timeout=self.args.op_timeout_s + 1)
        if self.cluster is not None:
            self.cluster.close()
        if self.history is not None and self.history._writer.is_alive():
            self.history.close()


# The options that shape a run, beyond --service/--nodes/--nemesis/--seed, and their defaults:
# a replay line names those that differ.
_REPLAYED_OPTIONS = (("--time-limit-s", "time_limit_s", None), ("--clients", "clients", None),
                     ("--pinned-readers", "pinned_readers", 0), ("--keys", "keys", 20),
                     ("--op-timeout-s", "op_timeout_s", 2.0),
                     ("--election-timeout-ms", "election_timeout_ms", 1000),
                     ("--read", "read", None), ("--max-clock-drift-ms", "max_clock_drift_ms", None),
                     ("--slow-leader-rate", "slow_leader_rate", nemesis_mod.SLOW_LEADER_RATE),
                     ("--log-storage", "log_storage", None),
                     ("--snapshot-interval-s", "snapshot_interval_s", None),
                     ("--disk-limit-mb", "disk_limit_mb", 64), ("--expect", "expect", "valid"))



def server_arguments(args: argparse.Namespace, faults: list[str]) -> list[str]:
    """What every server of the run is given beyond its identity and data directory.

    With a full-disk fault the servers write their log segments without preallocation: in a
    preallocated segment (the default) a node keeps appending into space it reserved before
    the disk filled, which is correct but indistinguishable, from outside, from a node that
    swallowed a failed write; without it the first append after the fill needs new space and
    must fail, which is what the disk-full-reported check asks the node to notice."""
    server_args = []
    if args.read is not None:
        server_args += ["--read", args.read]
    if args.max_clock_drift_ms is not None:
        server_args += ["--max-clock-drift-ms", str(args.max_clock_drift_ms)]
    if args.snapshot_interval_s is not None:
        server_args += ["--snapshot-interval-s", str(args.snapshot_interval_s)]
    if nemesis_mod.needs_disk_limits(faults):
        server_args += ["--no-log-preallocate"]
    return server_args

def replay_command(args: argparse.Namespace) -> str:
    """The command line that runs `args`'s run again (its schedule follows from the seed)."""
    words = ["python3", "jepsen/run.py", "--service", args.service, "--nodes", str(args.nodes),
             "--nemesis", args.nemesis, "--seed", str(args.seed)]
    for flag, attr, default in _REPLAYED_OPTIONS:
        value = getattr(args, attr)
        if value is not None and (default is None or value != default):
            words += [flag, format(value, "g") if isinstance(value, float) else str(value)]
    return " ".join(words + ["--out", "DIR"])


def _not_linearizable(verdict_path: str) -> bool:
    """The checker found an anomaly in the history: the register model's "not-linearizable",
    or any of the counter's (a read out of its bounds, a duplicated or lost increment...).
    The driver's own node checks live apart ("nemesis_checks") and do not count."""
    with open(verdict_path, encoding="utf-8") as f:
        verdict = json.load(f)
    return bool(verdict.get("anomalies"))


def _json_lines(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _file_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _read_from(path: str, offset: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read().decode(errors="replace")


def _raise_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout) -> int:
    args = _arguments(argv)
    if args.cleanup:
        removed = cluster_mod.cleanup_leftovers()
        print("\n".join(removed) if removed else "nothing to clean up", file=out)
        return 0
    nodes_dir = os.path.abspath(os.path.join(args.out, "nodes"))
    if any(m.startswith(nodes_dir + os.sep) for m in cluster_mod.tmpfs_mounts()):
        print(f"run.py: {nodes_dir} still has tmpfs mounts from a killed run; run "
              "'run.py --cleanup' first", file=sys.stderr)
        return EXIT_RUN_FAILED
    if os.path.exists(nodes_dir):
        shutil.rmtree(nodes_dir)
    runner = Runner(args, out)
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGINT, _raise_on_signal)
    try:
        return runner.run()
    except KeyboardInterrupt as e:
        print(f"run.py: interrupted ({e}); cleaning up", file=sys.stderr)
        return 130
    finally:
        # A second signal during cleanup must not leave namespaces behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        runner.close()
