"""The gate scheduler as a step function: ``step(state, event) -> (state, actions)``.

A step applies one event, then processes every queue of every pipeline until a pass changes
nothing (Zuul's ``processQueue`` loop). It is pure: no I/O, no threads, no clock but the
``Tick`` events, and ids come from a counter in the state, so the same events from the same
state always give the same state and the same actions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from keepgreen.gating import pipeline as kinds
from keepgreen.gating.actions import Action, Refused
from keepgreen.gating.buildset import (
    COMPLETED,
    CONFIG_ERROR,
    MERGE_CONFLICT,
    MERGE_PENDING,
    MERGED,
    REQUESTED,
    RETRY,
    RETRY_LIMIT,
    RUNNING,
    Build,
)
from keepgreen.gating.context import StepContext
from keepgreen.gating.enqueue import enqueue
from keepgreen.gating.events import (
    ABANDONED,
    APPROVAL_LOST,
    NEW_PATCHSET,
    BuildCompleted,
    BuildEarlyFailure,
    BuildStarted,
    Dequeue,
    Enqueue,
    Event,
    MergeCompleted,
    Promote,
    SubmitResult,
    Tick,
)
from keepgreen.gating.managers import manager_for
from keepgreen.gating.pipeline import PipelineConfig
from keepgreen.gating.queue import QueueProcessor, land, remove_item
from keepgreen.gating.semaphores import SemaphorePool
from keepgreen.gating.state import ChangeQueue, GatingState, Item, PipelineState

MAX_PASSES = 10_000


def initial_state(pipelines: Iterable[PipelineConfig], now: float = 0.0) -> GatingState:
    """An empty gate for these pipelines; raises ValueError naming a bad setting."""
    configs = tuple(pipelines)
    names = [c.name for c in configs]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"pipeline {name!r} is defined twice; pipeline names are unique")
    for config in configs:
        manager_for(config)
    return GatingState(tuple(PipelineState(c) for c in configs), now=now)


def reconfigure(state: GatingState, pipelines: Iterable[PipelineConfig]) -> GatingState:
    """``state`` under a new set of pipelines (a new layout). A pipeline that still exists
    with the same manager keeps its queues and items under its new settings; new pipelines
    start empty; the items of a removed pipeline, or of one whose manager changed, are
    dropped, so late results of their builds are ignored. Raises ValueError like
    ``initial_state``."""
    fresh = initial_state(pipelines, now=state.now)
    kept = []
    for pipeline in fresh.pipelines:
        old = state.pipeline(pipeline.name)
        if old is not None and old.config.manager == pipeline.config.manager:
            pipeline = replace(old, config=pipeline.config)
        kept.append(pipeline)
    return replace(state, pipelines=tuple(kept))


def step(state: GatingState, event: Event) -> tuple[GatingState, tuple[Action, ...]]:
    """Apply ``event``, settle every queue, and return the new state and what to do."""
    ctx = StepContext(state.now, state.serial)
    state = _apply(ctx, state, event)
    # Semaphores span pipelines: a slot freed in one may let a job of another start.
    ctx.semaphores = SemaphorePool.of(state.semaphore_holders())
    pipelines = state.pipelines
    for _ in range(MAX_PASSES):
        ctx.semaphores.released = False
        settled = tuple(_settle(ctx, p) for p in pipelines)
        if settled == pipelines or not ctx.semaphores.released:
            pipelines = settled
            break
        pipelines = settled
    return GatingState(pipelines, now=ctx.now, serial=ctx.serial), tuple(ctx.actions)


# -- events ---------------------------------------------------------------------------------


def _apply(ctx: StepContext, state: GatingState, event: Event) -> GatingState:
    if isinstance(event, Tick):
        ctx.now = max(ctx.now, event.now)
        return replace(state, now=ctx.now)
    if isinstance(event, Enqueue):
        pipeline = state.pipeline(event.pipeline)
        if pipeline is None:
            ctx.emit(Refused(event.pipeline, event.change, _no_pipeline(state, event.pipeline)))
            return state
        return state.with_pipeline(enqueue(ctx, pipeline, event))
    if isinstance(event, MergeCompleted):
        return _merge_completed(state, event)
    if isinstance(event, BuildStarted | BuildCompleted | BuildEarlyFailure):
        return _build_event(ctx, state, event)
    if isinstance(event, Dequeue):
        return _dequeue(ctx, state, event)
    if isinstance(event, Promote):
        return _promote(ctx, state, event)
    return _submit_result(ctx, state, event)


def _no_pipeline(state: GatingState, name: str) -> str:
    known = ", ".join(p.name for p in state.pipelines) or "none"
    return f"there is no pipeline {name!r} (pipelines: {known})"


def _with_item(state: GatingState, pipeline: PipelineState, queue: ChangeQueue,
               item: Item) -> GatingState:
    items = tuple(item if i.id == item.id else i for i in queue.items)
    return state.with_pipeline(pipeline.with_queue(replace(queue, items=items)))


def _merge_completed(state: GatingState, event: MergeCompleted) -> GatingState:
    found = state.find_buildset(event.buildset)
    if found is None:
        return state  # the item was reset or dequeued since; the result is stale
    pipeline, queue, item = found
    assert item.buildset is not None
    if item.buildset.merge != MERGE_PENDING:
        return state
    result, message = event.result, event.message
    if result not in (MERGED, MERGE_CONFLICT, CONFIG_ERROR):
        result, message = CONFIG_ERROR, f"the merger answered {event.result!r}"
    if result == MERGED:
        problem = event.jobs.problem()
        if problem:
            result, message = CONFIG_ERROR, problem
    buildset = replace(item.buildset, merge=result, message=message,
                       jobs=event.jobs if result == MERGED else item.buildset.jobs)
    return _with_item(state, pipeline, queue, replace(item, buildset=buildset))


def _build_event(ctx: StepContext, state: GatingState,
                 event: BuildStarted | BuildCompleted | BuildEarlyFailure) -> GatingState:
    found = state.find_build(event.build)
    if found is None:
        return state  # cancelled (its item was reset or dequeued): ignore late news
    pipeline, queue, item = found
    assert item.buildset is not None
    build = next(b for b in item.buildset.builds if b.id == event.build)
    if build.state == COMPLETED:
        return state
    updated: Build
    if isinstance(event, BuildStarted):
        if build.state != REQUESTED:
            return state
        updated = replace(build, state=RUNNING, started_at=ctx.now)
    elif isinstance(event, BuildEarlyFailure):
        updated = replace(build, pre_fail=True)
    else:
        result = event.result
        job = item.buildset.jobs.get(build.job)
        if result == RETRY and (job is None or build.attempt >= job.attempts):
            result = RETRY_LIMIT
        started = build.started_at if build.started_at is not None else ctx.now
        updated = replace(build, state=COMPLETED, result=result, started_at=started,
                          finished_at=ctx.now, reason=event.reason)
    return _with_item(state, pipeline, queue,
                      replace(item, buildset=item.buildset.with_build(updated)))


DEQUEUE_MESSAGES = {
    NEW_PATCHSET: "a new patch set was uploaded",
    ABANDONED: "the change was abandoned",
    APPROVAL_LOST: "it no longer meets the pipeline's requirements (an approval was removed)",
}


def _dequeue(ctx: StepContext, state: GatingState, event: Dequeue) -> GatingState:
    targets = [p for p in state.pipelines if event.pipeline in (None, p.name)]
    if not targets:
        ctx.emit(Refused(event.pipeline or "", None, _no_pipeline(state, event.pipeline or "")))
        return state
    found = False
    for pipeline in targets:
        manager = manager_for(pipeline.config)
        for queue, item in pipeline.live_items(event.change):
            if (event.cause == NEW_PATCHSET and event.patchset is not None
                    and item.change.patchset >= event.patchset):
                continue
            found = True
            why = DEQUEUE_MESSAGES.get(event.cause, "an operator dequeued it")
            kind = kinds.FAILURE if event.cause == APPROVAL_LOST else kinds.DEQUEUE
            if event.cause == APPROVAL_LOST:
                message = f"Change {item.change.key} can no longer merge: {why}."
            else:
                message = f"Change {item.change.key} left the {pipeline.name} pipeline: {why}."
            current = pipeline.queue(queue.name)
            assert current is not None
            pipeline = pipeline.with_queue(
                remove_item(ctx, pipeline.config, manager, current, item.id, kind, message))
        state = state.with_pipeline(pipeline)
    if not found and event.cause not in (NEW_PATCHSET, ABANDONED, APPROVAL_LOST):
        where = event.pipeline or "any pipeline"
        ctx.emit(Refused(event.pipeline or "", None,
                         f"change {event.change} is not in {where}; nothing to dequeue"))
    return state


def _promote(ctx: StepContext, state: GatingState, event: Promote) -> GatingState:
    pipeline = state.pipeline(event.pipeline)
    if pipeline is None:
        ctx.emit(Refused(event.pipeline, None, _no_pipeline(state, event.pipeline)))
        return state
    manager = manager_for(pipeline.config)
    queues: set[str] = set()
    promoted: list[Item] = []
    for number in event.changes:
        live = pipeline.live_items(number)
        if not live:
            ctx.emit(Refused(pipeline.name, None, f"cannot promote change {number}: it is not "
                             f"in the {pipeline.name} pipeline"))
            return state
        queues.add(live[0][0].name)
        promoted.append(live[0][1])
    if not promoted or manager.queue_key(promoted[0].change, pipeline.config) is None:
        ctx.emit(Refused(pipeline.name, None, f"nothing to promote in {pipeline.name}: name "
                         f"one or more changes of a pipeline with shared queues"))
        return state
    if len(queues) > 1:
        ctx.emit(Refused(pipeline.name, None, f"cannot promote changes of different queues "
                         f"together ({', '.join(sorted(queues))}); promote each queue alone"))
        return state
    queue = pipeline.queue(queues.pop())
    assert queue is not None
    # Items already submitted are landing: nothing can be tested ahead of them any more.
    landing = [item for item in queue.items if item.submitted]
    ids = {item.id for item in landing + promoted}
    order = landing + [item for item in promoted if not item.submitted] + [
        item for item in queue.items if item.id not in ids]
    relinked = tuple(replace(item, ahead=order[n - 1].id if n else None)
                     for n, item in enumerate(order))
    return state.with_pipeline(pipeline.with_queue(replace(queue, items=relinked)))


def _submit_result(ctx: StepContext, state: GatingState, event: SubmitResult) -> GatingState:
    pipeline = state.pipeline(event.pipeline)
    if pipeline is None:
        ctx.emit(Refused(event.pipeline, None, _no_pipeline(state, event.pipeline)))
        return state
    manager = manager_for(pipeline.config)
    policy = manager.window_policy(pipeline.config)
    for queue, item in pipeline.live_items(event.change):
        if not item.submitted:
            continue
        if event.merged:
            queue = remove_item(ctx, pipeline.config, manager, queue, item.id, None)
            pipeline = pipeline.with_queue(replace(queue, window=policy.grown(queue.window)))
            pipeline = replace(pipeline, queues=tuple(
                replace(q, items=land(q.items, item.change)) for q in pipeline.queues))
        else:
            detail = f" {event.message}" if event.message else ""
            queue = remove_item(
                ctx, pipeline.config, manager, queue, item.id, kinds.MERGE_FAILURE,
                f"Change {item.change.key} passed the {pipeline.name} pipeline but could not "
                f"be merged.{detail} The changes behind it are re-tested without it.")
            pipeline = pipeline.with_queue(replace(queue, window=policy.shrunk(queue.window)))
        return state.with_pipeline(pipeline)
    return state  # not waiting for a submit: a late or repeated answer


# -- processing -----------------------------------------------------------------------------


def _settle(ctx: StepContext, pipeline: PipelineState) -> PipelineState:
    for _ in range(MAX_PASSES):
        processed = _process(ctx, pipeline)
        if processed == pipeline:
            return processed
        pipeline = processed
    raise RuntimeError(f"pipeline {pipeline.name} did not settle after {MAX_PASSES} passes")


def _process(ctx: StepContext, pipeline: PipelineState) -> PipelineState:
    manager = manager_for(pipeline.config)
    queues: list[ChangeQueue] = []
    landed: set[int] = set()
    for queue in pipeline.queues:
        processor = QueueProcessor(ctx, pipeline.config, manager, queue)
        processed = processor.run()
        landed |= {change.number for change in processor.landed}
        if processed.items or not processed.dynamic:
            queues.append(processed)
    if landed:
        queues = [replace(q, items=tuple(
            replace(i, needs=tuple(n for n in i.needs if n not in landed)) for i in q.items))
            for q in queues]
    return replace(pipeline, queues=tuple(queues))
