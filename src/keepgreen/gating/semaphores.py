"""Semaphores: how many builds of the jobs that share one may run at the same time.

Slots are not booked separately: a build holds a slot of each of its job's semaphores from
the moment the core asks for it (StartBuild, before any node is requested, as Zuul does by
default) until it completes, is cancelled or its item leaves the pipeline. So the holders
are always the unfinished builds of the gate state, in every pipeline, and whatever keeps
the state keeps the holds. A job that would start but finds a semaphore full is not started
and waits, with that reason shown on its item, until a holder ends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Semaphore:
    """A semaphore as a job uses it: its name and how many builds may hold it at once."""

    name: str
    max: int = 1


class SemaphorePool:
    """The holders of every semaphore during one step, by build id."""

    def __init__(self) -> None:
        self._held: dict[str, set[int]] = {}
        self._builds: dict[int, tuple[str, ...]] = {}
        self.released = False  # a slot came free during this step

    @classmethod
    def of(cls, held: Iterable[tuple[int, Iterable[Semaphore]]]) -> SemaphorePool:
        """A pool whose slots are held by these (build id, semaphores) pairs."""
        pool = cls()
        for build, semaphores in held:
            pool.acquire(build, semaphores)
        return pool

    def holders(self, name: str) -> frozenset[int]:
        return frozenset(self._held.get(name, ()))

    def wait_reason(self, job: str, semaphores: Iterable[Semaphore]) -> str:
        """Why ``job`` may not start now, or "" when every semaphore it needs has room."""
        full = [s for s in semaphores if len(self._held.get(s.name, ())) >= max(s.max, 1)]
        if not full:
            return ""
        names = ", ".join(f"{s.name} ({len(self._held[s.name])} of {max(s.max, 1)} held)"
                          for s in full)
        return f"job {job} waits for semaphore {names}"

    def acquire(self, build: int, semaphores: Iterable[Semaphore]) -> None:
        names = tuple(s.name for s in semaphores)
        if not names:
            return
        self._builds[build] = names
        for name in names:
            self._held.setdefault(name, set()).add(build)

    def release(self, build: int) -> None:
        for name in self._builds.pop(build, ()):
            self._held[name].discard(build)
            self.released = True
