"""The local provider: short-lived isolated nodes on this machine, made from namespaces.

Each node is an ``sshd`` running as PID 1 in its own PID, mount, UTS, IPC and network
namespaces, on a copy-on-write overlay of a base image, reachable only over a veth pair from
an executor network namespace made for it. Built from util-linux ``unshare``/``nsenter``/
``setpriv``, ``mount`` and iproute2 ``ip``, all in Debian's base system; needs root.

Node root is not host root: the node runs in a user namespace that maps its ids to a range
of 65536 host ids of its own (``userns``), its image layers are mounted idmapped, every
other namespace belongs to the host (so node root cannot mount, mknod or reconfigure its
network), ``/proc/sys`` and ``/sys`` are read-only, and a seccomp filter refuses the usual
escape calls (``syscall_filter``). ``nodeinit`` sets this up; docs/security.md says what it
protects and what not (the shared kernel above all).

Leak safety: the node's state folder ``<state_root>/<node id>/`` records its PID and
namespace names; supervisors die with this process (see ``spawner``) and take their node
along (``unshare --kill-child``); ``sweep`` removes what is left after a crash.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import logging
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from keepgreen.domain.node import Node, NodeState, ResourceId
from keepgreen.nodes import boot, disk, network, preflight, process, record, spawner
from keepgreen.nodes.cgroup import Cgroups, NodeCgroup, NodeLimits, choose
from keepgreen.nodes.image import Image, host_image, load_image
from keepgreen.nodes.leaks import plan_sweep
from keepgreen.nodes.userns import IdRange

NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SSH_PORT = 22
# What the node's processes start with: nothing of the launcher's environment (which may
# hold credentials) reaches a node.
NODE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"}
_LISTEN = "0A"
log = logging.getLogger(__name__)
T = TypeVar("T")


class NodeLaunchError(RuntimeError):
    """A node did not become ready; the message says why and quotes its console."""


class LocalProvider:
    """Nodes as namespaces on this machine. See the module docstring for the contract."""

    def __init__(self, state_root: Path, image: Path | None = None, *, name: str = "local",
                 labels: Sequence[str] = ("local",), ready_timeout: float = 30.0,
                 limits: NodeLimits | None = None, disk_bytes: int = 0) -> None:
        self.state_root = Path(state_root).absolute()
        if re.search(r"[,:\s]", str(self.state_root)):
            # overlayfs options are comma- and colon-separated; such paths cannot be passed.
            raise ValueError(f"state folder {self.state_root} must not contain ',', ':' or "
                             "spaces; choose another path for the local provider")
        self.name = name
        self.labels = tuple(labels)
        self.ready_timeout = ready_timeout
        self._image_path = image
        self._image: Image | None = None
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # nodes this object is creating or deleting right now
        self._supervisors: dict[str, subprocess.Popen[bytes]] = {}
        self._suspects: frozenset[ResourceId] = frozenset()
        # Tags this provider's network namespaces, which are machine-wide (see network.names).
        self.tag = hashlib.sha256(str(self.state_root).encode()).hexdigest()[:6]
        self.limits = limits or NodeLimits()
        # Each node's writable layers on a filesystem of this size; 0 means on the site's disk.
        self.disk_bytes = disk_bytes
        # Chosen even without limits, so the sweep still finds node cgroups left behind.
        found = choose()
        self.cgroups: Cgroups | None = None if isinstance(found, str) else found
        self.limits_problem = found if isinstance(found, str) and self.limits.any else None
        if self.limits_problem:
            log.warning("provider %s: nodes run without memory and CPU limits: %s",
                        name, self.limits_problem)

    # --- setup shared by all nodes --------------------------------------------------------

    def preflight(self) -> str | None:
        """Why this machine cannot make nodes (see ``nodes.preflight``), or None."""
        found = preflight.problems()
        return "; ".join(found) if found else None

    @property
    def client_key(self) -> Path:
        """The private key executors log in to every node of this provider with."""
        return self.state_root / ".client" / "id_ed25519"

    def image(self) -> Image:
        """The base image, building the host-derived default on first need."""
        with self._lock:
            if self._image is None:
                if self._image_path is None:
                    self._image = host_image(self.state_root / ".image-host")
                else:
                    self._image = load_image(self._image_path)
                    self._image.check()
            return self._image

    @contextmanager
    def _allocation_lock(self) -> Iterator[None]:
        # A file lock, not a thread lock: launchers in other processes share the state root.
        self.state_root.mkdir(parents=True, exist_ok=True)
        with open(self.state_root / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _ensure_client_key(self) -> None:
        if not self.client_key.exists():
            self.client_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _keygen(self.client_key, f"keepgreen-{self.name}")

    # --- create ---------------------------------------------------------------------------

    def create(self, label: str, node_id: str) -> Node:
        if label not in self.labels:
            raise ValueError(f"provider {self.name!r} has no label {label!r}; "
                             f"it offers {', '.join(self.labels)}")
        if not NODE_ID.match(node_id):
            raise ValueError(f"node id {node_id!r} must be 1-40 lowercase letters, digits or "
                             "'-', starting with a letter or digit")
        image = self.image()
        created = time.time()
        with self._lock:
            if node_id in self._busy:
                raise ValueError(f"node id {node_id!r} is being created or deleted already")
            self._busy.add(node_id)
        try:
            with self._allocation_lock():
                self._ensure_client_key()
                if (self.state_root / node_id).exists():
                    raise ValueError(f"node id {node_id!r} is already in use under "
                                     f"{self.state_root}")
                link = network.Link(self._free_slot(), node_id, self.tag)
                # The slot is unique among this site's nodes, and so is the id range from it.
                layout = boot.Layout(self.state_root / node_id, image,
                                     disk=bool(self.disk_bytes),
                                     ids=IdRange.for_slot(link.slot))
                layout.state_dir.mkdir(mode=0o700)
                node = Node(id=node_id, label=label, provider=self.name,
                            state=NodeState.BUILDING, host=link.node_address, port=SSH_PORT,
                            private_key=self.client_key,
                            netns=(link.node_netns, link.exec_netns),
                            state_dir=layout.state_dir, created_at=created)
                record.save(record.Record(node, link.slot, ids=layout.ids))
            try:
                return self._boot(node, link, layout)
            except BaseException as exc:
                console = _tail(self.state_root / node_id / "console.log")
                self._destroy(node_id)
                if not isinstance(exc, Exception):
                    raise  # KeyboardInterrupt and friends, after cleaning up
                raise NodeLaunchError(f"node {node_id} failed to start: {exc}"
                                      + (f"\nconsole:\n{console}" if console else "")) from exc
        finally:
            with self._lock:
                self._busy.discard(node_id)

    def _free_slot(self) -> int:
        used = {entry.slot for entry in record.load_all(self.state_root)}
        for slot in range(network.SLOTS):
            if slot not in used:
                return slot
        raise NodeLaunchError("every 198.18.0.0/15 address slot is taken; delete nodes first")

    def _boot(self, node: Node, link: network.Link, layout: boot.Layout) -> Node:
        hostname = f"node-{node.id}"
        _keygen(layout.host_key, hostname)
        host_public = layout.host_key.with_suffix(".pub").read_text().strip()
        node = _replace(node, host_key=host_public)
        layout.known_hosts.write_text(node.known_hosts_line + "\n")
        network.create(link)
        boot.populate(layout, hostname=hostname, address=link.node_address, port=SSH_PORT,
                      host_key=(layout.host_key.read_text(), host_public + "\n"),
                      client_public_key=self.client_key.with_suffix(".pub").read_text())
        if layout.disk:
            # The layers just written move into the node's own filesystem, which the init
            # script mounts where they were (see nodes/disk.py).
            disk.make_image(layout.disk_image, self.disk_bytes, layout.layers)
            shutil.rmtree(layout.layers)
            layout.layers.mkdir(mode=0o700)
        init = boot.write_init_plan(layout, hostname)
        argv = ["nsenter", f"--net={network.NETNS_DIR / link.node_netns}", "--",
                "unshare", "--fork", "--kill-child", "--pid", "--mount", "--uts", "--ipc",
                "--propagation", "private", *init]
        supervisor = spawner.shared().spawn(argv, NODE_ENV, layout.console)
        with self._lock:
            self._supervisors[node.id] = supervisor
        deadline = time.monotonic() + self.ready_timeout
        pid1 = _wait_for(lambda: _first_child(supervisor), supervisor, deadline,
                         "the node's PID 1 to start")
        supervisor_ref = process.ref(supervisor.pid)
        node = _replace(node, pid=pid1.pid)
        if self.limits.any and self.cgroups is not None:
            cgroup = self._cgroup(node.id)
            cgroup.create(self.limits)
            # PID 1 is in before sshd forks anything a build runs, so all of it is limited.
            cgroup.add(pid1.pid)
        record.save(record.Record(node, link.slot, supervisor_ref, pid1, layout.ids))
        _wait_for(lambda: _listening(pid1.pid, SSH_PORT) or None, supervisor, deadline,
                  "sshd to listen")
        probe = [*self.ssh_command(node), "true"]
        while True:
            result = subprocess.run(probe, capture_output=True, text=True, check=False,
                                    stdin=subprocess.DEVNULL)
            if result.returncode == 0:
                break
            if supervisor.poll() is not None or time.monotonic() > deadline:
                raise NodeLaunchError(f"node {node.id} did not accept ssh within "
                                      f"{self.ready_timeout:.0f} s: {result.stderr.strip()}")
            time.sleep(0.02)
        node = _replace(node, state=NodeState.READY, ready_at=time.time())
        record.save(record.Record(node, link.slot, supervisor_ref, pid1, layout.ids))
        return node

    # --- use ------------------------------------------------------------------------------

    def ssh_command(self, node: Node, *, multiplex: bool = True) -> list[str]:
        """The argv prefix that runs a command on the node over ssh, host key checked.

        With ``multiplex`` the first connection stays open for 60 s and later commands reuse
        it: a fresh connection costs 0.15-0.3 s here, a multiplexed command about 0.01 s.
        """
        assert node.state_dir is not None and len(node.netns) == 2
        argv = ["ip", "netns", "exec", node.netns[1], "ssh", "-F", "/dev/null",
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                "-o", f"UserKnownHostsFile={node.state_dir / 'known_hosts'}",
                "-o", "GlobalKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
                "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
                "-i", str(node.private_key), "-p", str(node.port)]
        control = node.state_dir / "ssh.sock"
        # sun_path holds 108 bytes, and ssh binds the socket under a name 17 characters
        # longer before renaming it; a deeper state folder goes without multiplexing.
        if multiplex and len(str(control)) + 17 < 108:
            argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={control}",
                     "-o", "ControlPersist=60"]
        return [*argv, f"{node.username}@{node.host}"]

    def run(self, node: Node, command: str | Sequence[str], *, input: str | None = None,
            timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command inside the node through its namespaces (no ssh), as root."""
        if node.pid is None:
            raise ValueError(f"node {node.id} has no process; it is not running")
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        return subprocess.run(
            ["nsenter", "-t", str(node.pid), "-m", "-u", "-i", "-n", "-p", "-r", "-w", *argv],
            input=input, capture_output=True, text=True, timeout=timeout, env=NODE_ENV,
            check=False)

    def _cgroup(self, node_id: str) -> NodeCgroup:
        assert self.cgroups is not None
        return self.cgroups.node(f"{self.tag}-{node_id}")

    def out_of_memory(self, node: Node) -> str | None:
        """Why the node failed its build for want of memory, or None if it did not."""
        if not self.limits.memory_bytes or self.cgroups is None:
            return None
        if self._cgroup(node.id).oom_kills() == 0:
            return None
        return (f"node {node.id} ran out of memory (limit "
                f"{_size(self.limits.memory_bytes)})")

    def out_of_disk(self, node: Node) -> str | None:
        """Why the node failed its build for want of disk space, or None if it did not.

        Read while the node runs: its root overlay reports the filesystem of its layers.
        """
        if not self.disk_bytes or node.pid is None:
            return None
        found = disk.usage(process.PROC / str(node.pid) / "root")
        if found is None or not found.full:
            return None
        return f"node {node.id} ran out of disk space (limit {_size(self.disk_bytes)})"

    # --- delete and sweep -----------------------------------------------------------------

    def delete(self, node: Node) -> None:
        """Kill the node's processes, remove its namespaces and state folder. Idempotent."""
        with self._lock:
            self._busy.add(node.id)
        try:
            self._destroy(node.id)
        finally:
            with self._lock:
                self._busy.discard(node.id)

    def _destroy(self, node_id: str) -> None:
        state_dir = self.state_root / node_id
        recorded = record.load(state_dir)
        names = list(network.names(self.tag, node_id))
        victims = [ref for ref in (recorded.pid1, recorded.supervisor) if ref] if recorded else []
        victims += self._supervisor_processes(node_id)
        victims += network.processes_in(names)
        for victim in victims:
            process.kill(victim)
        self._reap({node_id})
        if not process.wait_gone(victims, timeout=10):
            raise RuntimeError(f"processes of node {node_id} survived SIGKILL: "
                               + ", ".join(str(v) for v in victims if process.alive(v)))
        network.delete(names)
        if self.cgroups is not None:
            self._cgroup(node_id).remove()
        disk.release(state_dir)  # before the folder goes: a mount there would be emptied
        shutil.rmtree(state_dir, ignore_errors=True)
        if state_dir.exists():
            raise RuntimeError(f"could not remove {state_dir}")

    def _supervisor_processes(self, node_id: str | None = None) -> list[process.ProcessRef]:
        """Supervisors still running, found by the init script path in their command line."""
        prefix = str(self.state_root) + "/"
        found = []
        for pid in process.all_pids():
            for arg in process.cmdline(pid):
                if arg.startswith(prefix) and arg.endswith("/" + boot.INIT_PLAN):
                    owner = arg[len(prefix):].split("/", 1)[0]
                    ref = process.ref(pid)
                    if ref is not None and node_id in (None, owner):
                        found.append(ref)
                    break
        return found

    def list_resources(self) -> list[ResourceId]:
        """Our processes, network namespaces, state folders, cgroups and disk mounts and loop
        devices, tagged with node ids."""
        resources: list[ResourceId] = []
        for name in network.listed(self.tag):
            node_id = network.node_id_of(name, self.tag)
            resources.append(ResourceId("netns", name, node_id))
            for ref in network.processes_in([name]):
                resources.append(ResourceId("process", str(ref), node_id))
        for ref in self._supervisor_processes():
            owner = self._owner_of_supervisor(ref.pid)
            resources.append(ResourceId("process", str(ref), owner))
        if self.state_root.is_dir():
            for entry in sorted(self.state_root.iterdir()):
                if entry.is_dir() and not entry.name.startswith("."):
                    resources.append(ResourceId("state-dir", str(entry), entry.name))
        mine = f"{self.tag}-"
        for name in self.cgroups.names() if self.cgroups is not None else ():
            if name.startswith(mine):
                resources.append(ResourceId("cgroup", name, name[len(mine):]))
        for point in disk.mounts(self.state_root):
            owner = self._owner_of_path(point)
            if owner is not None:
                resources.append(ResourceId("mount", str(point), owner))
        for device, backing in disk.loops(self.state_root):
            owner = self._owner_of_path(backing)
            if owner is not None:
                resources.append(ResourceId("loop", device, owner))
        return sorted(set(resources))

    def _owner_of_path(self, path: Path) -> str | None:
        """The node whose state folder holds ``path``; None for the provider's own folders
        (``.image-host``, ``.client``), which are no node's and never swept."""
        first = path.relative_to(self.state_root).parts[0]
        return None if first.startswith(".") else first

    def _owner_of_supervisor(self, pid: int) -> str | None:
        prefix = str(self.state_root) + "/"
        for arg in process.cmdline(pid):
            if arg.startswith(prefix):
                return arg[len(prefix):].split("/", 1)[0]
        return None

    def sweep(self, known_ids: Collection[str],
              cleanup_ids: Collection[str] = ()) -> list[ResourceId]:
        """Delete leaked resources; returns what was deleted.

        A resource of a node not in ``known_ids`` goes on its second sighting in a row;
        everything of a node in ``cleanup_ids`` goes now. Nodes this object is creating or
        deleting at the moment are left alone, like locked nodes in Nodepool.
        """
        with self._lock:
            busy = set(self._busy)
        plan = plan_sweep(self.list_resources(), set(known_ids) | busy,
                          set(cleanup_ids) - busy, self._suspects)
        self._suspects = plan.suspects
        self._reap({r.node_id for r in plan.delete if r.node_id})
        order = {"process": 0, "netns": 1, "cgroup": 2, "mount": 3, "loop": 4, "state-dir": 5}
        for resource in sorted(plan.delete, key=lambda r: order.get(r.kind, 5)):
            if resource.kind == "process":
                process.kill(process.ProcessRef.parse(resource.name))
            elif resource.kind == "netns":
                for ref in network.processes_in([resource.name]):
                    process.kill(ref)
                network.delete([resource.name])
            elif resource.kind == "cgroup" and self.cgroups is not None:
                try:
                    self.cgroups.node(resource.name).remove()
                except RuntimeError as exc:
                    log.warning("sweep: %s; the next sweep tries again", exc)
            elif resource.kind == "mount":
                try:
                    disk.unmount(Path(resource.name))
                except RuntimeError as exc:
                    log.warning("sweep: %s; the next sweep tries again", exc)
            elif resource.kind == "loop":
                disk.detach(resource.name)
            elif resource.kind == "state-dir":
                disk.release(Path(resource.name))
                shutil.rmtree(resource.name, ignore_errors=True)
        return list(plan.delete)

    def _reap(self, node_ids: set[str]) -> None:
        """Kill and wait for supervisors this object started, so none stays a zombie."""
        with self._lock:
            mine = [self._supervisors.pop(i) for i in node_ids if i in self._supervisors]
        for supervisor in mine:
            supervisor.kill()
            supervisor.wait(timeout=10)

    def nodes(self) -> list[Node]:
        """The nodes recorded under the state root, e.g. to resume after a restart."""
        return [entry.node for entry in record.load_all(self.state_root)]


