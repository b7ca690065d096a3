"""One pass over a change queue, head to tail: Zuul's nearest-non-failing-item algorithm.

For each item, in queue order:

1. a live item whose needed change is no longer ahead (and has not merged) is dequeued;
2. in a dependent pipeline, an item whose item ahead is not the nearest non-failing item
   (NNFI) is re-parented behind it: something ahead failed, so it is tested without it;
3. an item whose build set was not built on exactly the items now ahead of it is reset: its
   builds are cancelled and a new speculative merge is requested (this also resets the items
   behind, because their trees contain it);
4. an item inside the window gets a merge, then its runnable jobs;
5. an item with nothing ahead of it and every job finished is reported and leaves the queue:
   a success is submitted and, once the merge is confirmed, grows the window; anything else
   shrinks it; a failing item keeps running meanwhile and is reported only at the head;
6. an item that did not report and is not failing becomes the new NNFI.

The scheduler repeats passes until one changes nothing.
"""

from __future__ import annotations

from dataclasses import replace

from keepgreen.gating import pipeline as kinds
from keepgreen.gating.actions import CancelBuild, RequestMerge, StartBuild, Waiting
from keepgreen.gating.buildset import (
    COMPLETED,
    MERGE_PENDING,
    SKIPPED,
    SUCCESS,
    Build,
    BuildSet,
)
from keepgreen.gating.change import ChangeRef, keys
from keepgreen.gating.context import StepContext
from keepgreen.gating.managers import Manager
from keepgreen.gating.pipeline import PipelineConfig
from keepgreen.gating.report import OUTCOME_KINDS, emit_report, outcome_message
from keepgreen.gating.state import ChangeQueue, Item

NON_LIVE_REASON = "not tested itself: merged in ahead of the change that needs it"
SUBMITTED_REASON = "succeeded and submitted; waiting for the merge to be confirmed"


def cancel_builds(ctx: StepContext, config: PipelineConfig, item: Item, reason: str) -> Item:
    """``item`` without a build set, its unfinished builds cancelled with ``reason``."""
    if item.buildset is None:
        return item
    for build in item.buildset.unfinished():
        ctx.emit(CancelBuild(config.name, item.id, build.id, build.job, reason))
        ctx.semaphores.release(build.id)
    return replace(item, buildset=None)


def remove_item(ctx: StepContext, config: PipelineConfig, manager: Manager, queue: ChangeQueue,
                item_id: int, kind: str | None, message: str = "") -> ChangeQueue:
    """Dequeue one item and report ``kind`` (None: already reported); items behind it move
    up to its item ahead."""
    position = queue.index(item_id)
    if position is None:
        return queue
    original = queue.items[position]
    item = cancel_builds(ctx, config, original,
                         f"change {original.change.key} left the {config.name} pipeline")
    if kind is not None:
        emit_report(ctx, config, manager.reporters(config), item.id, item.change, kind,
                    message, original.buildset)
    items = [replace(i, ahead=item.ahead) if i.ahead == item.id else i
             for i in queue.items if i.id != item_id]
    if not any(i.live for i in items):
        items = []  # the changes merged in for it were only there for it
    return replace(queue, items=tuple(items))


def land(items: tuple[Item, ...], change: ChangeRef) -> tuple[Item, ...]:
    """``change`` merged: trees that contain it are now on the new branch tip, and items
    that needed it need it no more."""
    landed = []
    for item in items:
        buildset = item.buildset
        if buildset is not None and change in buildset.changes:
            buildset = replace(buildset, landed=buildset.landed | {change.number})
        landed.append(replace(item, buildset=buildset,
                              needs=tuple(n for n in item.needs if n != change.number)))
    return tuple(landed)


