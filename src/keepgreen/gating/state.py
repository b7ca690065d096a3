"""The gate's whole state as immutable values: pipelines, their queues, and queue items.

Items of a queue form a tree through ``ahead``: an item is tested on the item ahead of it, that
one on its own item ahead, and so on. The queue's order fixes processing and the window; a
failing item keeps its place (and its own tree) while the items behind it are re-parented to
the nearest non-failing item ahead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from keepgreen.gating.buildset import COMPLETED, BuildSet
from keepgreen.gating.change import ChangeRef
from keepgreen.gating.pipeline import PipelineConfig
from keepgreen.gating.semaphores import Semaphore


@dataclass(frozen=True)
class Item:
    """A change in a pipeline. ``live`` items run jobs and are reported; non-live items are
    changes another item needs, merged in to test it (independent pipelines). ``needs`` holds
    the needed changes not merged yet. ``submitted``: reported with a submit, waiting for
    SubmitResult. ``reason`` says why the item is not running (or not reported yet); it is
    empty while its jobs run."""

    id: int
    change: ChangeRef
    live: bool
    enqueued_at: float
    ahead: int | None = None
    buildset: BuildSet | None = None
    needs: tuple[int, ...] = ()
    reported_start: bool = False
    submitted: bool = False
    reason: str = ""


@dataclass(frozen=True)
class ChangeQueue:
    """An ordered queue of items with its current window (0: unlimited)."""

    name: str
    dynamic: bool
    window: int
    items: tuple[Item, ...] = ()

    def index(self, item_id: int) -> int | None:
        for position, item in enumerate(self.items):
            if item.id == item_id:
                return position
        return None

    def live_item(self, number: int) -> Item | None:
        if number <= 0:
            return None
        for item in self.items:
            if item.live and item.change.number == number:
                return item
        return None


@dataclass(frozen=True)
class PipelineState:
    config: PipelineConfig
    queues: tuple[ChangeQueue, ...] = ()

    @property
    def name(self) -> str:
        return self.config.name

    def items(self) -> Iterator[tuple[ChangeQueue, Item]]:
        for queue in self.queues:
            for item in queue.items:
                yield queue, item

    def live_items(self, number: int) -> list[tuple[ChangeQueue, Item]]:
        """The live items of change ``number``; ref items (number 0) are never found by
        number, so a branch update never replaces another or counts as "already queued"."""
        if number <= 0:
            return []
        return [(q, i) for q, i in self.items() if i.live and i.change.number == number]

    def queue(self, name: str) -> ChangeQueue | None:
        for queue in self.queues:
            if queue.name == name:
                return queue
        return None

    def with_queue(self, queue: ChangeQueue) -> PipelineState:
        """This pipeline with ``queue`` replaced (by name) or added at the end."""
        if self.queue(queue.name) is None:
            return replace(self, queues=(*self.queues, queue))
        return replace(self, queues=tuple(queue if q.name == queue.name else q
                                          for q in self.queues))


@dataclass(frozen=True)
class GatingState:
    """Everything the step function needs: pipelines in configuration order, the clock
    (moved only by events) and the last id handed out to an item, build set or build."""

    pipelines: tuple[PipelineState, ...]
    now: float = 0.0
    serial: int = 0

    def pipeline(self, name: str) -> PipelineState | None:
        for pipeline in self.pipelines:
            if pipeline.name == name:
                return pipeline
        return None

    def with_pipeline(self, pipeline: PipelineState) -> GatingState:
        return replace(self, pipelines=tuple(pipeline if p.name == pipeline.name else p
                                             for p in self.pipelines))

    def semaphore_holders(self) -> Iterator[tuple[int, tuple[Semaphore, ...]]]:
        """Every unfinished build whose job uses semaphores, with those semaphores."""
        for pipeline in self.pipelines:
            for _queue, item in pipeline.items():
                buildset = item.buildset
                if buildset is None:
                    continue
                for build in buildset.builds:
                    job = buildset.jobs.get(build.job)
                    if build.state != COMPLETED and job is not None and job.semaphores:
                        yield build.id, job.semaphores

    def find_buildset(self, buildset_id: int) -> tuple[PipelineState, ChangeQueue, Item] | None:
        for pipeline in self.pipelines:
            for queue, item in pipeline.items():
                if item.buildset is not None and item.buildset.id == buildset_id:
                    return pipeline, queue, item
        return None

    def find_build(self, build_id: int) -> tuple[PipelineState, ChangeQueue, Item] | None:
        for pipeline in self.pipelines:
            for queue, item in pipeline.items():
                if item.buildset is not None and any(
                        b.id == build_id for b in item.buildset.builds):
                    return pipeline, queue, item
        return None
