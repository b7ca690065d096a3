"""Node cgroups on a cgroup v2 machine: one group per node under ``<root>/keepgreen``."""

from __future__ import annotations

import os
from pathlib import Path

from keepgreen.nodes.cgroup_base import (
    CPU_PERIOD,
    PARENT,
    ROOT,
    NodeLimits,
    children,
    keyed_count,
    remove_dir,
)


def unavailable(root: Path = ROOT) -> str | None:
    """Why cgroup v2 limits cannot be applied under ``root``, or None when they can."""
    controllers = root / "cgroup.controllers"
    if not controllers.exists():
        return f"{root} is not a cgroup v2 hierarchy"
    offered = set(controllers.read_text().split())
    missing = {"memory", "cpu"} - offered
    if missing:
        return f"the cgroup controllers {', '.join(sorted(missing))} are not delegated to {root}"
    if not os.access(root, os.W_OK):
        return f"{root} is not writable by this process"
    return None


class CgroupV2:
    """Node cgroups under ``<root>/keepgreen`` of a cgroup v2 hierarchy."""

    version = "v2"

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root

    def node(self, name: str) -> NodeCgroupV2:
        return NodeCgroupV2(name, self.root)

    def names(self) -> list[str]:
        return children(self.root / PARENT)


class NodeCgroupV2:
    """The cgroup v2 group of one node."""

    def __init__(self, name: str, root: Path = ROOT) -> None:
        self.root = root
        self.path = root / PARENT / name

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.path,)

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
            (self.path / "cpu.max").write_text(f"{limits.cpu_quota} {CPU_PERIOD}")

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        return keyed_count(self.path / "memory.events", "oom_kill") or 0

    def remove(self) -> None:
        remove_dir(self.path)
