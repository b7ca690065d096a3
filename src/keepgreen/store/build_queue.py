"""Builds handed to executors through the database, and the executors that take them.

The scheduler adds a row per build (``add``); an executor claims rows up to its free
capacity (``claim``: gate builds first, then the oldest), renews its lease while it runs
them (``renew``) and writes the result (``complete``). The scheduler takes results
(``news``) and hands out again the builds whose executor stopped renewing (``expired`` then
``requeue`` or ``fail``).

On PostgreSQL a claim locks the rows it takes with ``FOR UPDATE SKIP LOCKED``, so executors
claiming at the same moment take different builds without waiting for each other. SQLite
has one writer at a time (``store.db``), which makes the claim just as exclusive.

Every write of an executor names it: a build handed to another executor after a lost lease
is no longer the first one's, and whatever it still writes about the build is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from keepgreen.store.db import BUILD_REQUESTS, BUILD_RESULTS, notify
from keepgreen.store.schema import build_requests, executors

REQUESTED = "requested"
RUNNING = "running"
COMPLETED = "completed"


@dataclass(frozen=True)
class QueuedBuild:
    """A build request as stored."""

    id: int
    uuid: str
    build: int
    buildset: int
    job: str
    pipeline: str
    attempt: int
    state: str
    request: Mapping[str, Any]
    owner: str | None
    lease_until: float | None
    nodes: tuple[str, ...]
    early_reason: str | None
    early_reported: bool
    cancel_reason: str | None
    result: Mapping[str, Any] | None


@dataclass(frozen=True)
class ExecutorRow:
    """An executor as it last said of itself."""

    name: str
    capacity: int
    running: int
    load: float
    free_disk: int
    paused: bool
    graceful: bool
    started: float
    heartbeat: float


def _build(row: Any) -> QueuedBuild:
    return QueuedBuild(row.id, row.uuid, row.build, row.buildset, row.job, row.pipeline,
                       row.attempt, row.state, row.request, row.owner, row.lease_until,
                       tuple(row.nodes or ()), row.early_reason, bool(row.early_reported),
                       row.cancel_reason, row.result)


def add(conn: Connection, *, uuid: str, build: int, buildset: int, job: str, pipeline: str,
        priority: int, attempt: int, request: Mapping[str, Any], now: float) -> None:
    conn.execute(insert(build_requests).values(
        uuid=uuid, build=build, buildset=buildset, job=job, pipeline=pipeline,
        priority=priority, attempt=attempt, state=REQUESTED, request=dict(request),
        owner=None, lease_until=None, nodes=[], early_reason=None, early_reported=False,
        cancel_reason=None, result=None, created=now))
    notify(conn, BUILD_REQUESTS)


def get(conn: Connection, uuid: str) -> QueuedBuild | None:
    row = conn.execute(select(build_requests).where(build_requests.c.uuid == uuid)).first()
    return _build(row) if row is not None else None


def claim(conn: Connection, owner: str, limit: int, *, lease: float,
          now: float) -> list[QueuedBuild]:
    """Take up to ``limit`` waiting builds for ``owner``, gate first, then oldest."""
    if limit <= 0:
        return []
    ids = list(conn.execute(
        select(build_requests.c.id)
        .where(build_requests.c.state == REQUESTED, build_requests.c.cancel_reason.is_(None))
        .order_by(build_requests.c.priority, build_requests.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)).scalars())
    if not ids:
        return []
    conn.execute(update(build_requests).where(build_requests.c.id.in_(ids))
                 .values(state=RUNNING, owner=owner, lease_until=now + lease))
    rows = conn.execute(select(build_requests).where(build_requests.c.id.in_(ids))
                        .order_by(build_requests.c.priority, build_requests.c.id))
    return [_build(row) for row in rows]


def _mine(uuid: str, owner: str) -> Any:
    return and_(build_requests.c.uuid == uuid, build_requests.c.owner == owner,
                build_requests.c.state == RUNNING)


def renew(conn: Connection, owner: str, uuids: Iterable[str], *, lease: float,
          now: float) -> dict[str, str | None]:
    """Extend the lease of ``owner``'s running builds. Returns, for each of ``uuids`` that is
    still ``owner``'s, its cancel reason (None while it should go on); a build missing from
    the answer was taken away (handed to another executor, or dropped by the scheduler)."""
    chosen = list(uuids)
    if not chosen:
        return {}
    conn.execute(update(build_requests)
                 .where(build_requests.c.uuid.in_(chosen), build_requests.c.owner == owner,
                        build_requests.c.state == RUNNING)
                 .values(lease_until=now + lease))
    rows = conn.execute(select(build_requests.c.uuid, build_requests.c.cancel_reason)
                        .where(build_requests.c.uuid.in_(chosen),
                               build_requests.c.owner == owner,
                               build_requests.c.state == RUNNING))
    return {row.uuid: row.cancel_reason for row in rows}


def set_nodes(conn: Connection, uuid: str, owner: str, node_ids: Iterable[str]) -> bool:
    """Record the nodes ``owner``'s attempt holds (an empty list once it let go of them)."""
    done = conn.execute(update(build_requests).where(_mine(uuid, owner))
                        .values(nodes=list(node_ids)))
    return done.rowcount > 0


def early_failure(conn: Connection, uuid: str, owner: str, reason: str) -> bool:
    done = conn.execute(update(build_requests)
                        .where(_mine(uuid, owner), build_requests.c.early_reason.is_(None))
                        .values(early_reason=reason))
    notify(conn, BUILD_RESULTS)
    return done.rowcount > 0


