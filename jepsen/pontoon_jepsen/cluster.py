"""The cluster under test: server processes, their network, and everything needed to undo it.

Two networks:

  loopback  every node listens on 127.0.0.1:PORT (ports from the seed, checked free). Enough
            for kill and pause; partitions are impossible (one shared interface).
  netns     every node runs in its own network namespace "pontoon-jepsen-<slot>-n<i>",
            joined to a bridge "pj<slot>br" in the driver's namespace by a veth pair
            ("pj<slot>v<i>" outside, eth0 inside). Node i listens on 10.213.<slot>.i, the
            driver has 10.213.<slot>.254 on the bridge. A partition adds blackhole routes
            inside the namespaces ("ip route add blackhole PEER/32"): packets between cut
            nodes are dropped, established connections included (the route change
            invalidates cached routes), so Raft traffic stops both ways while the driver's
            clients still reach every node. Healing deletes the routes.

Disk limits (for the disk nemeses): every node's data directory is its own tmpfs of a fixed
size, mounted with the source name "pontoon-jepsen-tmpfs" (which is how cleanup_leftovers()
finds it in /proc/mounts), so that filling it fails only that node's writes, with ENOSPC.
close() copies the data out and unmounts it, leaving nodes/nI/ as without limits.

Clock skew: a node can be started under libfaketime (Debian's libfaketime, from the faketime
package), LD_PRELOADed with a FAKETIME spec from nemesis.faketime_spec().

Nothing is sent anywhere but 127.0.0.0/8 and the namespaces created here. Every process,
namespace, link and mount created is recorded and removed by close(), and cleanup_leftovers()
removes anything named with these prefixes after an interrupted run.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import time
from typing import Optional

NETNS_PREFIX = "pontoon-jepsen-"
LINK_PREFIX = "pj"
GROUP_PREFIX = "pontoon-jepsen-"
SUBNET = "10.213"
TMPFS_SOURCE = "pontoon-jepsen-tmpfs"
FILLER_NAME = "jepsen-disk-filler"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def netns_available() -> tuple[bool, str]:
    """Whether namespaces, veth pairs and bridges can be made here (needs root)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    probe = f"{NETNS_PREFIX}probe-{os.getpid()}"
    try:
        _ip("netns", "add", probe)
        _ip("netns", "del", probe)
        return True, ""
    except (OSError, subprocess.CalledProcessError) as e:
        return False, f"'ip netns add' failed: {getattr(e, 'stderr', '') or e}"


def faketime_available() -> tuple[bool, str]:
    if os.path.exists(FAKETIME_LIB):
        return True, ""
    return False, (f"{FAKETIME_LIB} is missing: install Debian's faketime package "
                   "(apt-get install faketime, or scripts/install-deps.sh)")


def tmpfs_available() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "a size-limited data directory per node (mount -t tmpfs) needs root"
    return True, ""


def _mount_points(source: str) -> list[str]:
    """Mount points of tmpfs mounts whose source is `source`, deepest first."""
    points = []
    with open("/proc/mounts", encoding="utf-8") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) >= 3 and fields[0] == source and fields[2] == "tmpfs":
                # /proc/mounts escapes spaces and the like as octal.
                points.append(fields[1].encode().decode("unicode_escape"))
    return sorted(points, key=len, reverse=True)


def tmpfs_mounts() -> list[str]:
    """The data-directory tmpfs mounts of runs (this one's, or ones killed before cleanup)."""
    return _mount_points(TMPFS_SOURCE)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


