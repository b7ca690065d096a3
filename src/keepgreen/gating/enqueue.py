"""Enqueueing a change: where it goes, what goes ahead of it, and every refusal's reason.

Dependent pipelines (Zuul's ``enqueueChangesAhead``/``enqueueChangesBehind``): a needed change
must already have merged, or be ahead in the same shared queue; an approved needed change that
is not queued yet is enqueued first. A needed change in another queue, or one that is not
approved, makes the change wait, with a reason. After a change is enqueued, approved changes
that were waiting for it follow it in. Independent pipelines merge needed changes in as
non-live items that run no jobs. Serial and supercedent pipelines run after changes merge, so
what they test has no open needs. The plan is checked whole before anything is enqueued.
"""

from __future__ import annotations

from dataclasses import replace

from keepgreen.gating import pipeline as kinds
from keepgreen.gating.actions import Refused
from keepgreen.gating.change import ChangeRef
from keepgreen.gating.context import StepContext
from keepgreen.gating.events import Enqueue
from keepgreen.gating.managers import NEEDS_AHEAD, NEEDS_NON_LIVE, Manager, manager_for
from keepgreen.gating.queue import remove_item
from keepgreen.gating.state import ChangeQueue, Item, PipelineState


class Refusal(Exception):
    def __init__(self, reason: str, notify: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.notify = notify


class Planner:
    """Works out which changes to enqueue, in order, or why not."""

    def __init__(self, pipeline: PipelineState, manager: Manager,
                 related: dict[int, ChangeRef]) -> None:
        self.pipeline = pipeline
        self.manager = manager
        self.related = related

    def plan(self, change: ChangeRef) -> list[ChangeRef]:
        if self.manager.needs == NEEDS_AHEAD:
            return self._ahead(change, (), set())
        if self.manager.needs == NEEDS_NON_LIVE:
            return self._non_live(change, (), set())
        return [change]

    def _needed(self, change: ChangeRef, number: int, stack: tuple[int, ...]) -> ChangeRef:
        if number in stack or number == change.number:
            cycle = " -> ".join(str(n) for n in (*stack, change.number, number))
            raise Refusal(f"the dependencies form a cycle ({cycle}); circular dependencies "
                          f"are not supported", notify=True)
        needed = self.related.get(number)
        if needed is None:
            raise Refusal(f"change {change.key} needs change {number}, whose state was not "
                          f"provided")
        return needed

    def _ahead(self, change: ChangeRef, stack: tuple[int, ...],
               planned: set[int]) -> list[ChangeRef]:
        key = self.manager.queue_key(change, self.pipeline.config)
        assert key is not None
        order: list[ChangeRef] = []
        for number in change.needs:
            needed = self._needed(change, number, stack)
            if needed.merged or number in planned:
                continue
            live = self.pipeline.live_items(number)
            if live:
                queue = live[0][0]
                if queue.name != key.name:
                    raise Refusal(self._not_shared(change, needed, queue.name, key.name), True)
                continue
            needed_key = self.manager.queue_key(needed, self.pipeline.config)
            if needed_key != key:
                name = needed_key.name if needed_key else "?"
                raise Refusal(self._not_shared(change, needed, name, key.name), True)
            if not needed.approved:
                raise Refusal(
                    f"change {change.key} needs change {needed.key}, which is not approved for "
                    f"the {self.pipeline.name} pipeline yet; it is enqueued when that change is")
            order += self._ahead(needed, (*stack, change.number), planned)
        planned.add(change.number)
        return [*order, change]

    def _not_shared(self, change: ChangeRef, needed: ChangeRef, theirs: str, ours: str) -> str:
        return (f"change {change.key} does not share a change queue with change {needed.key}, "
                f"which it needs (queue {theirs}, not {ours}); the needed change must merge "
                f"first, then approve this change again")

    def _non_live(self, change: ChangeRef, stack: tuple[int, ...],
                  planned: set[int]) -> list[ChangeRef]:
        order: list[ChangeRef] = []
        for number in change.needs:
            needed = self._needed(change, number, stack)
            if needed.merged or number in planned:
                continue
            order += self._non_live(needed, (*stack, change.number), planned)
        planned.add(change.number)
        return [*order, change]


def enqueue(ctx: StepContext, pipeline: PipelineState, event: Enqueue) -> PipelineState:
    """``pipeline`` with ``event.change`` enqueued (and what it brings), or unchanged with a
    Refused action saying why."""
    related = {c.number: c for c in event.related}
    related[event.change.number] = event.change
    return _enqueue(ctx, pipeline, event.change, related, behind=False)


def _enqueue(ctx: StepContext, pipeline: PipelineState, change: ChangeRef,
             related: dict[int, ChangeRef], behind: bool) -> PipelineState:
    manager = manager_for(pipeline.config)
    live = pipeline.live_items(change.number)
    if any(item.change.patchset >= change.patchset for _, item in live):
        if not behind:
            ctx.emit(Refused(pipeline.name, change,
                             f"change {change.key} is already in the {pipeline.name} pipeline"))
        return pipeline
    for queue, item in live:
        pipeline = pipeline.with_queue(remove_item(
            ctx, pipeline.config, manager, queue, item.id, kinds.DEQUEUE,
            f"Change {item.change.key} left the {pipeline.name} pipeline: patch set "
            f"{change.patchset} replaced it."))
    try:
        if manager.requires_approval and change.merged:
            raise Refusal("it has already merged")
        if manager.requires_approval and not change.approved:
            raise Refusal("it does not meet the pipeline's requirements (approval)")
        plan = Planner(pipeline, manager, related).plan(change)
    except Refusal as refusal:
        reason = f"change {change.key} was not enqueued in {pipeline.name}: {refusal.reason}"
        # A change pulled in behind another was approved earlier and told then; stay quiet.
        ctx.emit(Refused(pipeline.name, change, reason, refusal.notify and not behind))
        return pipeline
    pipeline = _apply(ctx, pipeline, manager, plan, related)
    if manager.needs == NEEDS_AHEAD:
        for planned in plan:
            for waiting in sorted(related.values(), key=lambda c: c.number):
                if (planned.number in waiting.needs and waiting.approved
                        and not waiting.merged and not pipeline.live_items(waiting.number)):
                    pipeline = _enqueue(ctx, pipeline, waiting, related, behind=True)
    return pipeline


def _open_needs(change: ChangeRef, related: dict[int, ChangeRef], manager: Manager) -> tuple[
        int, ...]:
    if manager.needs not in (NEEDS_AHEAD, NEEDS_NON_LIVE):
        return ()
    return tuple(n for n in change.needs if not (n in related and related[n].merged))


def _apply(ctx: StepContext, pipeline: PipelineState, manager: Manager,
           plan: list[ChangeRef], related: dict[int, ChangeRef]) -> PipelineState:
    config = pipeline.config
    if manager.needs == NEEDS_NON_LIVE:
        items: list[Item] = []
        for position, change in enumerate(plan):
            live = position == len(plan) - 1
            items.append(Item(ctx.next_id(), change, live, ctx.now,
                              ahead=items[-1].id if items else None,
                              needs=_open_needs(change, related, manager) if live else ()))
        name = f"{plan[-1].key}#{items[-1].id}"
        window = manager.window_policy(config).start
        return replace(pipeline, queues=(*pipeline.queues,
                                         ChangeQueue(name, True, window, tuple(items))))
    for change in plan:
        key = manager.queue_key(change, config)
        assert key is not None
        queue = pipeline.queue(key.name) or ChangeQueue(
            key.name, key.dynamic, manager.window_policy(config).start)
        tail = queue.items[-1].id if queue.items else None
        item = Item(ctx.next_id(), change, True, ctx.now, ahead=tail,
                    needs=_open_needs(change, related, manager))
        queue = replace(queue, items=(*queue.items, item))
        for old in manager.superseded(queue.items):
            queue = remove_item(ctx, config, manager, queue, old.id, kinds.SUPERSEDED,
                                f"Change {old.change.key} was superseded in the "
                                f"{config.name} pipeline by {change.key}.")
        pipeline = pipeline.with_queue(queue)
    return pipeline
