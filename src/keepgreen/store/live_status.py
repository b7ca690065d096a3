"""The live status document the leading scheduler shares through the store (one row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from keepgreen.store.schema import live_status

_ROW = 1


def put(conn: Connection, document: dict[str, Any], now: float) -> None:
    found = conn.execute(update(live_status).where(live_status.c.id == _ROW).values(
        document=document, written=now)).rowcount
    if not found:
        conn.execute(insert(live_status).values(id=_ROW, document=document, written=now))


def get(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(select(live_status.c.document).where(live_status.c.id == _ROW)).first()
    return dict(row.document) if row is not None else None
