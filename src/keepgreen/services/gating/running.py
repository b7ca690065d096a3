"""Builds in flight: what a merged item keeps for its builds, and the threads that run them.

``BuildRunner`` turns a ``gating.StartBuild`` into a ``BuildRequest`` for the executor and
runs it in a thread of its own; the result (and a build's early failure) comes back to the
scheduler's loop thread through ``results``, so only that thread ever steps the gate core.
"""

from __future__ import annotations

import logging
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from keepgreen import gating
from keepgreen.domain.refs import patch_set_ref
from keepgreen.executor import model as ex
from keepgreen.executor.runner import Executor
from keepgreen.git.repos import Repos
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

log = logging.getLogger(__name__)

ExecutorFactory = Callable[[], Executor]


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

    def checkouts(self, repos: Repos, make_folder: Callable[[int], Path],
                  buildset: int) -> RepoCheckouts:
        """Checkouts of the projects outside the state its jobs name, kept with it."""
        if self.extra is None:
            self.extra = RepoCheckouts(repos, lambda: make_folder(buildset), self.folders)
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
    """Starts builds in threads; ``factory`` makes the executor on first use."""

    def __init__(self, repos: Repos, shared: SharedStates, factory: ExecutorFactory) -> None:
        self.repos = repos
        self.shared = shared
        self.results: queue.Queue[Finished | FailingEarly] = queue.Queue()
        self.wake: Callable[[], None] = lambda: None  # told after each report is queued
        self._factory = factory
        self._executor: Executor | None = None
        self._lock = threading.Lock()

    def _report(self, news: Finished | FailingEarly) -> None:
        self.results.put(news)
        self.wake()

    def abort(self) -> None:
        if self._executor is not None:
            self._executor.abort()

    def cancel(self, build_uuid: str, reason: str) -> bool:
        """Stop a running build at once; its late result is recorded, and ignored."""
        return self._executor is not None and self._executor.cancel(build_uuid, reason)

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
                                                             action.buildset), trusted)
            spec = job_spec(job, change.project, sources, buildset.trusted, roles)
        except BuildSetupError as exc:
            self._report(Finished(action.build, build_uuid, ex.Result.ERROR.value,
                                      str(exc), None))
            return
        request = ex.BuildRequest(uuid=build_uuid, job=spec, item=item,
                                  pipeline=action.pipeline, buildset=str(action.buildset),
                                  items_ahead=ahead, required_projects=required)
        threading.Thread(target=self._run, name=f"build-{build_uuid[:8]}", daemon=True,
                         args=(action.build, action.buildset, request)).start()

    def _run(self, build: int, buildset: int, request: ex.BuildRequest) -> None:
        """In a build thread: run the build and queue its result for the loop thread (and,
        through the same queue, its early failure: only the loop thread steps the core)."""

        def failing(reason: str) -> None:
            self._report(FailingEarly(build, request.uuid, reason))

        try:
            result = self._executor_now().run_build(request, on_early_failure=failing)
            done = Finished(build, request.uuid, result.result.value, result.reason,
                            str(result.log_dir) if result.log_dir else None, buildset,
                            request.job.name, result.dry_run, result.stages)
        except Exception as exc:  # noqa: BLE001 - any crash must still end the build
            log.exception("build %s of job %s crashed", request.uuid, request.job.name)
            done = Finished(build, request.uuid, ex.Result.ERROR.value,
                            f"the build could not run: {exc}", None)
        self._report(done)

    def _executor_now(self) -> Executor:
        with self._lock:
            if self._executor is None:
                self._executor = self._factory()
            return self._executor