def _size(size: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


def _replace(node: Node, **changes: Any) -> Node:
    return dataclasses.replace(node, **changes)


def _wait_for(probe: Callable[[], T | None], supervisor: subprocess.Popen[bytes],
              deadline: float, what: str) -> T:
    """Poll ``probe`` every 5 ms until it gives a value; fail fast if the node exits."""
    while True:
        value = probe()
        if value is not None:
            return value
        if supervisor.poll() is not None:
            raise NodeLaunchError(f"the node exited with status {supervisor.returncode} "
                                  f"while waiting for {what}")
        if time.monotonic() > deadline:
            raise NodeLaunchError(f"timed out waiting for {what}")
        time.sleep(0.005)


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                    "-f", str(path)], check=True, capture_output=True)


def _first_child(supervisor: subprocess.Popen[bytes]) -> process.ProcessRef | None:
    for pid in process.children(supervisor.pid):
        return process.ref(pid)
    return None


def _listening(pid: int, port: int) -> bool:
    """Whether the node's network namespace has a TCP socket listening on ``port``.

    Read from /proc/<pid>/net/tcp, which shows the namespace of that process: far cheaper
    than starting an ssh client every 20 ms while sshd is not up yet.
    """
    try:
        lines = (process.PROC / str(pid) / "net" / "tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    wanted = f":{port:04X}"
    return any(fields[1].endswith(wanted) and fields[3] == _LISTEN
               for fields in (line.split() for line in lines) if len(fields) > 3)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
