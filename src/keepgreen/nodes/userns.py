"""User namespaces for local nodes: node root is an unprivileged range of host ids.

Each node gets ``IDS_PER_NODE`` (65536) host uids and gids of its own, chosen from its
address slot, so no two nodes of a site share an id: uid ``n`` inside the node is host uid
``base + n``. Node root has every capability, but only over the node's user namespace; the
host sees its processes and files as owned by ``base``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from keepgreen.nodes import syscall

IDS_PER_NODE = 65536
# Far above the ranges /etc/subuid hands out (100000 upwards in steps of 65536) and below
# 2**32 - 1 (the invalid id) for every one of the 32768 address slots.
FIRST_BASE = 1 << 28


@dataclass(frozen=True)
class IdRange:
    """Host ids ``base`` .. ``base + count - 1`` are node ids 0 .. ``count - 1``."""

    base: int
    count: int = IDS_PER_NODE

    @classmethod
    def for_slot(cls, slot: int) -> IdRange:
        return cls(FIRST_BASE + slot * IDS_PER_NODE)

    def host(self, node_id: int) -> int:
        """The host id of a node id (ids past the range stay as they are: overflow)."""
        return self.base + node_id if 0 <= node_id < self.count else node_id

    def __contains__(self, host_id: object) -> bool:
        return isinstance(host_id, int) and self.base <= host_id < self.base + self.count

    @property
    def map_line(self) -> str:
        return f"0 {self.base} {self.count}\n"


def create(ids: IdRange, proc: str = "/proc") -> int:
    """A new user namespace mapping ``ids``; returns an open descriptor of it.

    A namespace's maps must be written from outside it, by a process with the capabilities
    the mapped ids need: a child creates the namespace, and this (host root) process writes
    its maps. ``proc`` must show this process's PID namespace.
    """
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: make the namespace, wait until its maps are written
        try:
            os.close(ready_r)
            os.close(done_w)
            syscall.unshare(syscall.CLONE_NEWUSER)
            os.write(ready_w, b"1")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError("could not create a user namespace for the node")
        for name in ("uid_map", "gid_map"):
            with open(f"{proc}/{pid}/{name}", "w") as handle:
                handle.write(ids.map_line)
        return os.open(f"{proc}/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(done_w)  # lets the child finish; the descriptor keeps the namespace
        os.waitpid(pid, 0)


def enter(userns_fd: int) -> None:
    """Join the namespace as its root: uid and gid 0 inside, no supplementary groups.

    Capabilities held here stay valid only inside that namespace from now on.
    """
    syscall.setns(userns_fd, syscall.CLONE_NEWUSER)
    os.setgroups([])
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
