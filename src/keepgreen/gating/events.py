"""Events into the gate core: everything the outside world tells the scheduler.

Every event is a plain value. Builds and build sets are named by the ids the core handed out
in its actions; an event naming a build or build set that is no longer current (its item was
reset or dequeued) is ignored, which is how late results of cancelled work are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.gating.buildset import MERGED
from keepgreen.gating.change import ChangeRef
from keepgreen.gating.jobgraph import JobGraph

# Why a change leaves a pipeline (Dequeue.cause).
NEW_PATCHSET = "new-patchset"
APPROVAL_LOST = "approval-lost"
ABANDONED = "abandoned"
OPERATOR = "operator"
DEQUEUE_CAUSES = (NEW_PATCHSET, APPROVAL_LOST, ABANDONED, OPERATOR)


@dataclass(frozen=True)
class Enqueue:
    """A trigger matched and the change meets the pipeline's requirements (services decide
    both). ``related`` carries, with their current state, the changes this one needs
    (transitively) and the open changes that need it, so the core can enqueue needed changes
    ahead, approved dependents behind, or refuse with a reason."""

    pipeline: str
    change: ChangeRef
    related: tuple[ChangeRef, ...] = ()


@dataclass(frozen=True)
class MergeCompleted:
    """The merger finished a speculative merge. ``result`` is MERGED, MERGE_CONFLICT or
    CONFIG_ERROR (with ``message`` naming file, line and problem). On MERGED, ``jobs`` is the
    job graph frozen from the merged state: a change that edits its jobs is tested with them,
    and so is every item behind it."""

    buildset: int
    result: str = MERGED
    jobs: JobGraph = JobGraph()
    message: str = ""


@dataclass(frozen=True)
class BuildStarted:
    build: int


@dataclass(frozen=True)
class BuildCompleted:
    """``result``: SUCCESS, FAILURE, RETRY (run again while attempts remain), RETRY_LIMIT,
    POST_FAILURE, TIMED_OUT, NODE_FAILURE, ERROR... Voting comes from the job graph.
    ``reason`` says why a build that could not run ended so (NODE_FAILURE, ERROR)."""

    build: int
    result: str
    reason: str = ""


@dataclass(frozen=True)
class BuildEarlyFailure:
    """The build's output already shows a failure; the items behind are reset now."""

    build: int


@dataclass(frozen=True)
class Dequeue:
    """Take a change out: a new patch set (items of older patch sets leave), a lost
    approval, an abandon, or an operator's dequeue. ``pipeline`` None means every pipeline."""

    change: int
    cause: str
    pipeline: str | None = None
    patchset: int | None = None

    def __post_init__(self) -> None:
        if self.cause not in DEQUEUE_CAUSES:
            raise ValueError(
                f"unknown dequeue cause {self.cause!r}; use one of {', '.join(DEQUEUE_CAUSES)}")


@dataclass(frozen=True)
class Promote:
    """Operator: move these changes, in this order, to the head of their shared queue."""

    pipeline: str
    changes: tuple[int, ...]


@dataclass(frozen=True)
class SubmitResult:
    """The answer to a success report that asked to submit: did the change land? Until it
    arrives the item stays at the head (nothing behind it is reported), so every change that
    merges was tested on exactly what landed ahead of it. ``merged`` False (for instance an
    out-of-band conflict) reports MERGE_FAILURE and re-tests the items behind without it."""

    pipeline: str
    change: int
    merged: bool
    message: str = ""


@dataclass(frozen=True)
class Tick:
    """The clock moved; the core has no other source of time."""

    now: float


Event = (Enqueue | MergeCompleted | BuildStarted | BuildCompleted | BuildEarlyFailure | Dequeue
         | Promote | SubmitResult | Tick)