class QueueProcessor:
    """Runs one pass over one queue. ``landed`` lists the changes that merged during it."""

    def __init__(self, ctx: StepContext, config: PipelineConfig, manager: Manager,
                 queue: ChangeQueue) -> None:
        self.ctx = ctx
        self.config = config
        self.manager = manager
        self.queue = queue
        self.policy = manager.window_policy(config)
        self.items = list(queue.items)
        self.index = {item.id: item for item in self.items}
        self.chains: dict[int, tuple[ChangeRef, ...]] = {}  # of items already processed
        self.window = queue.window
        self.failing: set[int] = set()
        self.landed: list[ChangeRef] = []

    def run(self) -> ChangeQueue:
        nnfi: Item | None = None
        position = 0
        while position < len(self.items):
            item = self.items[position]
            if not item.live or item.submitted:
                item = self._explained(
                    item, SUBMITTED_REASON if item.submitted else NON_LIVE_REASON)
                self._store(position, item)
                self.chains[item.id] = self._chain(item)
                if item.submitted:
                    nnfi = item
                position += 1
                continue
            missing = [n for n in item.needs if not self._ahead(position, n)]
            if missing:
                self._dequeue_needing(item, missing)
                continue
            if self.manager.changes_merge and item.ahead != (nnfi.id if nnfi else None):
                item = replace(item, ahead=nnfi.id if nnfi else None)
            needed_failing = [n for n in item.needs
                              if (it := self._ahead(position, n)) and it.id in self.failing]
            chain = self._chain(item)
            current = item.buildset
            if current is not None:
                if needed_failing:
                    item = cancel_builds(self.ctx, self.config, item,
                                         "a change it needs is failing")
                elif current.pending_changes != chain:  # an item ahead moved or left
                    item = cancel_builds(
                        self.ctx, self.config, item,
                        f"the changes ahead of it changed; re-testing on {keys(chain)}")
            actionable = self.window == 0 or position < self.window
            if actionable and not needed_failing:
                item = self._prepare(item, chain)
            ahead = self._item(item.ahead)
            if ahead is not None and not ahead.live:
                ahead = None
            if ahead is None and item.buildset is not None and item.buildset.complete():
                self._store(position, item)
                self._report(item)
                continue
            item = self._explained(item, self._reason(position, item, actionable,
                                                      needed_failing, ahead))
            self._store(position, item)
            self.chains[item.id] = chain
            if needed_failing or (item.buildset is not None
                                  and item.buildset.failing_reasons()):
                self.failing.add(item.id)
            else:
                nnfi = item
            position += 1
        return replace(self.queue, items=tuple(self.items), window=self.window)

    # -- helpers -------------------------------------------------------------------------

    def _item(self, item_id: int | None) -> Item | None:
        return None if item_id is None else self.index.get(item_id)

    def _store(self, position: int, item: Item) -> None:
        self.items[position] = item
        self.index[item.id] = item

    def _ahead(self, position: int, number: int) -> Item | None:
        for item in self.items[:position]:
            if item.change.number == number:
                return item
        return None

    def _chain(self, item: Item) -> tuple[ChangeRef, ...]:
        """The speculative state ``item`` must be tested on: its tree, head first."""
        changes = [item.change]
        ahead = self._item(item.ahead)
        while ahead is not None:
            known = self.chains.get(ahead.id)
            if known is not None:
                return (*known, *reversed(changes))
            changes.append(ahead.change)
            ahead = self._item(ahead.ahead)
        return tuple(reversed(changes))

    def _remove(self, item_id: int, kind: str | None, message: str = "") -> None:
        queue = replace(self.queue, items=tuple(self.items))
        self.items = list(remove_item(self.ctx, self.config, self.manager, queue, item_id,
                                      kind, message).items)
        self.index = {item.id: item for item in self.items}

    def _dequeue_needing(self, item: Item, missing: list[int]) -> None:
        numbers = ", ".join(str(n) for n in missing)
        message = (f"Change {item.change.key} cannot merge: it needs change {numbers}, which "
                   f"is no longer ahead of it in the {self.config.name} pipeline and has not "
                   f"merged. Once the needed change merges, approve this one again.")
        self._remove(item.id, kinds.FAILURE, message)

    def _prepare(self, item: Item, chain: tuple[ChangeRef, ...]) -> Item:
        ctx = self.ctx
        if item.buildset is None:
            buildset = BuildSet(ctx.next_id(), chain, ctx.now)
            ctx.emit(RequestMerge(self.config.name, item.id, buildset.id, item.change, chain))
            return replace(item, buildset=buildset)
        buildset = item.buildset
        if not buildset.merged or not buildset.jobs.jobs:
            return item
        if not item.reported_start:
            emit_report(ctx, self.config, self.manager.reporters(self.config), item.id,
                        item.change, kinds.START,
                        f"Starting {self.config.name} jobs on {keys(buildset.changes)}.",
                        buildset)
            item = replace(item, reported_start=True)
        start, skip = buildset.next_jobs()
        for job, _why in skip:
            buildset = buildset.with_build(Build(
                ctx.next_id(), job.name, job.voting, 1, ctx.now, state=COMPLETED,
                result=SKIPPED))
        for job in start:
            if ctx.semaphores.wait_reason(job.name, job.semaphores):
                continue  # not started, so no node is asked for either
            previous = buildset.latest(job.name)
            build = Build(ctx.next_id(), job.name, job.voting,
                          previous.attempt + 1 if previous else 1, ctx.now)
            buildset = buildset.with_build(build)
            ctx.semaphores.acquire(build.id, job.semaphores)
            ctx.emit(StartBuild(self.config.name, item.id, buildset.id, build.id, job.name,
                                item.change, buildset.changes, job.voting, build.attempt))
        return replace(item, buildset=buildset)

    def _report(self, item: Item) -> None:
        assert item.buildset is not None
        outcome = item.buildset.outcome()
        message = outcome_message(self.config, item.change, item.buildset, outcome)
        kind = OUTCOME_KINDS[outcome]
        if not self.manager.changes_merge:
            self._remove(item.id, kind, message)
            return
        if outcome != SUCCESS:
            self.window = self.policy.shrunk(self.window)
            self._remove(item.id, kind, message)
            return
        reporter = self.manager.reporters(self.config).for_kind(kind)
        emit_report(self.ctx, self.config, self.manager.reporters(self.config), item.id,
                    item.change, kind, message, item.buildset)
        if reporter.submit:
            # It stays at the head until the review service says whether it landed.
            self._store(self.items.index(item), replace(item, submitted=True))
            return
        self._remove(item.id, None)
        self._merged(item.change)

    def _merged(self, change: ChangeRef) -> None:
        """``change`` landed: grow the window; trees that contain it are on the new tip."""
        self.window = self.policy.grown(self.window)
        self.landed.append(change)
        self.items = list(land(tuple(self.items), change))
        self.index = {item.id: item for item in self.items}

    def _reason(self, position: int, item: Item, actionable: bool, needed_failing: list[int],
                ahead: Item | None) -> str:
        """Why ``item`` is not running, or not reported yet; empty while jobs run."""
        if needed_failing:
            numbers = ", ".join(str(n) for n in needed_failing)
            return (f"a change it needs is failing ({numbers}); it leaves the queue when "
                    f"that change is reported")
        buildset = item.buildset
        if buildset is None:
            if not actionable and not self.manager.changes_merge and self.window == 1:
                return (f"waiting for the item ahead to finish: the {self.config.name} "
                        f"pipeline tests one item at a time per queue")
            return (f"outside the window: position {position + 1} in queue "
                    f"{self.queue.name}, window {self.window}")
        if buildset.merge == MERGE_PENDING:
            return f"waiting for the speculative merge of {keys(buildset.changes)}"
        failing = buildset.failing_reasons()
        behind = f" (behind {ahead.change.key})" if ahead is not None else ""
        if failing and ahead is None:
            return f"failing: {'; '.join(failing)}; reported when its last jobs finish"
        if failing:
            return (f"failing: {'; '.join(failing)}; reported when it reaches the head of "
                    f"the queue{behind}")
        if buildset.complete():
            return f"all jobs finished; waiting for the item ahead to merge{behind}"
        locked = self._semaphore_waits(buildset) if actionable else []
        if locked:
            return "; ".join(locked)
        if not buildset.unfinished():
            waiting = buildset.waiting_jobs()
            if not actionable:
                return (f"outside the window: position {position + 1} in queue "
                        f"{self.queue.name}, window {self.window}")
            return "; ".join(waiting)
        return ""

    def _semaphore_waits(self, buildset: BuildSet) -> list[str]:
        """One sentence per job that could start but whose semaphore is full."""
        reasons = []
        for job in buildset.next_jobs()[0]:
            why = self.ctx.semaphores.wait_reason(job.name, job.semaphores)
            if why:
                reasons.append(why)
        return reasons

    def _explained(self, item: Item, reason: str) -> Item:
        if reason == item.reason:
            return item
        self.ctx.emit(Waiting(self.config.name, item.id, item.change, reason))
        return replace(item, reason=reason)
