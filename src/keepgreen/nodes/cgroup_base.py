"""What both cgroup backends share: the node's limits, the interfaces, small file steps.

See ``nodes/cgroup.py`` for how a backend is chosen.
"""

from __future__ import annotations

import errno
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


def children(folder: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    except OSError:
        return []