class Node:
    def __init__(self, index: int, host: str, port: int, netns: Optional[str], data_dir: str,
                 log_path: str):
        self.index = index  # 1-based.
        self.name = f"n{index}"
        self.host = host
        self.port = port
        self.netns = netns
        self.data_dir = data_dir
        self.log_path = log_path
        self.process: Optional[subprocess.Popen] = None
        self.paused = False
        self.clock_rate: Optional[float] = None  # Set while it runs under libfaketime.
        # Set while the node is out of the configuration with its data wiped: it must start
        # with --join (with --conf an empty replica would bootstrap a group of its own).
        self.must_join = False

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Cluster:
    def __init__(self, service, nodes: int, bin_dir: str, out_dir: str, seed: int,
                 network: str, election_timeout_ms: int = 1000,
                 log_storage: Optional[str] = None, disk_limit_mb: Optional[int] = None,
                 inject_disk_eio: bool = False,
                 server_args: Optional[list[str]] = None):
        self.service = service
        self.bin = os.path.join(bin_dir, service.server_binary)
        if not os.access(self.bin, os.X_OK):
            raise FileNotFoundError(f"--bin-dir: no executable {self.bin}")
        self.network = network
        self.election_timeout_ms = election_timeout_ms
        self.log_storage = log_storage  # None: the server's default.
        self.server_args = list(server_args or [])  # Given to every server (e.g. --read).
        self.disk_limit_mb = disk_limit_mb  # None: data directories on the ordinary disk.
        # Start the servers with the test hook --inject-disk-eio-on-signal (SIGUSR2 fails
        # their storage with EIO: fail_disk()).
        self.inject_disk_eio = inject_disk_eio
        self.group = f"{GROUP_PREFIX}{service.name}"
        self.slot = self._pick_slot(seed) if network == "netns" else None
        base_port = self._pick_base_port(seed, nodes)
        self.nodes: list[Node] = []
        for i in range(1, nodes + 1):
            host = f"{SUBNET}.{self.slot}.{i}" if self.slot is not None else "127.0.0.1"
            netns = f"{NETNS_PREFIX}{self.slot}-n{i}" if self.slot is not None else None
            port = base_port if self.slot is not None else base_port + i - 1
            self.nodes.append(Node(i, host, port, netns, os.path.join(out_dir, "nodes", f"n{i}"),
                                   os.path.join(out_dir, "nodes", f"n{i}.log")))
        self._namespaces: list[str] = []
        self._links: list[str] = []
        self._routes: set[tuple[str, str]] = set()  # (netns, blackholed address)
        self._mounts: list[str] = []

    # -- setup ---------------------------------------------------------------------------

    def _pick_slot(self, seed: int) -> int:
        """A /24 under 10.213 no interface uses and no other run holds."""
        used = _ip("-o", "addr").stdout
        existing = _ip("netns", "list").stdout
        for attempt in range(200):
            slot = 1 + (seed + attempt) % 240
            if f"{SUBNET}.{slot}." in used or f"{NETNS_PREFIX}{slot}-" in existing:
                continue
            return slot
        raise RuntimeError("no free 10.213.x.0/24 for the namespaces")

    def _pick_base_port(self, seed: int, nodes: int) -> int:
        for attempt in range(100):
            base = 20000 + ((seed * 7919 + attempt * 104729) % 10000)
            if all(port_free("127.0.0.1", base + i) for i in range(nodes)):
                return base
        raise RuntimeError("no free ports in 20000-30000")

    def set_up_network(self) -> None:
        if self.slot is None:
            return
        bridge = f"{LINK_PREFIX}{self.slot}br"
        _ip("link", "add", bridge, "type", "bridge")
        self._links.append(bridge)
        _ip("addr", "add", f"{SUBNET}.{self.slot}.254/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for node in self.nodes:
            _ip("netns", "add", node.netns)
            self._namespaces.append(node.netns)
            veth = f"{LINK_PREFIX}{self.slot}v{node.index}"
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", node.netns)
            self._links.append(veth)
            _ip("link", "set", veth, "master", bridge, "up")
            _ip("-n", node.netns, "addr", "add", f"{node.host}/24", "dev", "eth0")
            _ip("-n", node.netns, "link", "set", "eth0", "up")
            _ip("-n", node.netns, "link", "set", "lo", "up")

    def set_up_storage(self) -> None:
        """With a disk limit: mounts each node's data directory as its own tmpfs."""
        if self.disk_limit_mb is None:
            return
        for node in self.nodes:
            os.makedirs(node.data_dir, exist_ok=True)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.disk_limit_mb}m,mode=0755",
                            TMPFS_SOURCE, node.data_dir], check=True, capture_output=True,
                           text=True)
            self._mounts.append(node.data_dir)

    def fill_disk(self, node: Node) -> int:
        """Writes a filler file into the node's data directory until the file system is full
        (ENOSPC). Returns the bytes written. REQUIRES: a disk limit (it would fill the real
        disk otherwise)."""
        assert node.data_dir in self._mounts, "fill_disk needs the node's data on its tmpfs"
        written = 0
        with open(os.path.join(node.data_dir, FILLER_NAME), "wb", buffering=0) as filler:
            for chunk_size in (1 << 20, 1 << 12, 1):
                chunk = b"\0" * chunk_size
                while True:
                    try:
                        written += filler.write(chunk)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
        return written

    def unfill_disk(self, node: Node) -> None:
        try:
            os.remove(os.path.join(node.data_dir, FILLER_NAME))
        except FileNotFoundError:
            pass

    def fail_disk(self, node: Node) -> None:
        """Arms the node's injected disk fault (SIGUSR2; the server's sigwait thread takes it):
        every log and meta write and log read fails with EIO from now on, until a restart.
        REQUIRES: inject_disk_eio (without the hook SIGUSR2 would kill the server)."""
        assert self.inject_disk_eio, "fail_disk needs the servers started with the test hook"
        if node.running:
            node.process.send_signal(signal.SIGUSR2)

    def wipe(self, node: Node) -> None:
        """Deletes everything in the node's data directory. REQUIRES: the node is stopped."""
        assert not node.running
        for name in os.listdir(node.data_dir):
            path = os.path.join(node.data_dir, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)

    def free_bytes(self, node: Node) -> int:
        stat = os.statvfs(node.data_dir)
        return stat.f_bavail * stat.f_frsize

    # -- processes -----------------------------------------------------------------------

    def conf(self) -> str:
        return ",".join(node.endpoint for node in self.nodes)

    def start(self, node: Node, faketime: Optional[str] = None,
              clock_rate: Optional[float] = None, server_clock_rate: Optional[float] = None
              ) -> None:
        """Starts the node's server on its data directory; with `faketime` (a FAKETIME spec),
        under libfaketime, its clocks running at `clock_rate`; with `server_clock_rate`, with
        the server's own --clock-rate test hook (clock and timers)."""
        assert not node.running
        os.makedirs(node.data_dir, exist_ok=True)
        membership = ["--join"] if node.must_join else ["--conf", self.conf()]
        command = [self.bin, "--group", self.group, "--peer", node.endpoint, *membership,
                   "--data", node.data_dir, "--election-timeout-ms", str(self.election_timeout_ms)]
        if self.log_storage is not None:
            command += ["--log-storage", self.log_storage]
        command += self.server_args
        if server_clock_rate is not None:
            command += ["--clock-rate", f"{server_clock_rate:g}"]
        if self.inject_disk_eio:
            command.append("--inject-disk-eio-on-signal")
        env = None
        if faketime is not None:
            # "ip netns exec" runs under it too, before exec()ing the server; harmless.
            env = dict(os.environ, LD_PRELOAD=FAKETIME_LIB, FAKETIME=faketime)
        if node.netns:
            command = ["ip", "netns", "exec", node.netns] + command  # exec()s: same pid.
        log = open(node.log_path, "ab")
        under = f"FAKETIME='{faketime}' LD_PRELOAD={FAKETIME_LIB} " if faketime else ""
        log.write(f"==== {time.strftime('%H:%M:%S')} starting {under}{' '.join(command)}\n"
                  .encode())
        log.flush()
        node.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        env=env)
        log.close()
        node.paused = False
        node.clock_rate = clock_rate if faketime is not None else server_clock_rate

    def start_all(self) -> None:
        for node in self.nodes:
            self.start(node)

    def kill(self, node: Node) -> None:
        if node.running:
            node.process.send_signal(signal.SIGKILL)
            node.process.wait()
        node.paused = False

    def stop(self, node: Node, timeout_s: float = 5.0) -> None:
        """Stops the node as an operator would (SIGTERM), SIGKILL if it takes too long."""
        if not node.running:
            return
        node.process.send_signal(signal.SIGCONT)
        node.process.send_signal(signal.SIGTERM)
        try:
            node.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()
        node.paused = False

    def pause(self, node: Node) -> None:
        if node.running:
            node.process.send_signal(signal.SIGSTOP)
            node.paused = True

    def resume(self, node: Node) -> None:
        if node.running and node.paused:
            node.process.send_signal(signal.SIGCONT)
        node.paused = False

    # -- partitions ----------------------------------------------------------------------

    def cut(self, a: Node, b: Node) -> None:
        """Drops every packet between a and b, both ways."""
        assert self.slot is not None, "partitions need --network netns"
        for node, peer in ((a, b), (b, a)):
            if (node.netns, peer.host) not in self._routes:
                _ip("-n", node.netns, "route", "add", "blackhole", f"{peer.host}/32")
                self._routes.add((node.netns, peer.host))

    def heal(self) -> None:
        for netns, host in sorted(self._routes):
            _ip("-n", netns, "route", "del", "blackhole", f"{host}/32", check=False)
        self._routes.clear()

    # -- teardown ------------------------------------------------------------------------

    def stop_all(self) -> None:
        """Stops every server: SIGCONT (a stopped process cannot act on SIGTERM), SIGTERM, then
        SIGKILL for any still there after a few seconds."""
        for node in self.nodes:
            if node.running:
                node.process.send_signal(signal.SIGCONT)
                node.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        for node in self.nodes:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    def close(self) -> None:
        """Removes everything this cluster created. Safe to call more than once."""
        try:
            self.stop_all()
        finally:
            self.heal()
            for netns in self._namespaces:
                _ip("netns", "del", netns, check=False)
            for link in reversed(self._links):
                _ip("link", "del", link, check=False)
            self._namespaces.clear()
            self._links.clear()
            for mount_point in self._mounts:
                _unmount_keeping_data(mount_point)
            self._mounts.clear()


