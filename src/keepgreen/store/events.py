"""The durable event log, in commit order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from keepgreen.store.db import EVENT, notify
from keepgreen.store.schema import events


def record(conn: Connection, type_: str, payload: dict[str, Any], now: datetime,
           project: str | None = None, change_number: int | None = None) -> None:
    conn.execute(insert(events).values(type=type_, created=now, project=project,
                                       change_number=change_number, payload=payload))
    notify(conn, EVENT)  # Database.write wakes the followers after the commit


def since(
    conn: Connection, after_id: int = 0, limit: int = 1000
) -> list[tuple[int, str, dict[str, Any]]]:
    rows = conn.execute(select(events.c.id, events.c.type, events.c.payload)
                        .where(events.c.id > after_id).order_by(events.c.id).limit(limit))
    return [(r[0], r[1], r[2]) for r in rows]


def latest_of_type(conn: Connection, type_: str, limit: int = 1000
                   ) -> list[tuple[str | None, dict[str, Any]]]:
    """(project, payload) of the newest ``limit`` events of ``type_``, newest first."""
    rows = conn.execute(select(events.c.project, events.c.payload)
                        .where(events.c.type == type_).order_by(events.c.id.desc())
                        .limit(limit))
    return [(r[0], r[1]) for r in rows]


def newest_id(conn: Connection) -> int:
    """The id of the newest event; 0 when there is none."""
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def of_changes(conn: Connection, numbers: list[int], types: tuple[str, ...]
               ) -> dict[int, list[tuple[datetime, dict[str, Any]]]]:
    """(created, payload) of the events of ``types`` about each change, oldest first."""
    result: dict[int, list[tuple[datetime, dict[str, Any]]]] = {n: [] for n in numbers}
    if numbers:
        rows = conn.execute(select(events.c.change_number, events.c.created, events.c.payload)
                            .where(events.c.change_number.in_(numbers),
                                   events.c.type.in_(types)).order_by(events.c.id))
        for number, created, payload in rows:
            result[number].append((created, payload))
    return result
