"""Per-node resource limits through the machine's cgroups, where it lets us use them.

Two backends sit behind one small interface: ``choose()`` gives a ``Cgroups`` for this
machine (or the reason there is none), ``Cgroups.node(name)`` the ``NodeCgroup`` of one
node, which is created with the node's limits, takes its PID 1 (everything the node runs
descends from it), counts the node's OOM kills after a build and is removed with the node.

- cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` offers ``memory`` and ``cpu``): a node
  lives in ``/sys/fs/cgroup/keepgreen/<provider tag>-<node id>`` with ``memory.max`` (and no
  swap beyond it) and ``cpu.max``; OOM kills come from ``memory.events``.
- cgroup v1 (``nodes/cgroup_v1.py``): writable ``memory`` and ``cpu`` hierarchies; used when
  v2 is not usable.

Without either, ``choose`` says why in one sentence and nodes run without limits.
"""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ROOT = Path("/sys/fs/cgroup")
SELF = Path("/proc/self/cgroup")
PARENT = "keepgreen"
CPU_PERIOD = 100_000  # microseconds, the kernel's default period
_BUSY_SECONDS = 5.0  # how long removal waits for a node's last processes to leave


@dataclass(frozen=True)
class NodeLimits:
    """Per-node limits; 0 means none."""

    memory_bytes: int = 0
    cpus: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.memory_bytes or self.cpus)

    @property
    def cpu_quota(self) -> int:
        """The CFS quota in microseconds per ``CPU_PERIOD`` (at least 1 ms, the kernel's floor)."""
        return max(1000, int(self.cpus * CPU_PERIOD))


class NodeCgroup(Protocol):
    """The cgroup(s) of one node, in whichever hierarchy the machine has."""

    @property
    def paths(self) -> tuple[Path, ...]:
        """The cgroup folders of the node (one for v2, one per hierarchy for v1)."""
        ...

    def create(self, limits: NodeLimits) -> None:
        """Make the node's cgroups and write its limits; idempotent."""
        ...

    def add(self, pid: int) -> None:
        """Move process ``pid`` (and so all it later forks) into the node's cgroups."""
        ...

    def oom_kills(self) -> int:
        """How many processes of the node the kernel killed for want of memory."""
        ...

    def remove(self) -> None:
        """Remove the node's cgroups once its processes are gone; missing ones are fine.

        Raises ``RuntimeError`` when processes stay in them longer than a few seconds.
        """
        ...


class Cgroups(Protocol):
    """One machine's cgroup hierarchy that node cgroups are made in."""

    version: str

    def node(self, name: str) -> NodeCgroup:
        """The cgroup of node ``name`` (``<provider tag>-<node id>``), made or not."""
        ...

    def names(self) -> list[str]:
        """The node cgroups that exist now, by name, for the leak sweep."""
        ...


# --- cgroup v2 ----------------------------------------------------------------------------

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
        return _children(self.root / PARENT)


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


# --- choosing a backend -------------------------------------------------------------------

def choose(root: Path = ROOT, self_cgroup: Path = SELF) -> Cgroups | str:
    """The hierarchy node cgroups go in here: v2 when usable, else v1, else why neither."""
    from keepgreen.nodes.cgroup_v1 import CgroupV1
    from keepgreen.nodes.cgroup_v1 import unavailable as v1_unavailable

    v2_problem = unavailable(root)
    if v2_problem is None:
        return CgroupV2(root)
    v1_problem = v1_unavailable(root, self_cgroup)
    if v1_problem is None:
        return CgroupV1(root, self_cgroup)
    return f"no usable cgroup hierarchy: cgroup v2: {v2_problem}; cgroup v1: {v1_problem}"


# --- small file-level steps both backends share -------------------------------------------

def keyed_count(path: Path, key: str) -> int | None:
    """The number after ``key`` in a ``key value`` per line file; None when absent."""
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def remove_dir(path: Path) -> None:
    """``rmdir`` a cgroup, waiting a little while its last processes are still exiting."""
    deadline = time.monotonic() + _BUSY_SECONDS
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                raise RuntimeError(f"could not remove cgroup {path}: {exc.strerror}") from exc
            time.sleep(0.05)


def _children(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    except OSError:
        return []
