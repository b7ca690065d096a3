"""Per-node resource limits through cgroup v2, where the machine lets us use it.

A node's processes go into ``/sys/fs/cgroup/keepgreen/<provider tag>-<node id>`` with
``memory.max`` (and no swap beyond it) and ``cpu.max``. After a build, ``oom_kills`` reads
``memory.events`` so a build whose node ran out of memory fails with that reason instead of
a puzzling lost connection. Without a writable cgroup v2 hierarchy with the ``memory`` and
``cpu`` controllers, ``available`` says why and nodes run without limits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "keepgreen"
CPU_PERIOD = 100_000  # microseconds, the kernel's default period


@dataclass(frozen=True)
class NodeLimits:
    """Per-node limits; 0 means none."""

    memory_bytes: int = 0
    cpus: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.memory_bytes or self.cpus)


def unavailable(root: Path = ROOT) -> str | None:
    """Why limits cannot be applied here, or None when they can."""
    controllers = root / "cgroup.controllers"
    if not controllers.exists():
        return f"{root} is not a cgroup v2 hierarchy (this machine uses cgroup v1)"
    offered = set(controllers.read_text().split())
    missing = {"memory", "cpu"} - offered
    if missing:
        return f"the cgroup controllers {', '.join(sorted(missing))} are not delegated to {root}"
    if not os.access(root, os.W_OK):
        return f"{root} is not writable by this process"
    return None


class NodeCgroup:
    """The cgroup of one node."""

    def __init__(self, name: str, root: Path = ROOT) -> None:
        self.root = root
        self.path = root / PARENT / name

    def create(self, limits: NodeLimits) -> None:
        parent = self.path.parent
        parent.mkdir(exist_ok=True)
        wanted = {"+memory", "+cpu"}
        for level in (self.root, parent):
            enabled = set((level / "cgroup.subtree_control").read_text().split())
            missing = {c for c in wanted if c[1:] not in enabled}
            if missing:
                (level / "cgroup.subtree_control").write_text(" ".join(sorted(missing)))
        self.path.mkdir(exist_ok=True)
        if limits.memory_bytes:
            (self.path / "memory.max").write_text(str(limits.memory_bytes))
            swap = self.path / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")
        if limits.cpus:
            quota = max(1000, int(limits.cpus * CPU_PERIOD))
            (self.path / "cpu.max").write_text(f"{quota} {CPU_PERIOD}")

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        """How many processes of the node the kernel killed for want of memory."""
        try:
            text = (self.path / "memory.events").read_text()
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
