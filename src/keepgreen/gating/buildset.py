"""Builds and build sets: one speculative future state of an item and what ran on it.

A build set is frozen when it is created: the changes to merge, in order (every item ahead,
then the item's own change). When an item behind moves (an item ahead failed, was dequeued or
promoted), its build set no longer matches and is replaced by a new one; results for the old
one are ignored. ``landed`` records changes of the list that merged since, so an item whose
ahead items merged keeps its builds: its tree is still exactly what the branch will be.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from keepgreen.gating.change import ChangeRef
from keepgreen.gating.jobgraph import Job, JobGraph

# Build results (Zuul's names).
SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
RETRY = "RETRY"
RETRY_LIMIT = "RETRY_LIMIT"
POST_FAILURE = "POST_FAILURE"
TIMED_OUT = "TIMED_OUT"
NODE_FAILURE = "NODE_FAILURE"
SKIPPED = "SKIPPED"
ABORTED = "ABORTED"
ERROR = "ERROR"

# Item outcomes beyond the build results.
MERGE_CONFLICT = "MERGE_CONFLICT"
CONFIG_ERROR = "CONFIG_ERROR"
NO_JOBS = "NO_JOBS"

# Merge states of a build set.
MERGE_PENDING = "PENDING"
MERGED = "MERGED"

# Build states.
REQUESTED = "REQUESTED"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"

GOOD_RESULTS = frozenset({SUCCESS, SKIPPED})


@dataclass(frozen=True)
class Build:
    """One run of one job. ``pre_fail`` is the executor's early-failure signal: the job's
    output already shows a failure although the build has not finished."""

    id: int
    job: str
    voting: bool
    attempt: int
    requested_at: float
    state: str = REQUESTED
    result: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    pre_fail: bool = False
    reason: str = ""  # why it ended so, when the job could not run (NODE_FAILURE, ERROR)

    @property
    def final(self) -> bool:
        """Completed with a result that will not be retried."""
        return self.state == COMPLETED and self.result != RETRY

    @property
    def failed(self) -> bool:
        if self.state == COMPLETED:
            return self.result not in GOOD_RESULTS and self.result != RETRY
        return self.pre_fail

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at


@dataclass(frozen=True)
class BuildSet:
    id: int
    changes: tuple[ChangeRef, ...]
    requested_at: float
    merge: str = MERGE_PENDING
    message: str = ""
    jobs: JobGraph = JobGraph()
    builds: tuple[Build, ...] = ()
    landed: frozenset[int] = frozenset()

    @property
    def pending_changes(self) -> tuple[ChangeRef, ...]:
        """The changes of the speculative state that have not merged yet."""
        return tuple(c for c in self.changes if c.number not in self.landed)

    @property
    def merged(self) -> bool:
        return self.merge == MERGED

    def latest(self, job: str) -> Build | None:
        found = None
        for build in self.builds:
            if build.job == job:
                found = build
        return found

    def final_builds(self) -> tuple[Build, ...]:
        """The last attempt of every job, in job-graph order."""
        result = []
        for job in self.jobs.jobs:
            build = self.latest(job.name)
            if build is not None:
                result.append(build)
        return tuple(result)

    def unfinished(self) -> tuple[Build, ...]:
        return tuple(b for b in self.builds if b.state != COMPLETED)

    def failing_reasons(self) -> tuple[str, ...]:
        """Why this build set will not succeed, known now (before every job has finished)."""
        if self.merge == MERGE_CONFLICT:
            return ("it cannot be merged onto the changes ahead of it (merge conflict)",)
        if self.merge == CONFIG_ERROR:
            return (f"its job configuration is invalid: {self.message}",)
        if self.merge != MERGED:
            return ()
        if not self.jobs.jobs:
            return ("no jobs run for it in this pipeline",)
        reasons = []
        for build in self.final_builds():
            if build.voting and build.failed:
                result = build.result if build.state == COMPLETED else "failing early"
                reasons.append(f"job {build.job} failed ({result})")
        return tuple(reasons)

    def complete(self) -> bool:
        """Nothing more will run: the merge failed, or every job has a final result."""
        if self.merge == MERGE_PENDING:
            return False
        if self.merge != MERGED:
            return True
        return all((b := self.latest(job.name)) is not None and b.final for job in self.jobs.jobs)

    def outcome(self) -> str:
        """The item result once complete: SUCCESS, FAILURE, MERGE_CONFLICT, CONFIG_ERROR
        or NO_JOBS. Non-voting jobs do not count; if every job was skipped, it failed."""
        if self.merge in (MERGE_CONFLICT, CONFIG_ERROR):
            return self.merge
        if not self.jobs.jobs:
            return NO_JOBS
        builds = self.final_builds()
        if any(b.voting and b.failed for b in builds):
            return FAILURE
        if builds and all(b.result == SKIPPED for b in builds):
            return FAILURE
        return SUCCESS

    def next_jobs(self) -> tuple[tuple[Job, ...], tuple[tuple[Job, str], ...]]:
        """Jobs to start now, and jobs to skip with the reason (a dependency did not pass)."""
        start: list[Job] = []
        skip: list[tuple[Job, str]] = []
        for job in self.jobs.jobs:
            build = self.latest(job.name)
            if build is not None and build.result != RETRY:
                continue  # requested, running or final
            blocked = False
            skipped_because = ""
            for dep in job.dependencies:
                if self.jobs.get(dep.name) is None:
                    continue  # a soft dependency on a job that does not run here
                dep_build = self.latest(dep.name)
                if dep_build is None or not dep_build.final:
                    blocked = True
                elif dep_build.result == SUCCESS or (dep.soft and dep_build.result == SKIPPED):
                    continue
                else:
                    skipped_because = f"its dependency {dep.name} ended {dep_build.result}"
            if skipped_because:
                skip.append((job, skipped_because))
            elif not blocked:
                start.append(job)
        return tuple(start), tuple(skip)

    def waiting_jobs(self) -> tuple[str, ...]:
        """Why jobs that have not started yet are waiting, one sentence per job."""
        reasons = []
        for job in self.jobs.jobs:
            if self.latest(job.name) is not None:
                continue
            pending = [d.name for d in job.dependencies
                       if self.jobs.get(d.name) is not None
                       and not ((b := self.latest(d.name)) is not None and b.final)]
            if pending:
                reasons.append(f"job {job.name} waits for {', '.join(pending)}")
        return tuple(reasons)

    def with_build(self, build: Build) -> BuildSet:
        builds = tuple(build if b.id == build.id else b for b in self.builds)
        if build.id not in {b.id for b in self.builds}:
            builds = (*builds, build)
        return replace(self, builds=builds)
