"""A small fake world around the pure gate core: review, merger and executor in memory.

It reads like Zuul's own test fixtures: ``A = world.add_change("org/project")``,
``world.approve(A)``, ``world.fail_job("unit", B)``, ``world.settle()``,
``world.assert_history([...])``. The fake executor fails a build when a change marked failing
is part of the speculative state it tests, so a failure follows the change into every build
behind it, as a real broken change would. The fake merger conflicts when two changes of its
conflict table meet in one speculative state (or one of them already landed).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from keepgreen.gating import (
    Action,
    BuildCompleted,
    BuildEarlyFailure,
    BuildStarted,
    CancelBuild,
    ChangeRef,
    Dequeue,
    Enqueue,
    Event,
    GatingState,
    Job,
    JobGraph,
    MergeCompleted,
    PipelineConfig,
    Promote,
    Refused,
    Report,
    RequestMerge,
    StartBuild,
    SubmitResult,
    Tick,
    Waiting,
    WindowPolicy,
    initial_state,
    step,
)
from keepgreen.gating.buildset import CONFIG_ERROR, MERGE_CONFLICT, MERGED, SUCCESS
from keepgreen.gating.events import ABANDONED, APPROVAL_LOST, NEW_PATCHSET, OPERATOR

DEFAULT_JOBS = JobGraph.of("lint", "unit")


@dataclass
class FakeChange:
    number: int
    project: str
    branch: str = "main"
    patchset: int = 1
    needs: list[int] = field(default_factory=list)
    approved: bool = False
    merged: bool = False
    queue: str | None = None

    @property
    def key(self) -> str:
        return f"{self.number},{self.patchset}"

    def ref(self) -> ChangeRef:
        return ChangeRef(self.number, self.patchset, self.project, self.branch,
                         needs=tuple(self.needs), approved=self.approved, merged=self.merged,
                         queue=self.queue)


@dataclass(frozen=True)
class HistoryEntry:
    name: str
    result: str
    changes: str
    pipeline: str
    attempt: int


def default_pipelines(gate_window: WindowPolicy | None = None) -> list[PipelineConfig]:
    return [
        PipelineConfig("check", "independent"),
        PipelineConfig("gate", "dependent", window=gate_window),
        PipelineConfig("post", "supercedent"),
        PipelineConfig("deploy", "serial"),
    ]


class World:
    """Drives the gate core with fake review, merger and executor. Nothing is threaded: the
    world keeps a FIFO of pending events and ``settle()`` feeds them until none is left."""

    def __init__(self, pipelines: Sequence[PipelineConfig] | None = None,
                 gate_window: WindowPolicy | None = None) -> None:
        self.state: GatingState = initial_state(pipelines or default_pipelines(gate_window))
        self.changes: dict[int, FakeChange] = {}
        self.project_queues: dict[str, str] = {}
        self.jobs: dict[str, JobGraph] = {}
        self.failing: dict[int, dict[str | None, str]] = {}
        self.early: set[tuple[str, int]] = set()
        self.conflicts: set[frozenset[int]] = set()
        self.added_jobs: dict[int, Job] = {}
        self.broken_config: dict[int, str] = {}
        self.submit_fails: set[int] = set()
        self.branches: dict[tuple[str, str], list[int]] = {}
        self.hold = False
        self.slow_submit = False  # answer submits after the events already pending
        self.pending: deque[Event | tuple[str, int]] = deque()
        self.running: dict[int, StartBuild] = {}
        self.held: list[int] = []
        self.history: list[HistoryEntry] = []
        self.reports: list[Report] = []
        self.refusals: list[Refused] = []
        self.waiting: dict[int, str] = {}
        self.actions: list[Action] = []
        self.events: list[Event] = []
        self.merge_bases: dict[int, list[int]] = {}
        self.clock = 0.0

    # -- the review side ----------------------------------------------------------------

    def add_change(self, project: str = "org/project", branch: str = "main", *,
                   needs: Iterable[FakeChange] = (), parent: FakeChange | None = None
                   ) -> FakeChange:
        number = len(self.changes) + 1
        depends = ([parent.number] if parent else []) + [c.number for c in needs]
        change = FakeChange(number, project, branch, needs=depends,
                            queue=self.project_queues.get(project))
        self.changes[number] = change
        return change

    def related(self, change: FakeChange) -> tuple[ChangeRef, ...]:
        return tuple(c.ref() for c in self.changes.values() if c.number != change.number)

    def enqueue(self, change: FakeChange, pipeline: str) -> None:
        self.send(Enqueue(pipeline, change.ref(), self.related(change)))

    def approve(self, change: FakeChange) -> None:
        """Code-Review +2, Workflow +1 and a clean check: the gate trigger fires."""
        change.approved = True
        self.enqueue(change, "gate")

    def check(self, change: FakeChange) -> None:
        self.enqueue(change, "check")

    def unapprove(self, change: FakeChange) -> None:
        change.approved = False
        self.send(Dequeue(change.number, APPROVAL_LOST, pipeline="gate"))

    def new_patchset(self, change: FakeChange) -> None:
        change.patchset += 1
        change.approved = False
        self.send(Dequeue(change.number, NEW_PATCHSET, patchset=change.patchset))

    def abandon(self, change: FakeChange) -> None:
        self.send(Dequeue(change.number, ABANDONED))

    def dequeue(self, change: FakeChange, pipeline: str = "gate") -> None:
        self.send(Dequeue(change.number, OPERATOR, pipeline=pipeline))

    def promote(self, *changes: FakeChange, pipeline: str = "gate") -> None:
        self.send(Promote(pipeline, tuple(c.number for c in changes)))

    def advance(self, seconds: float) -> None:
        self.clock += seconds
        self.send(Tick(self.clock))

    # -- the fake merger and executor ---------------------------------------------------

    def fail_job(self, job: str | None, change: FakeChange, result: str = "FAILURE") -> None:
        """Every build of ``job`` (None: of every job) that includes ``change`` ends so."""
        self.failing.setdefault(change.number, {})[job] = result

    def fail_early(self, job: str, change: FakeChange) -> None:
        self.fail_job(job, change)
        self.early.add((job, change.number))

    def conflict(self, first: FakeChange, second: FakeChange) -> None:
        self.conflicts.add(frozenset({first.number, second.number}))

    def add_job_in(self, change: FakeChange, job: Job) -> None:
        """``change`` edits its project's job config to add ``job`` (speculative config)."""
        self.added_jobs[change.number] = job

    def break_config(self, change: FakeChange, message: str) -> None:
        self.broken_config[change.number] = message

    def hold_jobs(self) -> None:
        self.hold = True

    def release(self, job: str | None = None, change: FakeChange | None = None) -> None:
        """Let held builds finish: all of them, or those of ``job`` for ``change``."""
        for build_id in list(self.held):
            start = self.running[build_id]
            if job is not None and start.job != job:
                continue
            if change is not None and start.change.number != change.number:
                continue
            self.held.remove(build_id)
            self.pending.append(("complete", build_id))

    def release_all(self) -> None:
        self.hold = False
        self.release()

    def send(self, event: Event) -> None:
        self.events.append(event)
        self.state, actions = step(self.state, event)
        for action in actions:
            self._perform(action)

    def settle(self, limit: int = 100_000) -> None:
        for _ in range(limit):
            if not self.pending:
                return
            self._deliver(self.pending.popleft())
        raise AssertionError("the gate did not settle")

    def run_some(self, count: int) -> None:
        """Deliver at most ``count`` pending events (for interleavings in property tests)."""
        for _ in range(count):
            if not self.pending:
                return
            self._deliver(self.pending.popleft())

    def _deliver(self, work: Event | tuple[str, int]) -> None:
        if isinstance(work, tuple):
            self._complete(work[1])
        else:
            self.send(work)

    def _perform(self, action: Action) -> None:
        self.actions.append(action)
        if isinstance(action, RequestMerge):
            self.pending.append(self._merge(action))
        elif isinstance(action, StartBuild):
            self.running[action.build] = action
            self.pending.append(BuildStarted(action.build))
            numbers = {c.number for c in action.changes}
            if any((action.job, n) in self.early for n in numbers):
                self.pending.append(BuildEarlyFailure(action.build))
            if self.hold:
                self.held.append(action.build)
            else:
                self.pending.append(("complete", action.build))
        elif isinstance(action, CancelBuild):
            start = self.running.pop(action.build, None)
            if start is not None:
                self._record(start, "ABORTED")
            if action.build in self.held:
                self.held.remove(action.build)
        elif isinstance(action, Report):
            self.reports.append(action)
            if action.submit:
                self._submit(action)
        elif isinstance(action, Waiting):
            self.waiting[action.change.number] = action.reason
        elif isinstance(action, Refused):
            self.refusals.append(action)

    def _merge(self, request: RequestMerge) -> MergeCompleted:
        change = request.change
        tip = self.branches.get((change.project, change.branch), [])
        self.merge_bases[request.buildset] = list(tip)
        present = {c.number for c in request.changes}
        landed = {n for history in self.branches.values() for n in history}
        for pair in self.conflicts:
            if pair <= present | landed and pair & present and not pair <= landed:
                return MergeCompleted(request.buildset, MERGE_CONFLICT,
                                      message=f"conflict between {sorted(pair)}")
        for c in request.changes:
            if c.number in self.broken_config:
                return MergeCompleted(request.buildset, CONFIG_ERROR,
                                      message=self.broken_config[c.number])
        graph = self.jobs.get(change.project, DEFAULT_JOBS)
        for c in request.changes:
            added = self.added_jobs.get(c.number)
            if added is not None and c.project == change.project:
                graph = replace(graph, jobs=(*graph.jobs, added))
        return MergeCompleted(request.buildset, MERGED, graph)

    def _result(self, start: StartBuild) -> str:
        for c in start.changes:
            rules = self.failing.get(c.number, {})
            if start.job in rules:
                return rules[start.job]
            if None in rules:
                return rules[None]
        return SUCCESS

    def _complete(self, build_id: int) -> None:
        start = self.running.pop(build_id, None)
        if start is None:
            return  # cancelled meanwhile
        result = self._result(start)
        self._record(start, result)
        self.send(BuildCompleted(build_id, result))

    def _record(self, start: StartBuild, result: str) -> None:
        changes = " ".join(c.key for c in start.changes)
        self.history.append(HistoryEntry(start.job, result, changes, start.pipeline,
                                         start.attempt))

    def _submit(self, report: Report) -> None:
        """Submit at once and answer before anything else happens, as a review service
        does when it performs the report."""
        change = self.changes[report.change.number]
        if change.number in self.submit_fails:
            self.submit_fails.discard(change.number)
            self.pending.appendleft(SubmitResult(report.pipeline, change.number, False,
                                                 "The branch moved and the change conflicts."))
            return
        change.merged = True
        self.branches.setdefault((change.project, change.branch), []).append(change.number)
        answer = SubmitResult(report.pipeline, change.number, True)
        if self.slow_submit:
            self.pending.append(answer)
        else:
            self.pending.appendleft(answer)

    # -- what the stories check -----------------------------------------------------------

    def merged(self, project: str = "org/project", branch: str = "main") -> list[int]:
        return list(self.branches.get((project, branch), []))

    def reported(self, change: FakeChange, pipeline: str | None = None) -> list[str]:
        """The report kinds ``change`` received, in order, without the start reports."""
        return [r.kind for r in self.reports
                if r.change.number == change.number and r.kind != "start"
                and pipeline in (None, r.pipeline)]

    def assert_reported(self, change: FakeChange, *kinds: str, pipeline: str = "gate") -> None:
        assert self.reported(change, pipeline) == list(kinds), (
            f"{change.key} got {self.reported(change, pipeline)}, expected {list(kinds)}")

    def last_report(self, change: FakeChange) -> Report:
        return [r for r in self.reports if r.change.number == change.number][-1]

    def votes(self, change: FakeChange) -> list[tuple[tuple[str, int], ...]]:
        return [r.votes for r in self.reports if r.change.number == change.number]

    def assert_history(self, expected: list[dict[str, str]], ordered: bool = False) -> None:
        """Each entry names the job and its result, and may name the changes it tested
        (``"1,1 2,1"``) and the pipeline; cancelled builds show as ABORTED."""
        actual = [{k: getattr(h, k) for k in ("name", "result", "changes", "pipeline")}
                  for h in self.history]
        trimmed = [{k: a[k] for k in e} for a, e in zip(actual, expected, strict=False)]
        if ordered:
            assert trimmed == expected and len(actual) == len(expected), self._show(expected)
            return
        remaining = list(actual)
        for entry in expected:
            match = next((a for a in remaining if all(a[k] == v for k, v in entry.items())),
                         None)
            assert match is not None, f"no build like {entry}\n{self._show(expected)}"
            remaining.remove(match)
        assert not remaining, f"unexpected builds {remaining}\n{self._show(expected)}"

    def _show(self, expected: list[dict[str, str]]) -> str:
        lines = ["history:"] + [f"  {h.pipeline} {h.name} {h.result} [{h.changes}]"
                                for h in self.history]
        return "\n".join(lines + ["expected:"] + [f"  {e}" for e in expected])

    def queue(self, pipeline: str = "gate") -> list[str]:
        """The change keys in ``pipeline``'s queues, queue by queue, head first."""
        found = self.state.pipeline(pipeline)
        assert found is not None
        return [item.change.key for q in found.queues for item in q.items]

    def window(self, queue: str = "org/project", pipeline: str = "gate") -> int:
        found = self.state.pipeline(pipeline)
        assert found is not None
        named = found.queue(queue)
        assert named is not None, f"no queue {queue} in {pipeline}"
        return named.window

    def started_jobs(self, change: FakeChange) -> list[str]:
        return [h.name for h in self.history if h.changes.endswith(change.key)]

