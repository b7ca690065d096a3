"""The frozen job graph of one build set: job names, their dependencies and voting flags.

The caller reads the job configuration from the speculative state it has just merged (so a
change that edits ``.zuul.yaml`` is tested with its own jobs) and hands the result in as plain
values. The gate only orders the jobs: a job starts when its dependencies succeeded, and is
SKIPPED when one of them did not.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.gating.semaphores import Semaphore


@dataclass(frozen=True)
class JobDependency:
    """``soft``: the dependency is ignored when the job it names is not in the graph."""

    name: str
    soft: bool = False


@dataclass(frozen=True)
class Job:
    """One job of a build set. ``attempts`` counts runs, so a RETRY result runs it again
    until ``attempts`` runs have been made, then becomes RETRY_LIMIT (Zuul's default is 3).
    ``semaphores``: a build of it starts only when each of them has a free slot."""

    name: str
    dependencies: tuple[JobDependency, ...] = ()
    voting: bool = True
    attempts: int = 3
    semaphores: tuple[Semaphore, ...] = ()

    @classmethod
    def of(cls, name: str, *after: str, voting: bool = True, soft: tuple[str, ...] = (),
           attempts: int = 3) -> Job:
        """Shorthand: ``Job.of("test", "build", soft=("docs",))``."""
        deps = tuple(JobDependency(d) for d in after) + tuple(
            JobDependency(d, soft=True) for d in soft)
        return cls(name, deps, voting=voting, attempts=attempts)


@dataclass(frozen=True)
class JobGraph:
    """The jobs of a build set, in the order the configuration lists them."""

    jobs: tuple[Job, ...] = ()

    @classmethod
    def of(cls, *jobs: Job | str) -> JobGraph:
        return cls(tuple(Job(j) if isinstance(j, str) else j for j in jobs))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(job.name for job in self.jobs)

    def get(self, name: str) -> Job | None:
        for job in self.jobs:
            if job.name == name:
                return job
        return None

    def problem(self) -> str | None:
        """Why this graph cannot run, as a sentence; None when it can."""
        seen: set[str] = set()
        for job in self.jobs:
            if job.name in seen:
                return f"job {job.name!r} appears twice in the job graph"
            seen.add(job.name)
            if job.attempts < 1:
                return f"job {job.name!r} has attempts {job.attempts}; it must be at least 1"
        for job in self.jobs:
            for dep in job.dependencies:
                if dep.name not in seen and not dep.soft:
                    return (f"job {job.name!r} depends on {dep.name!r}, which is not in the "
                            f"job graph (make the dependency soft or add the job)")
        cycle = self._cycle()
        if cycle:
            return "the job dependencies form a cycle: " + " -> ".join(cycle)
        return None

    def _cycle(self) -> list[str]:
        graph = {job.name: [d.name for d in job.dependencies if d.name in self.names]
                 for job in self.jobs}
        done: set[str] = set()

        def visit(name: str, path: list[str]) -> list[str]:
            if name in path:
                return [*path[path.index(name):], name]
            if name in done:
                return []
            for dep in graph[name]:
                found = visit(dep, [*path, name])
                if found:
                    return found
            done.add(name)
            return []

        for job in self.jobs:
            found = visit(job.name, [])
            if found:
                return found
        return []
