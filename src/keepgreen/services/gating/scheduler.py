"""The pipelines of the site: review events in, builds on fresh nodes, reports out.

``Scheduler`` consumes review events from the store's event log once each (its place is kept
in ``scheduler_cursor``), asks ``services.triggering`` which pipelines they enqueue into,
steps the pure gate core (``keepgreen.gating``) and performs the actions it answers with: it
prepares the state to test (the patch set's own commit; in a dependent pipeline the branch
tip with the changes ahead merged in, see ``services.gate``; a ref item's new commit), reads
the job configuration from it (speculative config), freezes the job graph, runs each build
with the executor in a worker thread, and reports as each outcome's reporter in the pipeline
definition says (``services.reporting``).

The layout (pipelines, trusted base jobs, the ``config`` project's own project stanzas) comes
from the merged tip of the site's ``config`` project (``services.layout``). It is loaded on
start and again whenever ``config``'s default branch moves; a state that does not validate
is logged and the previous layout keeps running. Pipelines that stay keep their items.

Items of ``config`` itself are checked by ``keepgreen.services.siteconf.check`` in the merge step:
its problems (and those of the change's own pipeline and job definitions) make a
CONFIG_ERROR with file and line; otherwise the plan of what merging would do is added to
the report under "Plan:".

Threads: one loop thread owns the gate state and does every ``step``; build threads
(``services.gating.running``) only run the executor and hand their results back through a
queue, so the core is never shared. A
build's early failure (a failed task in a run playbook, told by the executor while the build
goes on) travels through the same queue and becomes ``gating.BuildEarlyFailure``, which
re-tests the items behind at once.

Restarts (``services.pipeline_items``): the live items of every pipeline are kept in the
store as they enter and leave; on start, builds and buildsets the stopped process left
without a result are closed as ABORTED, and once the layout is loaded the loop thread
enqueues the recorded items again, in the same pipelines and order. Their builds run again
from the start; builds that were running are not resumed.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from keepgreen import gating
from keepgreen.gating import pipeline as kinds
from keepgreen.gating.buildset import CONFIG_ERROR, MERGE_CONFLICT, MERGED
from keepgreen.gating.managers import manager_for
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import ConfigError
from keepgreen.services.gating import dry_runs, flakes
from keepgreen.services.gating import status as status_view
from keepgreen.services.gating.buildsets import BuildsetRecorder
from keepgreen.services.gating.dry_runs import (
    DRIFT_PIPELINE,
    DryRunLabels,
    with_dry_runs,
)
from keepgreen.services.gating.gate import (
    MergeItem,
    SharedStates,
    SpeculativeConflict,
    SpeculativeMerger,
    branch_queue,
    project_merge_mode,
    with_queues,
)
from keepgreen.services.gating.layout import (
    CONFIG_PROJECT,
    ConfigSource,
    LayoutProblems,
    SiteLayout,
    check_site_layout,
    moves_config,
    queue_of,
)
from keepgreen.services.gating.operator import OperatorCommands
from keepgreen.services.gating.pipeline_items import QueuedItems, restored_enqueue
from keepgreen.services.gating.reporting import Reporting
from keepgreen.services.gating.running import (
    BuildRunner,
    Buildset,
    FailingEarly,
    Finished,
    make_folder,
)
from keepgreen.services.gating.source_refs import SourceRefs
from keepgreen.services.gating.triggering import Triggering
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.review import ReviewService
from keepgreen.services.review.submit import SubmitService
from keepgreen.services.siteconf.check import check_config_change
from keepgreen.store import builds as build_store
from keepgreen.store import events as event_store
from keepgreen.store import pipeline_items as item_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from keepgreen.store.pipeline_items import StoredItem

log = logging.getLogger(__name__)

CI_ACCOUNT = "keepgreen-ci"
CONSUMER = "scheduler"
POLL_SECONDS = 0.2
STOPPED = "the server stopped while this build ran"

class Scheduler:
    """Runs the site's pipelines. ``run_jobs`` False means builds are turned off: events are
    still consumed (so turning builds on later does not replay old ones), but nothing is
    enqueued. Builds go to the executors through the database (``BuildRunner``);
    ``release_nodes`` gives back the nodes of a build whose executor was lost."""

    def __init__(self, db: Database, repos: Repos, review: ReviewService,
                 accounts: AccountService, run_jobs: bool,
                 submit: SubmitService, dry_run_labels: DryRunLabels | None = None,
                 release_nodes: Callable[[list[str]], None] | None = None) -> None:
        self.db = db
        self.repos = repos
        self.review = review
        self.accounts = accounts
        self.submit = submit
        self.dry_run_labels = dry_run_labels
        self.speculative = SpeculativeMerger(repos, submit.merger, CI_ACCOUNT,
                                             f"{CI_ACCOUNT}@keepgreen.invalid")
        self.source = ConfigSource(repos)
        self.triggering = Triggering(submit, self.source, CI_ACCOUNT)
        self.reporting = Reporting(review, accounts, submit, CI_ACCOUNT)
        self.site = SiteLayout(None, {})
        self._refused_sha: str | None = None
        self.run_jobs = run_jobs
        self.state = gating.initial_state([], now=time.time())
        self.cursor = 0
        self._timers_checked = datetime.now(UTC)
        self._pending: deque[gating.Event] = deque()
        self._buildsets: dict[int, Buildset] = {}
        self._uuids: dict[int, str] = {}
        self._started: dict[int, gating.StartBuild] = {}  # running builds, for a retry
        self._retried: dict[int, str] = {}  # build -> uuid of its failed first try
        # First tries stopped at their early failure: uuid -> (the reason recorded, the
        # build to start again once the stopped try has let go of its nodes).
        self._stopped: dict[str, tuple[str, gating.StartBuild]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # Gating records and operator commands live in services.buildsets / .operator.
        self.records = BuildsetRecorder(db)
        self.operator = OperatorCommands(db, submit, CI_ACCOUNT)
        self.sources = SourceRefs(repos)
        self.shared = SharedStates(self.speculative, self.sources.checkout,
                                   lambda name: project_merge_mode(db, self.site.layout, name))
        self.queued = QueuedItems(db)
        self.published = status_view.Publisher(db)
        self.runner = (BuildRunner(db, repos, self.shared, sources=self.sources,
                                   release_nodes=release_nodes or (lambda ids: None))
                       if run_jobs else None)
        if self.runner is not None:
            self.runner.wake = self.wake
        self._restore: list[StoredItem] | None = None
        self._restoring = False

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Load the layout, find the place in the event log and start polling it in a
        background thread. Builds and buildsets the previous process left running are
        closed as ABORTED; the items it had queued are enqueued again by the loop."""
        with self.db.write() as conn:
            closed = item_store.abort_unfinished(conn, STOPPED, utcnow())
        if any(closed):
            log.info("%d build(s) and %d buildset(s) aborted: %s", *closed, STOPPED)
        if self.runner is not None:
            self.runner.clear()
        self.reload_layout()
        # With jobs turned off nothing is enqueued, so the recorded items wait untouched.
        self._restore = self.queued.load() if self.run_jobs else None
        with self.db.write() as conn:
            known = build_store.cursor(conn, CONSUMER)
            if known is None:
                # First start on this site: events from before the scheduler existed are
                # history, not work; re-testing every open change at upgrade would surprise.
                known = build_store.last_event_id(conn)
                build_store.set_cursor(conn, CONSUMER, known)
        self.cursor = known
        self._timers_checked = datetime.now(UTC)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keepgreen-scheduler",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.runner is not None:
            self.runner.abort()
        for buildset in list(self._buildsets):
            self._drop(buildset)
        self.shared.release_all()

    def wake(self) -> None:
        """Look at the event log and the builds now rather than at the next poll (called
        when an event is committed or a build reports)."""
        self._wake.set()

    def _loop(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
                self.published.publish(self.state, dict(self._uuids))
            except Exception:  # noqa: BLE001 - one bad pass must not stop the pipelines
                log.exception("scheduler pass failed; trying again in %.1f s", POLL_SECONDS)

    def run_once(self) -> None:
        """Feed finished builds back, take operator commands, handle every new event in
        the log, then fire the timers whose minute came. The first pass enqueues again what
        the previous process had queued."""
        if self._restore is not None:
            self._restore_items()
        if self.runner is not None:
            self.runner.collect()
        while self.runner is not None and not self.runner.results.empty():
            news = self.runner.results.get_nowait()
            if isinstance(news, FailingEarly):
                log.info("build %s is failing: %s; resetting the items behind it",
                         news.uuid, news.reason)
                if self._uuids.get(news.build) == news.uuid:
                    self._try_again(news.build, news.uuid, news.reason, None, early=True)
                self._send(gating.BuildEarlyFailure(news.build))
            else:
                self._finished(news)
        self.operator.take(lambda: self.state, self._send)
        with self.db.read() as conn:
            batch = event_store.since(conn, self.cursor, limit=100)
        for event_id, type_, payload in batch:
            if moves_config(type_, payload):
                self.reload_layout()
            for event in self.triggering.events_for(
                    self.site, self.state, type_, payload,
                    running_jobs=self.run_jobs):
                self._send(event)
            with self.db.write() as conn:
                build_store.set_cursor(conn, CONSUMER, event_id)
            self.cursor = event_id
        self._fire_timers()

    def _fire_timers(self) -> None:
        now = datetime.now(UTC)
        if now.replace(second=0, microsecond=0) <= self._timers_checked.replace(
                second=0, microsecond=0):
            return
        last, self._timers_checked = self._timers_checked, now
        if not self.run_jobs:
            return
        for event in self.triggering.timer_events(self.site, last, now):
            self._send(event)

    def _restore_items(self) -> None:
        items, self._restore = self._restore or [], None
        self.queued.paused = self._restoring = True
        try:
            for stored in items:
                try:
                    event, why = restored_enqueue(stored, self.site, self.triggering,
                                                  self.submit, self.repos)
                    if event is None:
                        log.info("%s %s was queued before the restart and is not enqueued "
                                 "again: %s", stored.pipeline, stored.key, why)
                        continue
                    log.info("%s %s was queued before the restart: enqueued again",
                             stored.pipeline, stored.key)
                    self._send(event)
                except Exception:  # noqa: BLE001 - one item must not keep the others out
                    log.exception("%s %s could not be enqueued again", stored.pipeline,
                                  stored.key)
        finally:
            self.queued.paused = self._restoring = False
        self.queued.settle(self.state)

    # -- the layout -----------------------------------------------------------------------

    def reload_layout(self) -> bool:
        """Load the layout from ``config``'s tip if it moved; True when a new layout was
        swapped in. A tip that does not validate is logged (once) and the running layout
        stays."""
        tip = self.source.config_tip()
        if tip is None:
            if self.site.sha is None:
                log.warning("the site has no %s project, so no pipelines run; `keepgreen "
                            "init` creates it", CONFIG_PROJECT)
            return False
        if tip in (self.site.sha, self._refused_sha):
            return False
        try:
            site = self.source.load_site(tip)
            state = gating.reconfigure(self.state, [p.config for p in site.pipelines])
        except (LayoutProblems, ValueError) as exc:
            self._refused_sha = tip
            problems = getattr(exc, "problems", (str(exc),))
            log.error("%s at %s not loaded; the previous layout keeps running: %s",
                      CONFIG_PROJECT, tip[:10], "; ".join(problems))
            return False
        self.site, self.state = site, state
        log.info("layout loaded from %s at %s: pipelines %s", CONFIG_PROJECT, tip[:10],
                 ", ".join(p.name for p in site.pipelines))
        return True

    # -- the core -------------------------------------------------------------------------

    def _finished(self, done: Finished) -> None:
        if done.uuid in self._stopped:  # its failure was recorded when it was stopped
            recorded, start = self._stopped.pop(done.uuid)
            with self.db.write() as conn:
                build_store.finish_build(conn, done.uuid, "FAILURE", recorded, utcnow(),
                                         done.log_dir)
            if (self._started.get(done.build) is start  # not cancelled by a reset meanwhile
                    and start.buildset in self._buildsets):
                self._start(start, again=True)
            return
        if done.result == "FAILURE" and self._try_again(done.build, done.uuid, done.reason,
                                                        done.log_dir):
            return
        start = self._started.pop(done.build, None)
        failed_first = self._retried.pop(done.build, None)
        if failed_first is not None and start is not None and done.result == "SUCCESS":
            self._record_flaky(start, failed_first, done)
        buildset = self._buildsets.get(done.buildset) if done.buildset is not None else None
        if done.dry_run is not None and buildset is not None:
            buildset.dry_runs[done.job] = done.dry_run
            if buildset.jobs.pipeline == DRIFT_PIPELINE:
                dry_runs.record_drift(self.db, buildset.jobs, done.job, done.uuid,
                                      done.result, done.dry_run)
        with self.db.write() as conn:
            build_store.finish_build(conn, done.uuid, done.result, done.reason, utcnow(),
                                     done.log_dir, done.stages)
        self._pending.append(gating.Tick(time.time()))
        self._send(gating.BuildCompleted(done.build, done.result, done.reason))

    def _try_again(self, build: int, build_uuid: str, reason: str, log_dir: str | None,
                   early: bool = False) -> bool:
        """Run a failed gate build once more when its job passed on the patch set in check
        (``services.gating.flakes``); the core keeps waiting for its result. A try that is
        ``early`` (its run playbook has just failed) is stopped there, and the second try
        starts as soon as the first has let go of its nodes."""
        start = self._started.get(build)
        if (start is None or build in self._retried or start.change.is_ref
                or start.buildset not in self._buildsets):
            return False
        config = self.state.pipeline(start.pipeline)
        if config is None or not manager_for(config.config).changes_merge:
            return False
        with self.db.read() as conn:
            if not flakes.passed_in_check(conn, start.change.project, start.change.number,
                                          start.change.patchset, start.job):
                return False
        reason = f"failed early: {reason}; stopped there" if early else reason
        recorded = f"{reason} {flakes.RETRY_NOTE}"
        with self.db.write() as conn:
            build_store.finish_build(conn, build_uuid, "FAILURE", recorded, utcnow(), log_dir)
        self._retried[build] = build_uuid
        log.info("%s: job %s failed in %s although it passed in check; trying it again",
                 start.change.key, start.job, start.pipeline)
        if early:  # tried again once the stopped try has finished (its result always comes)
            assert self.runner is not None
            self._stopped[build_uuid] = (recorded, start)
            self.runner.cancel(build_uuid, "stopped at its early failure to be tried again")
        else:
            self._start(start, again=True)
        return True

    def _record_flaky(self, start: gating.StartBuild, failed: str, done: Finished) -> None:
        now = utcnow()
        change = start.change
        event = flakes.flaky_event(change.project, change.number, change.patchset, start.job,
                                   failed, done.uuid, int(now.timestamp()))
        with self.db.write() as conn:
            event_store.record(conn, "flaky-build", event, now, project=change.project,
                               change_number=change.number)
        buildset = self._buildsets.get(start.buildset)
        if buildset is not None:
            buildset.flaky.append(start.job)

    def _send(self, event: gating.Event) -> None:
        """Step the core with ``event`` and with every event its actions lead to, in order."""
        if isinstance(event, gating.Enqueue) and not event.change.is_ref:
            event = with_queues(event, self._queue_of)
        before = self._item_ids(event)
        self._pending.append(event)
        while self._pending:
            self.state, actions = gating.step(self.state, self._pending.popleft())
            for action in actions:
                self._perform(action)
        self.records.settle(self.state)
        for gone in [b for b in self._buildsets if self.state.find_buildset(b) is None]:
            self._drop(gone)  # re-tested on a new state: its checkouts serve nobody now
        if self.run_jobs:
            self.queued.settle(self.state)
        if isinstance(event, gating.Enqueue) and not self._restoring:
            pipeline = self.state.pipeline(event.pipeline)
            for _, item in pipeline.items() if pipeline is not None else ():
                if item.live and item.id not in before:
                    self.reporting.enqueued(self.site, event.pipeline, item)

    def _item_ids(self, event: gating.Event) -> set[int]:
        pipeline = (self.state.pipeline(event.pipeline)
                    if isinstance(event, gating.Enqueue) else None)
        return {item.id for _, item in pipeline.items()} if pipeline is not None else set()

    def status(self, project: str | None = None,
               visible: Callable[[int], bool] | None = None) -> dict[str, Any]:
        """The live status document (``services.status``). Safe from any thread: the gate
        state is an immutable value, read once. A process whose scheduler does not run
        (another process leads) answers with what the leader shared through the store."""
        if self._thread is None or not self._thread.is_alive():
            return status_view.stored(self.db, project=project, visible=visible)
        return status_view.snapshot(self.state, self.db, dict(self._uuids), project=project,
                                    visible=visible)

    # -- actions out ----------------------------------------------------------------------

    def _perform(self, action: gating.Action) -> None:
        if isinstance(action, gating.RequestMerge):
            try:
                merged = self._merge(action)
            except Exception as exc:  # noqa: BLE001 - one item must not stop the pipelines
                log.exception("%s: preparing %s failed", action.pipeline, action.change)
                merged = gating.MergeCompleted(
                    action.buildset, CONFIG_ERROR,
                    message=f"the state to test could not be prepared ({exc})")
            self.records.merged(action, merged)
            self._pending.append(merged)
        elif isinstance(action, gating.StartBuild):
            self._start(action)
        elif isinstance(action, gating.CancelBuild):
            # Stopped at once, its nodes freed; the core ignores its late result.
            self._started.pop(action.build, None)  # nor is it tried again
            uuid_ = self._uuids.get(action.build)
            stopped = uuid_ is not None and self.runner is not None and self.runner.cancel(
                uuid_, action.reason)
            log.info("build %s of %s cancelled%s: %s", action.job, action.pipeline,
                     "" if stopped else " (it was not running)", action.reason)
        elif isinstance(action, gating.Report):
            self._report(action)
        elif isinstance(action, gating.Waiting | gating.Refused):
            if isinstance(action, gating.Refused):
                self.operator.refused(action)
            log.info("%s %s: %s", action.pipeline, action.change, action.reason)

    def _merge(self, action: gating.RequestMerge) -> gating.MergeCompleted:
        """Prepare the state to test, freeze the jobs from it and check it out for the
        builds. A ref item tests its new commit; a change alone (independent and post-merge
        pipelines) its patch set; in a dependent pipeline the branch tip with the changes
        ahead and then the item merged in."""
        change = action.change
        plan: tuple[str, ...] = ()
        if change.is_ref:
            assert change.newrev is not None
            sha = change.newrev
        else:
            found = self.reporting.load(change.number, change.patchset)
            if found is None:
                return gating.MergeCompleted(action.buildset, CONFIG_ERROR,
                                             message=f"change {change.key} no longer exists")
            sha = found[1].sha
            config = self.state.pipeline(action.pipeline)
            if config is not None and manager_for(config.config).changes_merge:
                items: list[MergeItem] = []
                for ref in action.changes:
                    loaded = self.reporting.load(ref.number, ref.patchset)
                    if loaded is None:
                        return gating.MergeCompleted(
                            action.buildset, MERGE_CONFLICT,
                            message=f"change {ref.key} ahead of {change.key} no longer exists")
                    items.append(MergeItem(*loaded))
                try:
                    # A shared queue spans projects: each project of the state gets its commit.
                    states = self.shared.merge(change.project, change.branch, items)
                    sha = states[change.project]
                    self.shared.prepare(action.buildset, states, change.project)
                except (SpeculativeConflict, GitError) as exc:
                    return gating.MergeCompleted(action.buildset, MERGE_CONFLICT,
                                                 message=str(exc))
            if change.project == CONFIG_PROJECT:
                problems, plan = self._check_config(sha, found[1].message)
                if problems:
                    return gating.MergeCompleted(action.buildset, CONFIG_ERROR,
                                                 message=problems)
        try:
            jobs = self.source.freeze(self.site, change.project, change.branch, sha,
                                      action.pipeline)
            unmerged = [] if change.is_ref else self.source.check_secrets(
                self.site, change.project, change.branch, jobs)
        except ConfigError as exc:
            return gating.MergeCompleted(action.buildset, CONFIG_ERROR, message=str(exc))
        if unmerged:
            return gating.MergeCompleted(action.buildset, CONFIG_ERROR,
                                         message="; ".join(unmerged))
        jobs = with_dry_runs(self.source, self.site, self.dry_run_labels, change.project,
                             change.branch, sha, jobs, is_ref=change.is_ref)
        buildset = Buildset(jobs, make_folder(action.buildset), plan=plan)
        buildset.folders.append(buildset.source)
        self.sources.checkout(change.project, sha, buildset.source)
        if self.site.sha is not None and any(p.trusted for j in jobs.jobs
                                             for p in j.playbooks):
            buildset.trusted = make_folder(action.buildset)
            buildset.folders.append(buildset.trusted)
            self.sources.checkout(CONFIG_PROJECT, self.site.sha, buildset.trusted)
        self._buildsets[action.buildset] = buildset
        graph = gating.JobGraph(tuple(
            gating.Job(job.name, tuple(gating.JobDependency(d.name, d.soft)
                                       for d in job.dependencies),
                       # The executor retries by itself; the core sees the final result.
                       # A quarantined job runs and reports but never blocks.
                       voting=job.voting and flakes.QUARANTINE not in job.tags, attempts=1,
                       semaphores=tuple(gating.Semaphore(name, jobs.semaphore_limit(name))
                                        for name in job.semaphores))
            for job in jobs.jobs))
        for name, reason in jobs.reasons.items():
            log.info("%s: job %s does not run: %s", change.key, name, reason)
        return gating.MergeCompleted(action.buildset, MERGED, graph)

    def _check_config(self, sha: str, message: str) -> tuple[str, tuple[str, ...]]:
        """Problems of a ``config`` state (as one message, file and line first on each
        line; empty when there are none) and the plan of what merging it would do."""
        lines: list[str] = []
        try:
            check_site_layout(self.source.files(CONFIG_PROJECT, sha), sha)
        except LayoutProblems as exc:
            lines += exc.problems
        checked = check_config_change(self.repos, self.db, self.site.sha, sha, message)
        lines += [str(problem) for problem in checked.problems]
        if not lines:
            return "", checked.plan
        return "this change to the site's configuration has problems:\n" + "\n".join(
            f"- {line}" for line in lines) + "\n", ()

    def _start(self, action: gating.StartBuild, again: bool = False) -> None:
        """Record and run a build; ``again`` runs it a second time for the core's same
        build (a retry the core does not know of)."""
        change = action.change
        buildset = self._buildsets[action.buildset]
        build_uuid = uuid.uuid4().hex
        self._uuids[action.build] = build_uuid
        self._started[action.build] = action
        with self.db.write() as conn:
            build_store.add_build(conn, uuid=build_uuid, pipeline=action.pipeline,
                                  project=change.project, change_number=change.number,
                                  patch_set=change.patchset, job=action.job,
                                  voting=action.voting, started=utcnow(),
                                  buildset=self.records.uuid_of(action.buildset))
        if not again:
            self._pending.append(gating.Tick(time.time()))
            self._pending.append(gating.BuildStarted(action.build))
        assert self.runner is not None
        self.runner.start(action, buildset, build_uuid)

    def _report(self, action: gating.Report) -> None:
        self.records.reported(action)
        extra = ""
        if action.buildset is not None and action.kind != kinds.START:
            done = self._buildsets.get(action.buildset)
            if done is not None:
                extra = done.report_extra(action.kind == kinds.SUCCESS)
            self._drop(action.buildset)
        answer = self.reporting.report(self.site, action, extra)
        if answer is not None:
            self._pending.append(answer)

    # -- git ------------------------------------------------------------------------------

    def _queue_of(self, project: str, branch: str) -> str | None:
        """The shared queue ``project`` declares on ``branch`` (None: it gates alone)."""
        sha = self.repos.resolve(project, "refs/heads/" + branch)
        if sha is None:
            return None
        try:
            layout = self.source.item_layout(self.site, project, branch, sha)
            return branch_queue(queue_of(layout, project, branch), branch, layout)
        except (ConfigError, ValueError, GitError):
            return None

    def _drop(self, buildset: int) -> None:
        """Remove a build set's checkouts and the refs that keep their commits fetchable."""
        done = self._buildsets.pop(buildset, None)
        folders = self.shared.release(buildset)
        if done is not None:
            done.remove()
            folders += done.folders
        self.sources.release(buildset, folders)

