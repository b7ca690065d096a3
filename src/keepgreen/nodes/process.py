"""Reading and ending processes through /proc, safely against PID reuse.

A node's processes are remembered as (pid, start time): a PID alone may belong to an
unrelated process by the time a sweep runs after a crash, and killing that would be worse
than the leak.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessRef:
    """A process identified so that a recycled PID does not match it."""

    pid: int
    start: int  # clock ticks after boot, field 22 of /proc/<pid>/stat

    def __str__(self) -> str:
        return f"{self.pid}@{self.start}"

    @classmethod
    def parse(cls, text: str) -> ProcessRef:
        pid, _, start = text.partition("@")
        return cls(int(pid), int(start or 0))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    return raw[raw.rindex(")") + 2 :].split()


def ref(pid: int) -> ProcessRef | None:
    """The live process with this PID, or None if there is none (zombies count as gone)."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return None
    return ProcessRef(pid, int(fields[19]))


def alive(process: ProcessRef) -> bool:
    """Whether this very process still runs (not a zombie, not a recycled PID)."""
    return ref(process.pid) == process


def children(pid: int) -> list[int]:
    try:
        text = (PROC / str(pid) / "task" / str(pid) / "children").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return []
    return [int(p) for p in text.split()]


def all_pids() -> Iterator[int]:
    for entry in os.scandir(PROC):
        if entry.name.isdigit():
            yield int(entry.name)


def root_of(pid: int) -> str | None:
    """Where the process's ``/`` is on the host (its chroot), or None if unreadable."""
    try:
        return os.readlink(PROC / str(pid) / "root")
    except OSError:
        return None


def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(PROC / str(pid) / "ns" / "net").st_ino
    except OSError:
        return None


def cmdline(pid: int) -> list[str]:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def kill(process: ProcessRef, sig: int = signal.SIGKILL) -> bool:
    """Signal the process if it is still the one we mean; True if a signal was sent."""
    if not alive(process):
        return False
    try:
        os.kill(process.pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_gone(processes: list[ProcessRef], timeout: float) -> bool:
    """Poll until none of these processes runs; True if that happened within ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if not any(alive(p) for p in processes):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
