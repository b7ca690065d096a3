"""Builds in flight: what a merged item keeps for its builds, and their hand-over to the
executors.

``BuildRunner`` turns a ``gating.StartBuild`` into a ``BuildRequest`` and hands it to the
executors through the database (``services.gating.executor_worker`` takes it there); the
result (and a build's early failure) comes back to the scheduler's loop thread through
``results``, so only that thread ever steps the gate core.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keepgreen import gating
from keepgreen.domain.refs import patch_set_ref
from keepgreen.executor import model as ex
from keepgreen.executor import wire
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import JobGraph
from keepgreen.services.gating.builds import (
    BuildSetupError,
    RepoCheckouts,
    is_noop,
    job_sources,
    job_spec,
)
from keepgreen.services.gating.flakes import QUARANTINE
from keepgreen.services.gating.gate import SharedStates
from keepgreen.services.gating.layout import CONFIG_PROJECT
from keepgreen.services.gating.source_refs import SourceRefs
from keepgreen.services.nodes.broker import priority_of
from keepgreen.store import build_queue
from keepgreen.store.db import Database

log = logging.getLogger(__name__)


@dataclass
class Buildset:
    """A merged item: its frozen jobs, the checkouts its builds copy, and the plan lines a
    ``config`` change adds to its report."""

    jobs: JobGraph
    source: Path
    trusted: Path | None = None
    plan: tuple[str, ...] = ()
    folders: list[Path] = field(default_factory=list)
    extra: RepoCheckouts | None = None
    dry_runs: dict[str, str] = field(default_factory=dict)
    """What each dry-run job found (``services.gating.dry_runs``), for the report."""
    flaky: list[str] = field(default_factory=list)
    """Jobs that failed and then passed on this state (``services.gating.flakes``)."""

    def checkouts(self, repos: Repos, make_folder: Callable[[int], Path], buildset: int,
                  write: Callable[[str, str, Path], None] | None = None) -> RepoCheckouts:
        """Checkouts of the projects outside the state its jobs name, kept with it."""
        if self.extra is None:
            self.extra = RepoCheckouts(repos, lambda: make_folder(buildset), self.folders,
                                       write=write)
        return self.extra

    def report_extra(self, success: bool) -> str:
        """What the report adds after the results: a ``config`` change's plan (when it
        passed), warnings about exposed secrets, and what each dry run found."""
        parts = []
        if self.plan and success:
            parts.append("Plan:\n" + "\n".join(f"- {line}" for line in self.plan))
        if self.flaky:
            parts.append("Flaky: " + ", ".join(self.flaky) + (
                " failed and then passed on the same state; the change was not ejected for "
                "it"))
        quarantined = [j.name for j in self.jobs.jobs if QUARANTINE in j.tags]
        if quarantined:
            parts.append("Quarantined (they ran but do not block): " + ", ".join(quarantined))
        if self.jobs.warnings:
            parts.append("Warnings:\n" + "\n".join(f"- {line}" for line in self.jobs.warnings))
        if self.dry_runs:
            parts.append("Dry run (what merging would change):\n" + "\n".join(
                f"{job}:\n{text or '    nothing would change'}"
                for job, text in sorted(self.dry_runs.items())))
        return "\n\n".join(parts)

    def remove(self) -> None:
        for folder in self.folders:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Finished:
    build: int
    uuid: str
    result: str
    reason: str
    log_dir: str | None
    buildset: int | None = None
    job: str = ""
    dry_run: str | None = None
    stages: tuple[tuple[str, float], ...] = ()  # where the build's time went


@dataclass(frozen=True)
class FailingEarly:
    """A build's run playbook has a failed task; the build itself goes on."""

    build: int
    uuid: str
    reason: str


def make_folder(buildset: int) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"keepgreen-{buildset}-"))
    # mkdtemp makes it private, but ansible runs sandboxed as an unprivileged user.
    folder.chmod(0o755)
    return folder


