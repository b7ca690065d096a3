"""Static hosts: machines that already exist, reached by SSH, lent to jobs and taken back.

Each host runs up to ``max_parallel_jobs`` nodes at once (one "slot" per node). Before a slot
is handed out the host is checked: a TCP connect to its SSH port, then ``ssh ... true`` with
strict host-key checking, so a job never lands on a dead or impersonated host. A host that
fails the check is skipped with a reason (see ``problems``) and the next one is tried; one
dead host never blocks the others. ``delete`` frees the slot and leaves the host alone: static
hosts are reused, never destroyed (Nodepool's static driver does the same).

``netns`` names the network namespace ssh runs in, for hosts reachable only from one (the
local provider's executor side, or a site's management network).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keepgreen.domain.node import Node, NodeState, ResourceId
from keepgreen.nodes.siteconfig import DRY_RUN

_TCP_PROBE = ("import socket, sys; "
              "socket.create_connection((sys.argv[1], int(sys.argv[2])), "
              "timeout=float(sys.argv[3])).close()")


LOGIN_KEY = Path("secrets") / "static-hosts"
"""The site's SSH key for static hosts, under the site folder (``.pub`` beside it)."""


def login_key(site: Path) -> Path:
    """The private key keepgreen logs in to static hosts with, made (ed25519, 0600) the
    first time it is asked for; its public half goes in each host's ``authorized_keys``."""
    path = site / LOGIN_KEY
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".new")
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".pub").unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                        f"keepgreen@{site.resolve().name}", "-f", str(partial)],
                       check=True, capture_output=True)
        partial.with_name(partial.name + ".pub").rename(path.with_name(path.name + ".pub"))
        partial.rename(path)  # last: a key without its .pub is never left behind
    return path


class StaticHostError(RuntimeError):
    """No host could take the node; the message names each host tried and why it failed."""


@dataclass(frozen=True)
class StaticHost:
    """One existing machine, as configured by the site."""

    host: str
    labels: tuple[str, ...]
    username: str = "root"
    host_key: str = ""  # the host's public key line, e.g. "ssh-ed25519 AAAA..."
    connection_port: int = 22
    max_parallel_jobs: int = 1
    private_key: Path | None = None
    netns: str | None = None

    @property
    def name(self) -> str:
        return self.host if self.connection_port == 22 else f"{self.host}:{self.connection_port}"


