"""The live items of the pipelines as stored, and the builds a stopped process left running.

The scheduler writes a row when an item enters a pipeline and deletes it when the item
leaves, so on start it can enqueue the same items again, in ``id`` order (the order they
entered). Builds and buildsets without a result at start belonged to a process that stopped
while they ran; ``abort_unfinished`` closes them as ``ABORTED``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from keepgreen.store.schema import builds, buildsets, pipeline_items

ABORTED = "ABORTED"


@dataclass(frozen=True)
class StoredItem:
    """One queued item. A ref item has ``change_number`` and ``patch_set`` 0 and ``ref``
    and ``newrev`` set."""

    id: int
    pipeline: str
    queue: str
    project: str
    branch: str
    change_number: int
    patch_set: int
    ref: str | None
    newrev: str | None
    enqueued: datetime

    @property
    def key(self) -> str:
        """``12,1``, or ``refs/heads/main@<newrev>`` for a ref item."""
        if self.change_number:
            return f"{self.change_number},{self.patch_set}"
        return f"{self.ref}@{self.newrev}"


def add_item(conn: Connection, *, pipeline: str, queue: str, project: str, branch: str,
             change_number: int, patch_set: int, ref: str | None, newrev: str | None,
             enqueued: datetime) -> int:
    """Record an item that entered ``pipeline``; returns its id (its place in the order)."""
    result = conn.execute(insert(pipeline_items).values(
        pipeline=pipeline, queue=queue, project=project, branch=branch,
        change_number=change_number, patch_set=patch_set, ref=ref, newrev=newrev,
        enqueued=enqueued))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def remove_items(conn: Connection, ids: Iterable[int]) -> None:
    chosen = list(ids)
    if chosen:
        conn.execute(delete(pipeline_items).where(pipeline_items.c.id.in_(chosen)))


def queued_items(conn: Connection) -> list[StoredItem]:
    """Every recorded item, in the order they entered."""
    rows = conn.execute(select(pipeline_items).order_by(pipeline_items.c.id))
    return [StoredItem(r.id, r.pipeline, r.queue, r.project, r.branch, r.change_number,
                       r.patch_set, r.ref, r.newrev, r.enqueued) for r in rows]


def abort_unfinished(conn: Connection, reason: str, ended: datetime) -> tuple[int, int]:
    """Close every build and buildset that has no result as ABORTED with ``reason``;
    returns how many builds and buildsets were closed. Only for the start of the one
    process that runs the site's builds: it ran none of them yet."""
    closed_builds = conn.execute(update(builds).where(builds.c.result.is_(None)).values(
        result=ABORTED, reason=reason, ended=ended)).rowcount
    closed_sets = conn.execute(update(buildsets).where(buildsets.c.result.is_(None)).values(
        result=ABORTED, message=reason, ended=ended)).rowcount
    return int(closed_builds or 0), int(closed_sets or 0)