class BuildRunner:
    """Hands builds to the executors through the database and takes their results.

    ``start`` writes the build's request (``store.build_queue``) and wakes the executors of
    this process; any executor on the same database may take it. ``collect``, called by the
    scheduler's loop thread, turns the results written since into ``Finished`` (and early
    failures into ``FailingEarly``) on ``results``, and hands out again the builds whose
    executor stopped renewing its lease: as their next attempt, as Zuul retries a build
    whose executor was lost, or as RETRY_LIMIT once the job's attempts are used up. The
    nodes a lost executor held go back to the pool through ``release_nodes``.
    """

    def __init__(self, db: Database, repos: Repos, shared: SharedStates, *,
                 sources: SourceRefs | None = None,
                 release_nodes: Callable[[list[str]], None] = lambda ids: None) -> None:
        self.db = db
        self.repos = repos
        self.shared = shared
        self.sources = sources or SourceRefs(repos)
        self.results: queue.Queue[Finished | FailingEarly] = queue.Queue()
        self.wake: Callable[[], None] = lambda: None  # told after each report is queued
        self.wake_executors: Callable[[], None] = lambda: None  # told of new work, cancels
        self.release_nodes = release_nodes

    def _report(self, news: Finished | FailingEarly) -> None:
        self.results.put(news)
        self.wake()

    def abort(self) -> None:
        """Nothing runs in the runner itself: the executors stop their own builds."""

    def clear(self) -> None:
        """Forget the requests of an earlier scheduler (their builds are closed as ABORTED);
        an executor still running one sees it gone at its next renewal and stops it."""
        with self.db.write() as conn:
            dropped = build_queue.clear(conn)
        if dropped:
            log.info("%d build request(s) of the previous scheduler dropped", dropped)

    def cancel(self, build_uuid: str, reason: str) -> bool:
        """Stop a build at once; its late result is recorded, and ignored. A build no
        executor took yet ends here, ABORTED."""
        with self.db.write() as conn:
            found = build_queue.cancel(conn, build_uuid, reason)
            if found is not None and found.state == build_queue.REQUESTED:
                build_queue.finish(conn, build_uuid, _ended(
                    found, ex.Result.ABORTED, f"cancelled: {reason}"))
        if found is None:
            return False
        if found.state == build_queue.REQUESTED:
            self.wake()
        else:
            self.wake_executors()
        return True

    def start(self, action: gating.StartBuild, buildset: Buildset, build_uuid: str) -> None:
        change = action.change
        job = buildset.jobs.job(action.job)
        if is_noop(job):
            self._report(Finished(action.build, build_uuid, ex.Result.SUCCESS.value,
                                      "noop", None))
            return
        project = ex.Project(name=change.project, source=buildset.source,
                             checkout=change.branch)
        if change.is_ref:
            item = ex.Item(project, branch=change.branch, ref=change.ref or "",
                           newrev=change.newrev)
        else:
            item = ex.Item(project, branch=change.branch,
                           ref=patch_set_ref(change.number, change.patchset),
                           change=str(change.number), patchset=str(change.patchset))
        ahead = self.shared.items_ahead(action.buildset, action.changes, project)
        sources = {p.name: p.source for p in (project, *(i.project for i in ahead))
                   if p.source is not None}
        trusted = (CONFIG_PROJECT, buildset.trusted) if buildset.trusted else None
        try:
            required, roles = job_sources(job, change.branch, sources,
                                          buildset.checkouts(self.repos, make_folder,
                                                             action.buildset,
                                                             self.sources.checkout), trusted)
            spec = job_spec(job, change.project, sources, buildset.trusted, roles)
            request = self.sources.publish(action.buildset, ex.BuildRequest(
                uuid=build_uuid, job=spec, item=item, pipeline=action.pipeline,
                buildset=str(action.buildset), items_ahead=ahead, required_projects=required))
            data = wire.dump_request(request)
        except (BuildSetupError, wire.WireError, GitError) as exc:
            self._report(Finished(action.build, build_uuid, ex.Result.ERROR.value,
                                      str(exc), None))
            return
        with self.db.write() as conn:
            build_queue.add(conn, uuid=build_uuid, build=action.build,
                            buildset=action.buildset, job=action.job,
                            pipeline=action.pipeline, priority=priority_of(action.pipeline),
                            attempt=1, request=data, now=time.time())
        self.wake_executors()

    def collect(self, now: float | None = None) -> None:
        """Queue what the executors wrote since the last call; hand out lost builds again."""
        now = time.time() if now is None else now
        with self.db.read() as conn:
            done, early = build_queue.news(conn)
            lost = build_queue.expired(conn, now)
        for found in early:
            with self.db.write() as conn:
                build_queue.early_reported(conn, found.uuid)
            self.results.put(FailingEarly(found.build, found.uuid, found.early_reason or ""))
        for found in done:
            self.results.put(_finished(found))
            with self.db.write() as conn:
                build_queue.remove(conn, found.uuid)
        for found in lost:
            self._lost(found)

    def _lost(self, found: build_queue.QueuedBuild) -> None:
        attempts = int(found.request.get("job", {}).get("attempts", 1) or 1)
        with self.db.write() as conn:
            if found.attempt >= max(1, attempts):
                build_queue.finish(conn, found.uuid, _ended(
                    found, ex.Result.RETRY_LIMIT,
                    f"its executor ({found.owner}) was lost during attempt {found.attempt} "
                    f"of {attempts}"))
                again = True
            else:
                again = build_queue.requeue(conn, found,
                                            {**found.request, "attempt": found.attempt + 1})
        if not again:
            return
        log.warning("build %s of job %s: executor %s was lost during attempt %d; %s",
                    found.uuid, found.job, found.owner, found.attempt,
                    "handed out again" if found.attempt < attempts else "no attempts left")
        if found.nodes:
            try:
                self.release_nodes(list(found.nodes))
            except Exception:  # noqa: BLE001 - the pool's sweep deletes what is left
                log.exception("nodes %s of a lost build could not be returned",
                              ", ".join(found.nodes))
        self.wake_executors()
        self.wake()


def _ended(found: build_queue.QueuedBuild, result: ex.Result, reason: str) -> dict[str, Any]:
    """The stored result of a build that ended without an executor writing one."""
    now = time.time()
    return wire.dump_result(ex.BuildResult(uuid=found.uuid, job=found.job, result=result,
                                           reason=reason, started=now, ended=now))


def _finished(found: build_queue.QueuedBuild) -> Finished:
    try:
        result = wire.load_result(found.result or {})
    except wire.WireError as exc:
        return Finished(found.build, found.uuid, ex.Result.ERROR.value, str(exc), None,
                        found.buildset, found.job)
    return Finished(found.build, found.uuid, result.result.value, result.reason,
                    str(result.log_dir) if result.log_dir else None, found.buildset,
                    found.job, result.dry_run, result.stages)
