"""Actions out of the gate core: what the services must do after a step.

The core never performs I/O. It asks for a speculative merge, starts and cancels builds,
reports outcomes on changes, and explains every item that is not running and every change it
would not take. Services perform the actions and feed the results back as events.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.gating.change import ChangeRef


@dataclass(frozen=True)
class RequestMerge:
    """Merge ``changes`` in this order onto their branch tips (the item's change is last),
    freeze the job graph from the result, and answer with MergeCompleted(buildset). A change
    of the list that landed meanwhile is already in the tip; merging it again is a no-op."""

    pipeline: str
    item: int
    buildset: int
    change: ChangeRef
    changes: tuple[ChangeRef, ...]


@dataclass(frozen=True)
class StartBuild:
    """Run ``job`` on the merged state of ``changes`` (the ``zuul.items`` of the job)."""

    pipeline: str
    item: int
    buildset: int
    build: int
    job: str
    change: ChangeRef
    changes: tuple[ChangeRef, ...]
    voting: bool
    attempt: int


@dataclass(frozen=True)
class CancelBuild:
    pipeline: str
    item: int
    build: int
    job: str
    reason: str


@dataclass(frozen=True)
class BuildResult:
    """One line of a report: a job's last attempt. ``duration`` in clock units, if it ran."""

    job: str
    result: str
    voting: bool
    duration: float | None
    reason: str = ""  # shown for results whose job could not run


@dataclass(frozen=True)
class Report:
    """Report an outcome on a change (kind: start, success, failure, merge-conflict,
    config-error, no-jobs, dequeue, merge-failure, superseded) with the votes the pipeline's
    reporter for that kind gives. ``submit``: merge the change now. ``changes`` is the
    speculative state the reported build set tested; ``item`` is None for a merge-failure
    found after the item left the queue."""

    pipeline: str
    item: int | None
    change: ChangeRef
    kind: str
    message: str
    votes: tuple[tuple[str, int], ...] = ()
    submit: bool = False
    builds: tuple[BuildResult, ...] = ()
    changes: tuple[ChangeRef, ...] = ()
    buildset: int | None = None


@dataclass(frozen=True)
class Waiting:
    """Why an item is not running (or not reported yet); sent whenever the reason changes.
    An empty reason means the item's jobs are running now."""

    pipeline: str
    item: int
    change: ChangeRef
    reason: str


@dataclass(frozen=True)
class Refused:
    """The core would not do what an event asked, and why. ``notify``: tell the change's
    owner (Zuul reports a change that does not share a queue with one it needs; a needed
    change that is not approved yet is only logged)."""

    pipeline: str
    change: ChangeRef | None
    reason: str
    notify: bool = False


Action = RequestMerge | StartBuild | CancelBuild | Report | Waiting | Refused
