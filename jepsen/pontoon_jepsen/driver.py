"""run.py: starts a cluster, drives it with concurrent clients under a nemesis schedule, and
checks the history.

    python3 jepsen/run.py --service counter|atomic --nodes 3|5 --time-limit-s N \
        --nemesis LIST --seed S --out DIR [--clients N] [--bin-dir DIR] [--keys K] \
        [--network auto|loopback|netns] [--op-timeout-s T]
    python3 jepsen/run.py --cleanup

Writes into --out: history.jsonl (docs/jepsen.md's format), nemesis.jsonl (each fault's start
and heal, on the history's clock), run.json (the arguments and the planned schedule),
nodes/nI.log and nodes/nI/ (each server's output and data), verdict.json (check.py's), and
prints a summary. Exit status: 0 valid, 1 invalid, 2 bad usage, 3 undecided, 4 the run itself
failed (a server would not start, no leader was elected).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import shutil
import signal
import sys
import threading
import time
from typing import Any, Optional, TextIO

from . import cli, cluster as cluster_mod, nemesis as nemesis_mod, services, wire
from .client import Client

EXIT_RUN_FAILED = 4

DEFAULT_BIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "build", "example")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        print(f"run.py: {message}", file=sys.stderr)
        sys.exit(cli.EXIT_USAGE)


def _arguments(argv: Optional[list[str]]) -> argparse.Namespace:
    p = _Parser(prog="run.py", description="Runs a service under faults and checks it.")
    p.add_argument("--cleanup", action="store_true",
                   help="remove servers, namespaces and links left by interrupted runs, and exit")
    p.add_argument("--service", choices=sorted(services.SERVICES))
    p.add_argument("--nodes", type=int, choices=(3, 5), default=3)
    p.add_argument("--time-limit-s", type=float, default=60.0, metavar="N",
                   help="how long the workload runs (default %(default)s)")
    p.add_argument("--nemesis", default="kill,pause", metavar="LIST",
                   help="faults or families: " + ", ".join(nemesis_mod.ALL_FAULTS) +
                   "; kill, pause, partition, all, none (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    p.add_argument("--out", metavar="DIR")
    p.add_argument("--clients", type=int, default=30, metavar="N")
    p.add_argument("--keys", type=int, default=20, metavar="K", help="atomic: registers")
    p.add_argument("--bin-dir", default=None, metavar="DIR",
                   help="where counter/ and atomic/ hold the servers, or the servers themselves "
                   f"(default {DEFAULT_BIN_DIR})")
    p.add_argument("--network", choices=("auto", "loopback", "netns"), default="auto",
                   help="auto: netns if the nemesis partitions, else loopback")
    p.add_argument("--op-timeout-s", type=float, default=2.0, metavar="T")
    p.add_argument("--election-timeout-ms", type=int, default=1000, metavar="MS")
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
    if not 1 <= args.keys <= 10000:
        p.error("--keys must be in [1, 10000]")
    if args.op_timeout_s <= 0:
        p.error("--op-timeout-s must be positive")
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
    service = services.SERVICES[args.service]
    bin_dir = args.bin_dir or DEFAULT_BIN_DIR
    nested = os.path.join(bin_dir, args.service)
    args.server_dir = nested if os.path.isdir(nested) else bin_dir
    if not os.access(os.path.join(args.server_dir, service.server_binary), os.X_OK):
        p.error(f"--bin-dir: no {service.server_binary} in {bin_dir} (build it first)")
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
               with_value: bool = False) -> None:
        event: dict[str, Any] = {"process": process, "type": kind, "f": request.f}
        if request.key is not None:
            event["key"] = request.key
        if with_value:
            event["value"] = value
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
                                             args.time_limit_s)

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

    def _run_op(self, client: Client, process: int, request: services.Request,
                workload: Optional[services.Workload] = None) -> str:
        self.history.record(process, "invoke", request, request.value,
                            with_value=request.value is not None)
        kind, value, _ = client.invoke(request)
        self.history.record(process, kind, request, value, with_value=kind == "ok")
        if workload is not None:
            workload.observe(request, kind, value)
        return kind

    # -- nemesis -------------------------------------------------------------------------

    def _node(self, index: int) -> cluster_mod.Node:
        return self.cluster.nodes[index - 1]

    def _begin(self, fault: nemesis_mod.Fault) -> list[int]:
        name = fault.name
        nodes = fault.nodes
        if name.endswith("-leader"):
            leader = find_leader(self.cluster, self.service)
            nodes = [leader.index] if leader else [1]
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
        return nodes

    def _end(self, fault: nemesis_mod.Fault, nodes: list[int]) -> None:
        if fault.name.startswith("kill-"):
            for i in nodes:
                self.cluster.start(self._node(i))
        elif fault.name.startswith("pause-"):
            for i in nodes:
                self.cluster.resume(self._node(i))
        else:
            self.cluster.heal()

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
            nodes = self._begin(fault)
            extra = {"links": fault.links} if fault.links else {}
            self.nemesis_log.log("start", fault.name, nodes=nodes, **extra)
            try:
                self._sleep_until(t0, fault.start_s + fault.hold_s)
            finally:
                self._end(fault, nodes)
                self.nemesis_log.log("stop", fault.name, nodes=nodes)
        self._sleep_until(t0, self.args.time_limit_s)

    def _heal_everything(self) -> None:
        self.cluster.heal()
        for node in self.cluster.nodes:
            self.cluster.resume(node)
            if not node.running:
                self.cluster.start(node)

    # -- the run -------------------------------------------------------------------------

    def run(self) -> int:
        args = self.args
        os.makedirs(os.path.join(args.out, "nodes"), exist_ok=True)
        self.cluster = cluster_mod.Cluster(self.service, args.nodes, args.server_dir, args.out,
                                           args.seed, args.network, args.election_timeout_ms)
        self._write_run_json()
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
        return self._check()

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
                  "clients": a.clients, "keys": a.keys, "network": a.network,
                  "op_timeout_s": a.op_timeout_s, "election_timeout_ms": a.election_timeout_ms,
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
        self._summary(code)
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
            f"run: {a.service} on {a.nodes} nodes ({a.network}), {a.clients} clients, "
            f"{a.time_limit_s:g} s, seed {a.seed}",
            f"operations: {counts['invoke']} invoked, {counts['ok']} ok, {counts['fail']} fail, "
            f"{counts['info']} info",
            "faults: " + (", ".join(f"{n} x{c}" for n, c in sorted(faults.items())) or "none"),
            f"verdict: {verdict} (verdict.json in {a.out})",
        ]
        if code != cli.EXIT_VALID:
            lines.append(f"replay: python3 jepsen/run.py --service {a.service} --nodes {a.nodes} "
                         f"--time-limit-s {a.time_limit_s:g} --nemesis {a.nemesis} "
                         f"--seed {a.seed} --clients {a.clients} --out DIR")
            lines.append("schedule (seconds after the workload started):")
            for f in self.schedule:
                lines.append(f"  {f.start_s:7.3f} +{f.hold_s:.3f}  {f.name} {f.nodes or ''}"
                             f"{' links ' + str(f.links) if f.links else ''}")
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


def _raise_on_signal(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Optional[list[str]] = None, out: TextIO = sys.stdout) -> int:
    args = _arguments(argv)
    if args.cleanup:
        removed = cluster_mod.cleanup_leftovers()
        print("\n".join(removed) if removed else "nothing to clean up", file=out)
        return 0
    if os.path.exists(os.path.join(args.out, "nodes")):
        shutil.rmtree(os.path.join(args.out, "nodes"))
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
