"""A private link per node: two network namespaces joined by a veth pair.

The node's namespace holds the node; the executor's namespace holds the SSH client side.
Addresses come from the RFC 2544 benchmark range and exist only inside these two
namespaces: nothing is added to the host's namespace and there is no route anywhere else,
so a node can reach its executor end and nothing more.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from keepgreen.nodes import process

NODE_PREFIX = "kgn-"
EXEC_PREFIX = "kge-"
NETNS_DIR = Path("/run/netns")
NODE_IF = "eth0"
EXEC_IF = "veth0"

_RANGE = ipaddress.IPv4Network("198.18.0.0/15")
SLOTS = _RANGE.num_addresses // 4  # one /30 per node


class NetworkError(RuntimeError):
    """An ``ip`` command failed; the message carries its output."""


def names(tag: str, node_id: str) -> tuple[str, str]:
    """(node namespace, executor namespace) of a node.

    Namespace names are global to the machine, so they carry the provider's tag: a sweep
    must never take another provider's (or another test run's) nodes for leaks.
    """
    return f"{NODE_PREFIX}{tag}-{node_id}", f"{EXEC_PREFIX}{tag}-{node_id}"


@dataclass(frozen=True)
class Link:
    """The /30 of one node: slot n is 198.18.0.0 + 4n; .1 executor side, .2 node side."""

    slot: int
    node_id: str
    tag: str

    @property
    def node_netns(self) -> str:
        return names(self.tag, self.node_id)[0]

    @property
    def exec_netns(self) -> str:
        return names(self.tag, self.node_id)[1]

    @property
    def exec_address(self) -> str:
        return str(_RANGE.network_address + 4 * self.slot + 1)

    @property
    def node_address(self) -> str:
        return str(_RANGE.network_address + 4 * self.slot + 2)


def _ip(args: list[str], batch: str | None = None) -> None:
    result = subprocess.run(
        ["ip", *args], input=batch, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise NetworkError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")


def create(link: Link) -> None:
    """Make both namespaces, the veth pair and the addresses, all links up.

    Three ``ip -batch`` runs instead of one process per step: each ``ip`` start costs a few
    milliseconds and nodes are created many at a time.
    """
    if not 0 <= link.slot < SLOTS:
        raise NetworkError(f"address slot {link.slot} is outside 0..{SLOTS - 1}")
    node, exe = link.node_netns, link.exec_netns
    _ip(["-batch", "-"], f"netns add {node}\nnetns add {exe}\n"
        f"link add {NODE_IF} netns {node} type veth peer name {EXEC_IF} netns {exe}\n")
    _ip(["-n", node, "-batch", "-"],
        f"addr add {link.node_address}/30 dev {NODE_IF}\n"
        f"link set lo up\nlink set {NODE_IF} up\n")
    _ip(["-n", exe, "-batch", "-"],
        f"addr add {link.exec_address}/30 dev {EXEC_IF}\n"
        f"link set lo up\nlink set {EXEC_IF} up\n")


def listed(tag: str) -> list[str]:
    """The namespaces of the provider with this tag, by name."""
    try:
        found = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in found if node_id_of(n, tag) is not None)


def node_id_of(netns: str, tag: str) -> str | None:
    """The node a namespace belongs to, or None if it is not this provider's."""
    for prefix in (NODE_PREFIX, EXEC_PREFIX):
        if netns.startswith(f"{prefix}{tag}-"):
            return netns[len(prefix) + len(tag) + 1:] or None
    return None


def processes_in(netns: list[str]) -> list[process.ProcessRef]:
    """Every process living in one of these namespaces (an SSH client, a stray shell)."""
    inodes: set[int] = set()
    for name in netns:
        try:
            inodes.add(os.stat(NETNS_DIR / name).st_ino)
        except FileNotFoundError:
            continue
    found: list[process.ProcessRef] = []
    if not inodes:
        return found
    for pid in process.all_pids():
        if process.netns_inode(pid) in inodes:
            ref = process.ref(pid)
            if ref is not None:
                found.append(ref)
    return found


def delete(netns: list[str]) -> None:
    """Remove these namespaces if they exist; deleting the node side also drops the veth."""
    present = [n for n in netns if (NETNS_DIR / n).exists()]
    if not present:
        return
    try:
        # -force keeps going past a name that a concurrent sweep removed a moment ago.
        _ip(["-force", "-batch", "-"], "".join(f"netns del {n}\n" for n in present))
    except NetworkError:
        if any((NETNS_DIR / n).exists() for n in present):
            raise