class StaticProvider:
    """Nodes that are slots on existing hosts. Keeps the ``Provider`` port's contract."""

    def __init__(self, hosts: Sequence[StaticHost], state_dir: Path, *, name: str = "static",
                 connect_timeout: float = 5.0, dry_run_username: str | None = None) -> None:
        if not hosts:
            raise ValueError(f"static provider {name!r} needs at least one host")
        for host in hosts:
            if not host.host_key:
                raise ValueError(f"static host {host.name} has no host-key; add the host's "
                                 "public key (ssh-keyscan prints it) so ssh can check it")
            if host.max_parallel_jobs < 1:
                raise ValueError(f"static host {host.name} has max-parallel-jobs "
                                 f"{host.max_parallel_jobs}; it must be at least 1")
        self.name = name
        self.hosts = tuple(hosts)
        self.labels = tuple(dict.fromkeys(label for h in hosts for label in h.labels))
        # With a read-only account, each label is also offered as "<label>:dry-run": the
        # same hosts, logged in to as that account.
        self.dry_run_username = dry_run_username
        if dry_run_username is not None:
            self.labels += tuple(label + DRY_RUN for label in self.labels)
        self.max_servers = sum(h.max_parallel_jobs for h in hosts)
        self.state_dir = Path(state_dir)
        self.connect_timeout = connect_timeout
        self.problems: dict[str, str] = {}  # host name -> why the last check failed
        self._slots: dict[str, StaticHost] = {}  # node id -> the host it runs on
        self._lock = threading.Lock()

    # --- the provider port -----------------------------------------------------------------

    def create(self, label: str, node_id: str) -> Node:
        if label not in self.labels:
            raise ValueError(f"provider {self.name!r} has no label {label!r}; "
                             f"it offers {', '.join(self.labels)}")
        created = time.time()
        tried: list[str] = []
        for host in self._candidates(label):
            with self._lock:
                if node_id in self._slots:
                    raise ValueError(f"node id {node_id!r} is already in use")
                if self._load(host) >= host.max_parallel_jobs:
                    continue  # taken by a concurrent create meanwhile
                self._slots[node_id] = host  # reserved while checking, so no one else takes it
            node = self._node(host, label, node_id, created)
            problem = self.check(node)
            if problem is None:
                self.problems.pop(host.name, None)
                return node
            with self._lock:
                self._slots.pop(node_id, None)
                self.problems[host.name] = problem
            tried.append(f"{host.name}: {problem}")
        if not tried:
            raise StaticHostError(f"every static host with label {label} is busy "
                                  "(max-parallel-jobs reached)")
        raise StaticHostError(f"no static host with label {label} is reachable: "
                              + "; ".join(tried))

    def delete(self, node: Node) -> None:
        """Free the node's slot; the host itself stays as it is. Idempotent."""
        with self._lock:
            self._slots.pop(node.id, None)

    def list_resources(self) -> list[ResourceId]:
        # Slots are the only thing that can "leak": a node the store forgot keeps one busy.
        with self._lock:
            return sorted(ResourceId("slot", f"{host.name}/{node_id}", node_id)
                          for node_id, host in self._slots.items())

    # --- checks and ssh --------------------------------------------------------------------

    def check(self, node: Node) -> str | None:
        """Why the node's host cannot take a job now, or None when it can."""
        prefix = ["ip", "netns", "exec", node.netns[0]] if node.netns else []
        tcp = self._run([*prefix, sys.executable, "-c", _TCP_PROBE, node.host, str(node.port),
                         str(self.connect_timeout)])
        if tcp.returncode != 0:
            last = (tcp.stderr.strip().splitlines() or ["no answer"])[-1]
            return f"cannot connect to port {node.port}: {last}"
        ssh = self._run([*self.ssh_command(node), "true"])
        if ssh.returncode != 0:
            last = (ssh.stderr.strip().splitlines() or [f"exit status {ssh.returncode}"])[-1]
            return f"ssh {node.username}@{node.host} failed: {last}"
        return None

    def ssh_command(self, node: Node) -> list[str]:
        """The argv prefix that runs a command on the node, the host key checked strictly."""
        known_hosts = self._known_hosts(node)
        argv = ["ip", "netns", "exec", node.netns[0]] if node.netns else []
        argv += ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
                 "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
                 "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                 "-o", f"ConnectTimeout={max(1, round(self.connect_timeout))}",
                 "-p", str(node.port)]
        if node.private_key is not None:
            argv += ["-o", "IdentitiesOnly=yes", "-i", str(node.private_key)]
        return [*argv, f"{node.username}@{node.host}"]

    # --- internals -------------------------------------------------------------------------

    def _candidates(self, label: str) -> list[StaticHost]:
        label = label.removesuffix(DRY_RUN)
        with self._lock:
            free = [h for h in self.hosts
                    if label in h.labels and self._load(h) < h.max_parallel_jobs]
            # Least loaded first, so jobs spread over hosts; hosts that failed their last
            # check go last, so a dead host does not slow every launch down.
            return sorted(free, key=lambda h: (h.name in self.problems,
                                               self._load(h) / h.max_parallel_jobs))

    def _load(self, host: StaticHost) -> int:
        return sum(1 for h in self._slots.values() if h is host)

    def _node(self, host: StaticHost, label: str, node_id: str, created: float) -> Node:
        read_only = label.endswith(DRY_RUN) and self.dry_run_username is not None
        return Node(id=node_id, label=label, provider=self.name, state=NodeState.READY,
                    host=host.host, port=host.connection_port,
                    username=self.dry_run_username if read_only else host.username,
                    host_key=host.host_key, private_key=host.private_key,
                    netns=(host.netns,) if host.netns else (), created_at=created,
                    ready_at=time.time())

    def _known_hosts(self, node: Node) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / f"known_hosts-{node.host}-{node.port}"
        line = node.known_hosts_line + "\n"
        if not path.exists() or path.read_text() != line:
            # Written aside and renamed: a concurrent ssh never reads a half-written file.
            partial = path.with_name(f"{path.name}.{threading.get_ident()}")
            partial.write_text(line)
            partial.replace(path)
        return path

    def _run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False,
                                  stdin=subprocess.DEVNULL, timeout=self.connect_timeout + 10)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(argv, 124, "", "timed out")
