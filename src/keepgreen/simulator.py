"""A day of gate traffic replayed through the real gate core, on a virtual clock.

``simulate(settings)`` builds a synthetic day (Poisson approvals over ``hours``, each change
bad with probability ``fail_rate``, one job per change lasting ``job_minutes`` ± 20%), then
drives :func:`keepgreen.gating.step` with an instant merger, a node pool of ``nodes`` slots
(builds wait for a free node in FIFO order) and an executor whose build fails when a bad change
is in the speculative state it tests. A bad change breaks a task at a point drawn uniformly
within the job (seeded, once per change): a build whose state holds it reports
``BuildEarlyFailure`` at that point of its own run, as an executor does when a task fails
mid-playbook, and ``BuildCompleted(FAILURE)`` when the job ends (``early_failure`` False keeps
only the latter). With ``flake_rate``, any build also fails spuriously with that probability
(at a uniform point of its job), whatever its state holds; with ``retry`` a failed build is run
once more on a new node before the core hears of it, as the scheduler does for a gate job that
passed in check (every change enters the gate having passed check); with ``retry_early``
(as the scheduler does) a first try that fails early is stopped there and its retry starts at
once, instead of after the first try's job has ended. ``hold_early`` keeps a first try's
early failure from the core until the retry has failed too. Time is an event queue
ordered by virtual minutes: no
threads, no sleeping. The same changes also go through a serial gate (each change tested
alone on the tip, one after another, a bad one holding the gate only until its failure point
when ``early_failure`` is on) so the two can be compared. Standard library only.
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from keepgreen.gating import (
    BuildCompleted,
    BuildEarlyFailure,
    BuildStarted,
    CancelBuild,
    ChangeRef,
    Enqueue,
    Event,
    GatingState,
    JobGraph,
    MergeCompleted,
    PipelineConfig,
    RequestMerge,
    StartBuild,
    SubmitResult,
    Tick,
    WindowPolicy,
    initial_state,
    step,
)
from keepgreen.gating import Report as GateReport
from keepgreen.gating.buildset import FAILURE, MERGED, SUCCESS

PIPELINE = "gate"
PROJECT = "org/project"
JOB = "test"
JOBS = JobGraph.of(JOB)
JITTER = 0.2  # a job lasts job_minutes * (1 ± JITTER), drawn once per change


@dataclass(frozen=True)
class Settings:
    """What to simulate. ``window`` is the gate's starting window; it grows by one per merge
    and halves per failure, never below ``window_floor`` (the seed's gate: 15; Zuul's default
    is 3) or the window if smaller; ``hours`` is how long
    approvals keep arriving; ``early_failure`` makes a failing build say so at its failure
    point (and the serial gate stop there) instead of only when its job ends."""

    changes: int = 200
    job_minutes: float = 30.0
    fail_rate: float = 0.1
    nodes: int = 40
    seed: int = 0
    window: int = 20
    hours: float = 8.0
    early_failure: bool = True
    flake_rate: float = 0.0
    retry: bool = True
    hold_early: bool = False
    window_floor: int = 15
    retry_early: bool = True

    def __post_init__(self) -> None:
        if self.changes < 1:
            raise ValueError(f"--changes is {self.changes}; simulate at least one change")
        if self.job_minutes <= 0:
            raise ValueError(f"--job-minutes is {self.job_minutes}; a job takes some time")
        if not 0.0 <= self.fail_rate <= 1.0:
            raise ValueError(f"--fail-rate is {self.fail_rate}; use a fraction from 0 to 1")
        if not 0.0 <= self.flake_rate < 1.0:
            raise ValueError(f"--flake-rate is {self.flake_rate}; use a fraction from 0 "
                             "to below 1")
        if self.nodes < 1:
            raise ValueError(f"--nodes is {self.nodes}; a build needs at least one node")
        if self.window < 1:
            raise ValueError(f"--window is {self.window}; use a window of at least 1")
        if self.window_floor < 1:
            raise ValueError(f"--window-floor is {self.window_floor}; use at least 1")
        if self.hours <= 0:
            raise ValueError(f"--hours is {self.hours}; approvals need some time to arrive")


@dataclass(frozen=True)
class Change:
    """One synthetic change: when it is approved, whether it breaks the tests, how long its
    job runs (every build of it takes that long); for a bad change, ``fail_at`` is the share
    of a job after which the task it breaks fails."""

    number: int
    approved_at: float
    bad: bool
    minutes: float
    fail_at: float = 1.0


@dataclass(frozen=True)
class GateResult:
    """What one gate did with the day. Times in minutes, node use in node-hours; merges per
    hour over the span from the first approval to the last merge."""

    name: str
    merged: int
    rejected: int
    median_minutes: float
    p95_minutes: float
    node_hours: float
    merges_per_hour: float
    span_hours: float
    good_ejected: int = 0
    """Changes that would have passed alone yet were rejected (a flaky build ejected them)."""
    retries: int = 0


@dataclass(frozen=True)
class Report:
    settings: Settings
    speculative: GateResult
    serial: GateResult

    @property
    def speedup(self) -> float:
        """Speculative over serial, in merges per hour."""
        if self.serial.merges_per_hour == 0:
            return float("inf") if self.speculative.merges_per_hour else 1.0
        return self.speculative.merges_per_hour / self.serial.merges_per_hour

    def table(self) -> str:
        s = self.settings
        head = (f"{s.changes} changes, {s.job_minutes:g}-minute jobs, fail rate {s.fail_rate:g}, "
                f"{s.nodes} nodes, window {s.window} (floor {min(s.window_floor, s.window)}), "
                f"seed {s.seed}, early failure "
                f"{'on' if s.early_failure else 'off'}, flake rate {s.flake_rate:g}, retry "
                f"{'on' if s.retry else 'off'}")
        rows = [("", "speculative", "serial")]
        for label, attr, fmt in (
                ("merged", "merged", "{:d}"), ("rejected", "rejected", "{:d}"),
                ("median minutes to merge", "median_minutes", "{:.1f}"),
                ("p95 minutes to merge", "p95_minutes", "{:.1f}"),
                ("node-hours", "node_hours", "{:.1f}"),
                ("span hours", "span_hours", "{:.1f}"),
                ("merges per hour", "merges_per_hour", "{:.2f}"),
                ("good changes ejected", "good_ejected", "{:d}"),
                ("builds tried again", "retries", "{:d}")):
            rows.append((label, fmt.format(getattr(self.speculative, attr)),
                         fmt.format(getattr(self.serial, attr))))
        width = max(len(r[0]) for r in rows)
        lines = [head] + [f"{a:<{width}}  {b:>11}  {c:>9}" for a, b, c in rows]
        lines.append(f"speedup (merges per hour): {self.speedup:.1f}x")
        return "\n".join(lines)


def synthetic_day(settings: Settings) -> list[Change]:
    """Poisson approvals (exponential gaps at ``changes / hours`` per hour), seeded. Failure
    points come from a second stream, so the day is the same with or without early failure."""
    rng = random.Random(settings.seed)
    points = random.Random(f"early-failure-{settings.seed}")
    rate = settings.changes / (settings.hours * 60.0)  # per minute
    now, changes = 0.0, []
    for number in range(1, settings.changes + 1):
        now += rng.expovariate(rate)
        bad = rng.random() < settings.fail_rate
        minutes = settings.job_minutes * rng.uniform(1 - JITTER, 1 + JITTER)
        fail_at = points.random() if bad and settings.early_failure else 1.0
        changes.append(Change(number, now, bad, minutes, fail_at))
    return changes


def _result(name: str, changes: Sequence[Change], merged_at: dict[int, float],
            rejected: int, busy_minutes: float, good_ejected: int = 0,
            retries: int = 0) -> GateResult:
    waits = sorted(merged_at[c.number] - c.approved_at for c in changes
                   if c.number in merged_at)
    first = min(c.approved_at for c in changes)
    span = (max(merged_at.values()) - first) / 60.0 if merged_at else 0.0
    return GateResult(
        name, len(merged_at), rejected,
        statistics.median(waits) if waits else 0.0,
        waits[min(len(waits) - 1, int(0.95 * len(waits)))] if waits else 0.0,
        busy_minutes / 60.0,
        len(merged_at) / span if span > 0 else 0.0,
        span, good_ejected, retries)


def serial_gate(changes: Sequence[Change]) -> GateResult:
    """One change at a time, alone on the tip, in approval order; a bad one holds the gate
    until its failure point (its whole job without early failure) and is rejected."""
    free, busy, rejected = 0.0, 0.0, 0
    merged_at: dict[int, float] = {}
    for change in sorted(changes, key=lambda c: c.approved_at):
        minutes = change.minutes * change.fail_at if change.bad else change.minutes
        free = max(free, change.approved_at) + minutes
        busy += minutes
        if change.bad:
            rejected += 1
        else:
            merged_at[change.number] = free
    return _result("serial", changes, merged_at, rejected, busy)


class _Day:
    """The world around the core: instant merger and submit, a FIFO node pool, an executor
    whose build fails when a bad change is in its speculative state."""

    def __init__(self, settings: Settings, changes: Sequence[Change]) -> None:
        floor = min(settings.window_floor, settings.window)
        config = PipelineConfig(PIPELINE, "dependent",
                                window=WindowPolicy(start=settings.window, floor=floor))
        self.state: GatingState = initial_state([config])
        self.changes = {c.number: c for c in changes}
        self.free_nodes = settings.nodes
        self.node_queue: deque[StartBuild] = deque()  # builds waiting for a node
        self.running: dict[int, tuple[StartBuild, float]] = {}  # build -> (start, began)
        self.timers: list[tuple[float, int, str, int, int]] = []  # (when, seq, what, id,
        # try)
        self.seq = 0
        self.now = 0.0
        self.immediate: deque[Event] = deque()
        self.merged_at: dict[int, float] = {}
        self.rejected: set[int] = set()
        self.busy_minutes = 0.0
        self.settings = settings
        self.flakes = random.Random(f"flakes-{settings.seed}")
        self.failing: set[int] = set()  # running builds that will fail
        self.retried: set[int] = set()  # builds on their second try
        self.tries: dict[int, int] = {}  # build -> its current try, so a stopped try's
        # timers are ignored
        for change in changes:
            self._at(change.approved_at, "approve", change.number)

    def _at(self, when: float, what: str, ident: int, attempt: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.timers, (when, self.seq, what, ident, attempt))

    def run(self) -> None:
        while self.timers:
            when, _, what, ident, attempt = heapq.heappop(self.timers)
            if when > self.now:
                self.now = when
                self._send(Tick(when))
            if what == "approve":
                change = self.changes[ident]
                ref = ChangeRef(change.number, 1, PROJECT, approved=True)
                self._send(Enqueue(PIPELINE, ref))
            elif attempt != self.tries.get(ident, 0):
                pass  # news of a try that was stopped
            elif what == "early":
                self._early(ident)
            else:
                self._complete(ident)
            while self.immediate:
                self._send(self.immediate.popleft())

    def _send(self, event: Event) -> None:
        self.state, actions = step(self.state, event)
        for action in actions:
            if isinstance(action, RequestMerge):
                self.immediate.append(MergeCompleted(action.buildset, MERGED, JOBS))
            elif isinstance(action, StartBuild):
                self.node_queue.append(action)
                self._start_waiting()
            elif isinstance(action, CancelBuild):
                self._cancel(action.build)
            elif isinstance(action, GateReport):
                self._report(action)

    def _start_waiting(self) -> None:
        while self.free_nodes and self.node_queue:
            start = self.node_queue.popleft()
            self.free_nodes -= 1
            self.running[start.build] = (start, self.now)
            if start.build not in self.retried:
                self.immediate.append(BuildStarted(start.build))
            minutes = self.changes[start.change.number].minutes
            points = [self.changes[c.number].fail_at for c in start.changes
                      if self.changes[c.number].bad]
            if self.flakes.random() < self.settings.flake_rate:
                points.append(self.flakes.random() if self.settings.early_failure else 1.0)
            attempt = self.tries[start.build] = self.tries.get(start.build, -1) + 1
            if points:
                self.failing.add(start.build)
                if min(points) < 1.0:
                    self._at(self.now + minutes * min(points), "early", start.build, attempt)
            else:
                self.failing.discard(start.build)
            self._at(self.now + minutes, "done", start.build, attempt)

    def _early(self, build: int) -> None:
        if build not in self.running:
            return  # cancelled meanwhile
        if self.settings.hold_early and self._may_retry(build):
            return  # the retry will tell
        if self.settings.retry_early and self._may_retry(build):
            self._try_again(build)
        self._send(BuildEarlyFailure(build))

    def _try_again(self, build: int) -> None:
        """Stop this try (its node is freed) and queue the second on a new node."""
        start = self._release(build)
        assert start is not None
        self.retried.add(build)
        self.node_queue.append(start)  # a new node, the same state
        self._start_waiting()

    def _may_retry(self, build: int) -> bool:
        return self.settings.retry and build not in self.retried

    def _release(self, build: int) -> StartBuild | None:
        found = self.running.pop(build, None)
        if found is None:
            return None
        self.busy_minutes += self.now - found[1]
        self.free_nodes += 1
        self._start_waiting()
        return found[0]

    def _cancel(self, build: int) -> None:
        if self._release(build) is None:
            self.node_queue = deque(s for s in self.node_queue if s.build != build)

    def _complete(self, build: int) -> None:
        start = self._release(build)
        if start is None:
            return  # cancelled before it finished
        if build in self.failing and self._may_retry(build):
            self.retried.add(build)
            self.node_queue.append(start)  # a new node, the same state
            self._start_waiting()
            return
        result = FAILURE if build in self.failing else SUCCESS
        self.immediate.append(BuildCompleted(build, result))

    def _report(self, report: GateReport) -> None:
        number = report.change.number
        if report.submit:
            self.merged_at[number] = self.now
            self.immediate.appendleft(SubmitResult(report.pipeline, number, True))
        elif report.kind not in ("start", "success"):
            self.rejected.add(number)


def speculative_gate(settings: Settings, changes: Sequence[Change]) -> GateResult:
    day = _Day(settings, changes)
    day.run()
    good_ejected = sum(1 for n in day.rejected if not day.changes[n].bad)
    return _result("speculative", changes, day.merged_at, len(day.rejected),
                   day.busy_minutes, good_ejected, len(day.retried))


def decisions(settings: Settings, changes: Sequence[Change]) -> tuple[list[int], list[int]]:
    """What the speculative gate decides for ``changes``: the numbers it merges, in merge
    order, and those it rejects, in order: what a replay compares with the scheduler."""
    day = _Day(settings, changes)
    day.run()
    return sorted(day.merged_at, key=lambda n: (day.merged_at[n], n)), sorted(day.rejected)


def simulate(settings: Settings) -> Report:
    changes = synthetic_day(settings)
    return Report(settings, speculative_gate(settings, changes), serial_gate(changes))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="keepgreen simulate", description=__doc__)
    defaults = Settings()
    p.add_argument("--changes", type=int, default=defaults.changes)
    p.add_argument("--job-minutes", type=float, default=defaults.job_minutes)
    p.add_argument("--fail-rate", type=float, default=defaults.fail_rate)
    p.add_argument("--nodes", type=int, default=defaults.nodes)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--window", type=int, default=defaults.window)
    p.add_argument("--window-floor", type=int, default=defaults.window_floor,
                   help="the smallest the window shrinks to (the seed's gate: 15; Zuul's "
                        "default: 3)")
    p.add_argument("--hours", type=float, default=defaults.hours)
    p.add_argument("--flake-rate", type=float, default=defaults.flake_rate,
                   help="chance that any build fails whatever it tests")
    p.add_argument("--no-retry", dest="retry", action="store_false",
                   help="eject a change on its first failed build (no second try)")
    p.add_argument("--hold-early", action="store_true",
                   help="keep a first try's early failure from the gate until its retry has "
                        "failed too")
    p.add_argument("--retry-at-end", dest="retry_early", action="store_false",
                   help="let a first try that fails early run to its job's end before the "
                        "retry starts (the scheduler stops it at the failure)")
    p.add_argument("--no-early-failure", dest="early_failure", action="store_false",
                   help="report a failing build only when its job ends (and let a bad change "
                        "hold the serial gate for its whole job)")
    return p


def main(args: Sequence[str] | None = None) -> Report:
    """Parse ``keepgreen simulate`` options and run the day; a bad option exits with the
    parser's message (no traceback)."""
    options = parser().parse_args(args)
    try:
        settings = Settings(options.changes, options.job_minutes, options.fail_rate,
                            options.nodes, options.seed, options.window, options.hours,
                            options.early_failure, options.flake_rate, options.retry,
                            options.hold_early, options.window_floor, options.retry_early)
    except ValueError as error:
        parser().error(str(error))
    return simulate(settings)


if __name__ == "__main__":
    print(main().table())
