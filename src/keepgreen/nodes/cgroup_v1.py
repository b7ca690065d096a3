"""Node cgroups on a cgroup v1 machine: the ``memory`` and ``cpu`` hierarchies.

A node gets ``keepgreen-<provider tag>-<node id>`` in each hierarchy, made inside the cgroup
this process is in (from ``/proc/self/cgroup``), so a node's limits nest within whatever
limits the server itself runs under:

- memory: ``memory.limit_in_bytes``, and ``memory.memsw.limit_in_bytes`` set to the same
  value when swap is accounted, so swapping out does not get round the limit; the OOM
  killer is left on (``memory.oom_control``), and ``oom_kills`` reads its ``oom_kill``
  count (kernels before 4.13 lack it: then ``memory.failcnt``, the times the limit was hit);
- cpu: ``cpu.cfs_quota_us`` per ``cpu.cfs_period_us``.
"""

from __future__ import annotations

import os
from pathlib import Path

from keepgreen.nodes.cgroup_base import (
    CPU_PERIOD,
    PARENT,
    ROOT,
    SELF,
    NodeLimits,
    keyed_count,
    remove_dir,
)

PREFIX = f"{PARENT}-"
MEMORY = "memory"
CPU = "cpu"
_PROBES = {MEMORY: "memory.limit_in_bytes", CPU: "cpu.cfs_quota_us"}


def own_cgroup(controller: str, self_cgroup: Path = SELF) -> str:
    """The cgroup path of this process in the v1 hierarchy of ``controller`` ("/" if none)."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            return parts[2] or "/"
    return "/"


def hierarchy_dir(controller: str, root: Path = ROOT, self_cgroup: Path = SELF) -> Path:
    """The folder node cgroups of ``controller`` are made in: this process's own cgroup.

    When that path is not under the mount (a container that sees only its own subtree
    mounted at the top), the top of the mount is used.
    """
    mount = root / controller
    inner = mount / own_cgroup(controller, self_cgroup).lstrip("/")
    return inner if inner.is_dir() else mount


def unavailable(root: Path = ROOT, self_cgroup: Path = SELF) -> str | None:
    """Why cgroup v1 limits cannot be applied under ``root``, or None when they can."""
    for controller, probe in _PROBES.items():
        mount = root / controller
        if not (mount / probe).exists():
            return f"{mount} is not a cgroup v1 {controller} hierarchy (no {probe})"
        where = hierarchy_dir(controller, root, self_cgroup)
        if not os.access(where, os.W_OK):
            return f"{where} is not writable by this process"
    return None


class CgroupV1:
    """Node cgroups in the v1 ``memory`` and ``cpu`` hierarchies under ``root``."""

    version = "v1"

    def __init__(self, root: Path = ROOT, self_cgroup: Path = SELF) -> None:
        self.memory = hierarchy_dir(MEMORY, root, self_cgroup)
        self.cpu = hierarchy_dir(CPU, root, self_cgroup)

    def node(self, name: str) -> NodeCgroupV1:
        return NodeCgroupV1(self.memory / f"{PREFIX}{name}", self.cpu / f"{PREFIX}{name}")

    def names(self) -> list[str]:
        found: set[str] = set()
        for folder in (self.memory, self.cpu):
            try:
                entries = list(folder.iterdir())
            except OSError:
                continue
            found.update(entry.name[len(PREFIX):] for entry in entries
                         if entry.name.startswith(PREFIX) and entry.is_dir())
        return sorted(found)


class NodeCgroupV1:
    """One node's cgroups in the v1 memory and cpu hierarchies."""

    def __init__(self, memory: Path, cpu: Path) -> None:
        self.memory = memory
        self.cpu = cpu

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.memory, self.cpu)

    def create(self, limits: NodeLimits) -> None:
        self.memory.mkdir(exist_ok=True)
        self.cpu.mkdir(exist_ok=True)
        if limits.memory_bytes:
            (self.memory / "memory.limit_in_bytes").write_text(str(limits.memory_bytes))
            memsw = self.memory / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                # Written after the memory limit: memsw may never be below it.
                memsw.write_text(str(limits.memory_bytes))
            # A child inherits oom_kill_disable; a node over its limit must be killed, not
            # frozen until someone frees memory.
            (self.memory / "memory.oom_control").write_text("0")
        if limits.cpus:
            (self.cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD))
            (self.cpu / "cpu.cfs_quota_us").write_text(str(limits.cpu_quota))

    def add(self, pid: int) -> None:
        for folder in (self.memory, self.cpu):
            (folder / "cgroup.procs").write_text(str(pid))

    def oom_kills(self) -> int:
        kills = keyed_count(self.memory / "memory.oom_control", "oom_kill")
        if kills is not None:
            return kills
        try:
            return int((self.memory / "memory.failcnt").read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        problems = []
        for folder in (self.cpu, self.memory):
            try:
                remove_dir(folder)
            except RuntimeError as exc:
                problems.append(str(exc))
        if problems:
            raise RuntimeError("; ".join(problems))
