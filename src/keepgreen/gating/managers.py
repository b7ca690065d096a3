"""Pipeline managers as small strategy classes: how a pipeline queues and tests its items.

=============  ===========================  =========  ==========================================
manager        queues                       window     items are tested
=============  ===========================  =========  ==========================================
independent    one per item                 unlimited  alone, on top of the changes they need
dependent      shared, named by projects    policy     on every item ahead; success submits
serial         shared, named by projects    1          one at a time, nothing merges
supercedent    one per project and branch   1          one at a time; newest queued item wins
=============  ===========================  =========  ==========================================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from keepgreen.gating.change import ChangeRef
from keepgreen.gating.pipeline import (
    CHECK_REPORTERS,
    GATE_REPORTERS,
    SILENT_REPORTERS,
    PipelineConfig,
    Reporters,
)
from keepgreen.gating.state import Item
from keepgreen.gating.window import UNLIMITED, WindowPolicy, fixed

# How a manager treats the changes an item needs.
NEEDS_AHEAD = "ahead"  # must be ahead in the same queue (enqueued first) or merged
NEEDS_NON_LIVE = "non-live"  # merged in as items that run no jobs
NEEDS_IGNORED = "ignored"  # post-merge pipelines: what they test has landed already


@dataclass(frozen=True)
class QueueKey:
    """Which queue an item joins. ``dynamic`` queues exist only while they hold items."""

    name: str
    dynamic: bool


class Manager(ABC):
    """Policy of one pipeline manager; the queue algorithm asks it, never checks ``kind``."""

    kind: ClassVar[str]
    changes_merge: ClassVar[bool] = False
    """Success submits the change, so items are tested on the items ahead of them and a
    failure re-parents the items behind (nearest non-failing item)."""
    needs: ClassVar[str] = NEEDS_IGNORED
    requires_approval: ClassVar[bool] = False

    @abstractmethod
    def queue_key(self, change: ChangeRef, config: PipelineConfig) -> QueueKey | None:
        """The queue ``change`` joins; None for a new queue of its own."""

    def window_policy(self, config: PipelineConfig) -> WindowPolicy:
        return fixed(1)

    def default_reporters(self) -> Reporters:
        return SILENT_REPORTERS

    def reporters(self, config: PipelineConfig) -> Reporters:
        return config.reporters if config.reporters is not None else self.default_reporters()

    def superseded(self, items: tuple[Item, ...]) -> tuple[Item, ...]:
        """Items a newly enqueued item makes pointless; by default none."""
        return ()


def _shared_key(change: ChangeRef, config: PipelineConfig) -> QueueKey:
    name = change.queue if change.queue is not None else change.project
    if config.per_branch:
        name = f"{name}@{change.branch}"
    return QueueKey(name, dynamic=change.queue is None)


class IndependentManager(Manager):
    kind = "independent"
    needs = NEEDS_NON_LIVE

    def queue_key(self, change: ChangeRef, config: PipelineConfig) -> QueueKey | None:
        return None

    def window_policy(self, config: PipelineConfig) -> WindowPolicy:
        return UNLIMITED

    def default_reporters(self) -> Reporters:
        return CHECK_REPORTERS


class DependentManager(Manager):
    kind = "dependent"
    changes_merge = True
    needs = NEEDS_AHEAD
    requires_approval = True

    def queue_key(self, change: ChangeRef, config: PipelineConfig) -> QueueKey | None:
        return _shared_key(change, config)

    def window_policy(self, config: PipelineConfig) -> WindowPolicy:
        return config.window if config.window is not None else WindowPolicy()

    def default_reporters(self) -> Reporters:
        return GATE_REPORTERS


class SerialManager(Manager):
    kind = "serial"

    def queue_key(self, change: ChangeRef, config: PipelineConfig) -> QueueKey | None:
        return _shared_key(change, config)


class SupercedentManager(Manager):
    kind = "supercedent"

    def queue_key(self, change: ChangeRef, config: PipelineConfig) -> QueueKey | None:
        return QueueKey(f"{change.project}@{change.branch}", dynamic=True)

    def superseded(self, items: tuple[Item, ...]) -> tuple[Item, ...]:
        # Keep the head (it may be running) and the newest; drop every queued item between.
        return tuple(item for item in items[1:-1] if item.buildset is None)


MANAGERS: dict[str, Manager] = {
    m.kind: m for m in (IndependentManager(), DependentManager(), SerialManager(),
                        SupercedentManager())
}


def manager_for(config: PipelineConfig) -> Manager:
    try:
        return MANAGERS[config.manager]
    except KeyError:
        raise ValueError(
            f"pipeline {config.name!r} has manager {config.manager!r}; use one of "
            f"{', '.join(sorted(MANAGERS))}") from None