def complete(conn: Connection, uuid: str, owner: str, result: Mapping[str, Any]) -> bool:
    """Store ``owner``'s result; False (and nothing written) when the build is no longer
    ``owner``'s."""
    done = conn.execute(update(build_requests).where(_mine(uuid, owner))
                        .values(state=COMPLETED, result=dict(result), lease_until=None,
                                nodes=[]))
    notify(conn, BUILD_RESULTS)
    return done.rowcount > 0


def cancel(conn: Connection, uuid: str, reason: str) -> QueuedBuild | None:
    """Ask for build ``uuid`` to stop; returns it as it was (None when unknown or done)."""
    found = get(conn, uuid)
    if found is None or found.state == COMPLETED:
        return None
    conn.execute(update(build_requests).where(build_requests.c.uuid == uuid)
                 .values(cancel_reason=reason))
    notify(conn, BUILD_REQUESTS)
    return found


def finish(conn: Connection, uuid: str, result: Mapping[str, Any]) -> None:
    """Complete a build without an executor (cancelled before any took it, lost too often)."""
    conn.execute(update(build_requests).where(build_requests.c.uuid == uuid)
                 .values(state=COMPLETED, result=dict(result), owner=None, lease_until=None,
                         nodes=[]))
    notify(conn, BUILD_RESULTS)


def news(conn: Connection) -> tuple[list[QueuedBuild], list[QueuedBuild]]:
    """Completed builds, and running builds with an early failure not yet reported."""
    done = [_build(r) for r in conn.execute(
        select(build_requests).where(build_requests.c.state == COMPLETED)
        .order_by(build_requests.c.id))]
    early = [_build(r) for r in conn.execute(
        select(build_requests).where(build_requests.c.state == RUNNING,
                                     build_requests.c.early_reason.is_not(None),
                                     build_requests.c.early_reported.is_(False))
        .order_by(build_requests.c.id))]
    return done, early


def early_reported(conn: Connection, uuid: str) -> None:
    conn.execute(update(build_requests).where(build_requests.c.uuid == uuid)
                 .values(early_reported=True))


def expired(conn: Connection, now: float) -> list[QueuedBuild]:
    """Running builds whose executor stopped renewing their lease."""
    return [_build(r) for r in conn.execute(
        select(build_requests).where(build_requests.c.state == RUNNING,
                                     build_requests.c.lease_until < now)
        .order_by(build_requests.c.id))]


def requeue(conn: Connection, found: QueuedBuild, request: Mapping[str, Any]) -> bool:
    """Hand a lost build out again as its next attempt (``request`` says which); False when
    its executor came back and renewed the lease in between."""
    done = conn.execute(update(build_requests)
                        .where(build_requests.c.uuid == found.uuid,
                               build_requests.c.state == RUNNING,
                               build_requests.c.owner == found.owner,
                               build_requests.c.lease_until == found.lease_until)
                        .values(state=REQUESTED, owner=None, lease_until=None, nodes=[],
                                attempt=found.attempt + 1, request=dict(request),
                                early_reason=None, early_reported=False))
    notify(conn, BUILD_REQUESTS)
    return done.rowcount > 0


def remove(conn: Connection, uuid: str) -> None:
    conn.execute(delete(build_requests).where(build_requests.c.uuid == uuid))


def clear(conn: Connection) -> int:
    """Forget every build request (the scheduler starts with no builds of its own)."""
    return conn.execute(delete(build_requests)).rowcount


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(build_requests.c.state, func.count())
                        .group_by(build_requests.c.state))
    return {state: int(n) for state, n in rows}


# --- executors ---------------------------------------------------------------------------


def register(conn: Connection, name: str, capacity: int, now: float) -> None:
    """Write (or take over) executor ``name``'s row, not paused."""
    conn.execute(delete(executors).where(executors.c.name == name))
    conn.execute(insert(executors).values(
        name=name, capacity=capacity, running=0, load=0.0, free_disk=0, paused=False,
        graceful=False, started=now, heartbeat=now))


def beat(conn: Connection, name: str, *, running: int, load: float, free_disk: int,
         now: float) -> ExecutorRow | None:
    """Renew ``name``'s heartbeat; returns its row (with the flags an operator set), or None
    when the row is gone."""
    conn.execute(update(executors).where(executors.c.name == name).values(
        running=running, load=load, free_disk=free_disk, heartbeat=now))
    row = conn.execute(select(executors).where(executors.c.name == name)).first()
    return ExecutorRow(**row._mapping) if row is not None else None


def set_flags(conn: Connection, name: str | None, *, paused: bool | None = None,
              graceful: bool | None = None) -> int:
    """Pause, resume or drain executor ``name`` (every executor when None); returns how many
    rows changed."""
    values: dict[str, bool] = {}
    if paused is not None:
        values["paused"] = paused
    if graceful is not None:
        values["graceful"] = graceful
    statement = update(executors).values(**values)
    if name is not None:
        statement = statement.where(executors.c.name == name)
    return conn.execute(statement).rowcount


def all_executors(conn: Connection) -> list[ExecutorRow]:
    return [ExecutorRow(**row._mapping)
            for row in conn.execute(select(executors).order_by(executors.c.name))]


def unregister(conn: Connection, name: str) -> None:
    conn.execute(delete(executors).where(executors.c.name == name))
