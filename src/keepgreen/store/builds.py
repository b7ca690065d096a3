"""Build records and the scheduler's place in the event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from keepgreen.store.schema import builds, events, scheduler_cursor


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


def add_build(conn: Connection, *, uuid: str, pipeline: str, project: str, change_number: int,
              patch_set: int, job: str, voting: bool, started: datetime) -> None:
    conn.execute(insert(builds).values(
        uuid=uuid, pipeline=pipeline, project=project, change_number=change_number,
        patch_set=patch_set, job=job, voting=voting, started=started, reason=""))


def finish_build(conn: Connection, uuid: str, result: str, reason: str, ended: datetime,
                 log_dir: str | None) -> None:
    conn.execute(update(builds).where(builds.c.uuid == uuid).values(
        result=result, reason=reason, ended=ended, log_dir=log_dir))


def builds_of(conn: Connection, change_number: int) -> list[BuildRecord]:
    rows = conn.execute(select(builds).where(builds.c.change_number == change_number)
                        .order_by(builds.c.started, builds.c.job))
    return [BuildRecord(r.uuid, r.pipeline, r.project, r.change_number, r.patch_set, r.job,
                        r.result, r.reason, r.voting, r.started, r.ended, r.log_dir)
            for r in rows]


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
