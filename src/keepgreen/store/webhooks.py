"""Webhook remotes and their deliveries in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from keepgreen.domain.webhooks import Remote
from keepgreen.store.schema import webhook_deliveries, webhooks


def _remote(row: Row) -> Remote:  # type: ignore[type-arg]
    return Remote(row.project, row.name, row.url, tuple(row.events), row.secret,
                  row.max_tries, row.retry_interval, row.owner_id, row.id)


def remotes(conn: Connection, project: str | None = None) -> list[Remote]:
    query = select(webhooks).order_by(webhooks.c.project, webhooks.c.name)
    if project is not None:
        query = query.where(webhooks.c.project == project)
    return [_remote(r) for r in conn.execute(query)]


def put(conn: Connection, remote: Remote, now: datetime) -> Remote:
    """Create or replace the remote of that project and name; keeps its deliveries."""
    values = {"url": remote.url, "events": list(remote.events), "secret": remote.secret,
              "max_tries": remote.max_tries, "retry_interval": remote.retry_interval,
              "owner_id": remote.owner_id}
    done = conn.execute(update(webhooks).where(webhooks.c.project == remote.project,
                                               webhooks.c.name == remote.name).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(webhooks).values(project=remote.project, name=remote.name,
                                             created=now, **values))
    return next(r for r in remotes(conn, remote.project) if r.name == remote.name)


def remove(conn: Connection, project: str, name: str) -> bool:
    found = conn.execute(select(webhooks.c.id).where(webhooks.c.project == project,
                                                     webhooks.c.name == name)).scalar()
    if found is None:
        return False
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == found))
    conn.execute(delete(webhooks).where(webhooks.c.id == found))
    return True


def enqueue(conn: Connection, remote: Remote, event_id: int, event_type: str,
            payload: dict[str, Any], now: datetime) -> None:
    conn.execute(insert(webhook_deliveries).values(
        webhook_id=remote.id, event_id=event_id, event_type=event_type, payload=payload,
        state="PENDING", tries=0, outcome="", next_try=now, created=now))


def due(conn: Connection, now: datetime, limit: int = 50) -> list[Row]:  # type: ignore[type-arg]
    return list(conn.execute(
        select(webhook_deliveries).where(webhook_deliveries.c.state == "PENDING",
                                         webhook_deliveries.c.next_try <= now)
        .order_by(webhook_deliveries.c.id).limit(limit)))


def record_try(conn: Connection, delivery_id: int, state: str, tries: int, outcome: str,
               next_try: datetime, finished: datetime | None) -> None:
    conn.execute(update(webhook_deliveries).where(webhook_deliveries.c.id == delivery_id)
                 .values(state=state, tries=tries, outcome=outcome[:2000], next_try=next_try,
                         finished=finished))


def deliveries(conn: Connection, remote_id: int, limit: int = 100) -> list[Row]:  # type: ignore[type-arg]
    """The newest deliveries of one remote, newest first."""
    return list(conn.execute(
        select(webhook_deliveries).where(webhook_deliveries.c.webhook_id == remote_id)
        .order_by(webhook_deliveries.c.id.desc()).limit(limit)))
