"""Pads in the store: their links and the CRDT updates their text is made of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, func, insert, or_, select

from keepgreen.domain.pad import Pad
from keepgreen.store.schema import pad_updates, pads


def _pad(row: Row) -> Pad:  # type: ignore[type-arg]
    return Pad(row.id, row.title, row.project, row.change_number, row.created_by, row.created)


def create(conn: Connection, title: str, project: str | None, change: int | None,
           created_by: int, now: datetime) -> Pad:
    pad_id = conn.execute(insert(pads).values(
        title=title, project=project, change_number=change, created_by=created_by,
        created=now)).inserted_primary_key[0]  # type: ignore[index]
    found = get(conn, int(pad_id))
    assert found is not None
    return found


def get(conn: Connection, pad_id: int) -> Pad | None:
    row = conn.execute(select(pads).where(pads.c.id == pad_id)).first()
    return _pad(row) if row is not None else None


def listing(conn: Connection, projects: list[str] | None, change: int | None = None,
            project: str | None = None, limit: int = 500) -> list[Pad]:
    """Pads newest first; with ``projects``, only stand-alone pads and those of these
    projects (callers check the changes of change pads themselves)."""
    query = select(pads).order_by(pads.c.id.desc()).limit(limit)
    if projects is not None:
        query = query.where(or_(pads.c.project.is_(None), pads.c.project.in_(projects)))
    if change is not None:
        query = query.where(pads.c.change_number == change)
    if project is not None:
        query = query.where(pads.c.project == project)
    return [_pad(r) for r in conn.execute(query)]


def updates(conn: Connection, pad_id: int) -> list[Row]:  # type: ignore[type-arg]
    """Every update of a pad, oldest first: ``account_id``, ``created``, ``data``."""
    return list(conn.execute(
        select(pad_updates.c.account_id, pad_updates.c.created, pad_updates.c.data)
        .where(pad_updates.c.pad_id == pad_id).order_by(pad_updates.c.id)))


def size(conn: Connection, pad_id: int) -> int:
    total = conn.execute(select(func.coalesce(func.sum(func.length(pad_updates.c.data)), 0))
                         .where(pad_updates.c.pad_id == pad_id)).scalar()
    return int(total or 0)


def append(conn: Connection, pad_id: int, account_id: int, data: bytes, now: datetime) -> None:
    conn.execute(insert(pad_updates).values(pad_id=pad_id, account_id=account_id,
                                            created=now, data=data))