def _unmount_keeping_data(mount_point: str) -> None:
    """Unmounts a node's tmpfs, leaving a copy of its data (without the filler) in its place."""
    saved = mount_point + ".saved"
    try:
        shutil.copytree(mount_point, saved, symlinks=True,
                        ignore=shutil.ignore_patterns(FILLER_NAME))
    except (OSError, shutil.Error):
        saved = None  # The data is lost with the tmpfs; the node's log is outside it.
    subprocess.run(["umount", mount_point], check=False, capture_output=True)
    if saved and not os.path.ismount(mount_point):
        shutil.rmtree(mount_point, ignore_errors=True)
        os.rename(saved, mount_point)


def cleanup_leftovers() -> list[str]:
    """Removes servers, namespaces and links left by runs that could not clean up (kill -9 of
    the driver). Touches only names with this module's prefixes. Returns what it removed."""
    removed = []
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        netns = line.split()[0] if line.split() else ""
        if not netns.startswith(NETNS_PREFIX):
            continue
        for pid in _ip("netns", "pids", netns, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
                removed.append(f"process {pid} in {netns}")
            except (ProcessLookupError, ValueError):
                pass
        _ip("netns", "del", netns, check=False)
        removed.append(f"netns {netns}")
    for line in _ip("-o", "link", check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) < 2:
            continue
        link = parts[1].strip().split("@")[0]
        if link.startswith(LINK_PREFIX) and link[len(LINK_PREFIX):len(LINK_PREFIX) + 1].isdigit():
            _ip("link", "del", link, check=False)
            removed.append(f"link {link}")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"--group" in argv and any(a.startswith(GROUP_PREFIX.encode()) for a in argv):
            try:
                os.kill(int(pid), signal.SIGKILL)
                removed.append(f"process {pid} ({argv[0].decode(errors='replace')})")
            except ProcessLookupError:
                pass
    for mount_point in tmpfs_mounts():
        if subprocess.run(["umount", mount_point], check=False,
                          capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", mount_point], check=False, capture_output=True)
        removed.append(f"tmpfs {mount_point}")
    return removed
