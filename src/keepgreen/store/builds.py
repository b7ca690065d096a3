"""Build and buildset records, operator commands, and the scheduler's place in the event log.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from keepgreen.store.schema import (
    builds,
    buildsets,
    events,
    management_events,
    scheduler_cursor,
)


@dataclass(frozen=True)
class BuildRecord:
    """One build as stored; ``result`` is None while it runs (or if the process stopped)."""

    uuid: str
    pipeline: str
    project: str
    change_number: int
    patch_set: int
    job: str
    result: str | None
    reason: str
    voting: bool
    started: datetime
    ended: datetime | None
    log_dir: str | None
    buildset: str | None = None
    stages: tuple[tuple[str, float], ...] = ()  # where the time went, in order


def add_build(conn: Connection, *, uuid: str, pipeline: str, project: str, change_number: int,
              patch_set: int, job: str, voting: bool, started: datetime,
              buildset: str | None = None) -> None:
    conn.execute(insert(builds).values(
        uuid=uuid, pipeline=pipeline, project=project, change_number=change_number,
        patch_set=patch_set, job=job, voting=voting, started=started, reason="",
        buildset=buildset))


def finish_build(conn: Connection, uuid: str, result: str, reason: str, ended: datetime,
                 log_dir: str | None,
                 stages: tuple[tuple[str, float], ...] = ()) -> None:
    conn.execute(update(builds).where(builds.c.uuid == uuid).values(
        result=result, reason=reason, ended=ended, log_dir=log_dir,
        stages=[[name, round(seconds, 3)] for name, seconds in stages] or None))


def builds_of(conn: Connection, change_number: int) -> list[BuildRecord]:
    rows = conn.execute(select(builds).where(builds.c.change_number == change_number)
                        .order_by(builds.c.started, builds.c.job))
    return [build_record(r) for r in rows]


def build_record(r: Any) -> BuildRecord:
    """A ``builds`` row as a record."""
    return BuildRecord(r.uuid, r.pipeline, r.project, r.change_number, r.patch_set, r.job,
                       r.result, r.reason, r.voting, r.started, r.ended, r.log_dir,
                       r.buildset, _stages(r.stages))


def _stages(stored: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(stored, list):
        return ()
    return tuple((str(item[0]), float(item[1])) for item in stored
                 if isinstance(item, list) and len(item) == 2)


def cursor(conn: Connection, consumer: str) -> int | None:
    """The id of the last event ``consumer`` handled; None if it never ran."""
    value = conn.execute(select(scheduler_cursor.c.last_event_id)
                         .where(scheduler_cursor.c.consumer == consumer)).scalar()
    return None if value is None else int(value)


def set_cursor(conn: Connection, consumer: str, last_event_id: int) -> None:
    done = conn.execute(update(scheduler_cursor).where(scheduler_cursor.c.consumer == consumer)
                        .values(last_event_id=last_event_id))
    if done.rowcount == 0:
        conn.execute(insert(scheduler_cursor).values(consumer=consumer,
                                                     last_event_id=last_event_id))


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar() or 0)


# -- buildsets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildsetRecord:
    """One build set: the speculative state an item was tested on (``changes``, head first,
    as ``12,1 13,1``) and its outcome; ``result`` is None until the item is reported."""

    uuid: str
    pipeline: str
    project: str
    change_number: int | None
    patch_set: int | None
    ref: str
    changes: str
    result: str | None
    message: str
    started: datetime
    ended: datetime | None


def add_buildset(conn: Connection, *, uuid: str, pipeline: str, project: str,
                 change_number: int | None, patch_set: int | None, ref: str, changes: str,
                 started: datetime) -> None:
    conn.execute(insert(buildsets).values(
        uuid=uuid, pipeline=pipeline, project=project, change_number=change_number,
        patch_set=patch_set, ref=ref, changes=changes, message="", started=started))


def finish_buildset(conn: Connection, uuid: str, result: str, message: str,
                    ended: datetime) -> None:
    """Record the outcome; a buildset that already has one keeps it."""
    conn.execute(update(buildsets).where(buildsets.c.uuid == uuid, buildsets.c.result.is_(None))
                 .values(result=result, message=message, ended=ended))


def buildset_record(r: Any) -> BuildsetRecord:
    """A ``buildsets`` row as a record."""
    return BuildsetRecord(r.uuid, r.pipeline, r.project, r.change_number, r.patch_set, r.ref,
                          r.changes, r.result, r.message, r.started, r.ended)


def get_buildset(conn: Connection, uuid: str) -> BuildsetRecord | None:
    row = conn.execute(select(buildsets).where(buildsets.c.uuid == uuid)).first()
    return None if row is None else buildset_record(row)


def buildsets_query(*, project: str | None = None, pipeline: str | None = None,
                    change_number: int | None = None, result: str | None = None) -> Select[Any]:
    """Buildsets matching every given filter, newest first; ``result`` "running" means not
    reported yet. The caller pages it (visibility is decided per change, after the query)."""
    query = select(buildsets)
    if project:
        query = query.where(buildsets.c.project == project)
    if pipeline:
        query = query.where(buildsets.c.pipeline == pipeline)
    if change_number is not None:
        query = query.where(buildsets.c.change_number == change_number)
    if result:
        query = query.where(buildsets.c.result.is_(None) if result.lower() == "running"
                            else buildsets.c.result == result.upper())
    return query.order_by(buildsets.c.started.desc(), buildsets.c.uuid.desc())


def builds_in(conn: Connection, buildset: str) -> list[BuildRecord]:
    rows = conn.execute(select(builds).where(builds.c.buildset == buildset)
                        .order_by(builds.c.started, builds.c.job))
    return [build_record(r) for r in rows]


def estimated_durations(conn: Connection, jobs: list[str], project: str | None = None,
                        recent: int = 10) -> dict[str, float]:
    """The median duration in seconds of each job's last ``recent`` successful builds (of
    ``project`` when given); jobs without one are left out."""
    found: dict[str, float] = {}
    for job in sorted(set(jobs)):
        query = (select(builds.c.started, builds.c.ended)
                 .where(builds.c.job == job, builds.c.result == "SUCCESS",
                        builds.c.ended.is_not(None)))
        if project:
            query = query.where(builds.c.project == project)
        rows = conn.execute(query.order_by(builds.c.ended.desc()).limit(recent)).all()
        durations = [(r.ended - r.started).total_seconds() for r in rows]
        if durations:
            found[job] = statistics.median(durations)
    return found


# -- operator commands ----------------------------------------------------------------------

ENQUEUE, DEQUEUE, PROMOTE = "enqueue", "dequeue", "promote"
MANAGEMENT_KINDS = (ENQUEUE, DEQUEUE, PROMOTE)


@dataclass(frozen=True)
class ManagementEvent:
    """An operator command for the scheduler. ``changes`` are (number, patch set) pairs, in
    the order given; ``done`` is set once the scheduler took it, ``error`` when it refused."""

    id: int
    kind: str
    pipeline: str
    project: str
    changes: tuple[tuple[int, int], ...]
    requested_by: str
    created: datetime
    done: datetime | None
    error: str | None


def _management_event(r: Any) -> ManagementEvent:
    pairs = []
    for key in r.changes.split():
        number, _, patchset = key.partition(",")
        pairs.append((int(number), int(patchset)))
    return ManagementEvent(r.id, r.kind, r.pipeline, r.project, tuple(pairs), r.requested_by,
                           r.created, r.done, r.error)


def add_management_event(conn: Connection, *, kind: str, pipeline: str, project: str,
                         changes: list[tuple[int, int]], requested_by: str,
                         created: datetime) -> int:
    if kind not in MANAGEMENT_KINDS:
        raise ValueError(f"unknown operator command {kind!r}")
    done = conn.execute(insert(management_events).values(
        kind=kind, pipeline=pipeline, project=project,
        changes=" ".join(f"{n},{p}" for n, p in changes), requested_by=requested_by,
        created=created))
    assert done.inserted_primary_key is not None
    return int(done.inserted_primary_key[0])


def pending_management_events(conn: Connection, limit: int = 100) -> list[ManagementEvent]:
    """Commands the scheduler has not taken yet, oldest first."""
    rows = conn.execute(select(management_events).where(management_events.c.done.is_(None))
                        .order_by(management_events.c.id).limit(limit))
    return [_management_event(r) for r in rows]


def finish_management_event(conn: Connection, event_id: int, done: datetime,
                            error: str | None) -> bool:
    """Mark a command taken; False when it was taken already (it is acted on once)."""
    updated = conn.execute(update(management_events)
                           .where(management_events.c.id == event_id,
                                  management_events.c.done.is_(None))
                           .values(done=done, error=error))
    return updated.rowcount == 1


def get_management_event(conn: Connection, event_id: int) -> ManagementEvent | None:
    row = conn.execute(select(management_events)
                       .where(management_events.c.id == event_id)).first()
    return None if row is None else _management_event(row)
