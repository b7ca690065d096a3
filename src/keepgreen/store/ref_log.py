"""A branch's history of moves, read back from the ``ref-updated`` events of the event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from keepgreen.store.schema import events

SCAN_LIMIT = 10_000
"""Newest ``ref-updated`` events of a project looked through for one ref."""


def ref_updates(conn: Connection, project: str, ref: str, limit: int,
                since: datetime | None = None, until: datetime | None = None
                ) -> list[tuple[datetime, dict[str, Any]]]:
    """(created, payload) of the newest ``limit`` moves of ``ref`` in ``project``, newest
    first, among the project's newest ``SCAN_LIMIT`` ref moves."""
    query = (select(events.c.created, events.c.payload)
             .where(events.c.type == "ref-updated", events.c.project == project))
    if since is not None:
        query = query.where(events.c.created >= since)
    if until is not None:
        query = query.where(events.c.created <= until)
    rows = conn.execute(query.order_by(events.c.id.desc()).limit(SCAN_LIMIT))
    found: list[tuple[datetime, dict[str, Any]]] = []
    for created, payload in rows:
        update = payload.get("refUpdate") if isinstance(payload, dict) else None
        if isinstance(update, dict) and update.get("refName") == ref:
            found.append((created, payload))
            if len(found) >= limit:
                break
    return found
