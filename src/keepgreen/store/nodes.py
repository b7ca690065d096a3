"""Nodes and node requests in the store.

Rows map to ``Node`` values and ``NodeRequest`` records; callers pass the connection of a
``Database.write()`` (or ``read()``) block, so each decision and its state changes commit
together.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, text, update

from keepgreen.domain.node import Node, NodeState
from keepgreen.store.clock import utcnow
from keepgreen.store.db import NODE_REQUESTS, notify
from keepgreen.store.schema import (
    autohold_requests,
    launchers,
    node_holds,
    node_requests,
    nodes,
)
from keepgreen.store.sql import among


class RequestState(enum.Enum):
    REQUESTED = "requested"
    FULFILLED = "fulfilled"
    FAILED = "failed"


@dataclass(frozen=True)
class NodeRequest:
    """A request for a node set; ``reason`` is why it waits or failed (empty otherwise)."""

    id: int
    labels: tuple[str, ...]
    priority: int
    state: RequestState
    requestor: str
    node_ids: tuple[str, ...]
    failures: int
    reason: str
    created: datetime


@dataclass(frozen=True)
class StoredNode:
    """A node as the store keeps it: the provider's value plus pool bookkeeping."""

    node: Node
    request_id: int | None
    hold_until: datetime | None
    reason: str
    state_changed: datetime
    launcher: str | None = None  # the launcher process that launches and deletes it


def _data(node: Node) -> dict[str, Any]:
    return {"host": node.host, "port": node.port, "username": node.username,
            "host_key": node.host_key,
            "private_key": str(node.private_key) if node.private_key else None,
            "pid": node.pid, "netns": list(node.netns),
            "state_dir": str(node.state_dir) if node.state_dir else None}


def _stored(row: Row) -> StoredNode:  # type: ignore[type-arg]
    data = row.data
    node = Node(id=row.id, label=row.label, provider=row.provider,
                state=NodeState(row.state), host=data.get("host", ""),
                port=data.get("port", 22), username=data.get("username", "root"),
                host_key=data.get("host_key", ""),
                private_key=Path(data["private_key"]) if data.get("private_key") else None,
                pid=data.get("pid"), netns=tuple(data.get("netns", ())),
                state_dir=Path(data["state_dir"]) if data.get("state_dir") else None,
                created_at=_epoch(row.created),
                ready_at=_epoch(row.ready_at) if row.ready_at else None,
                connection_type=row.connection_type or "ssh",
                attributes=tuple(sorted((str(k), str(v))
                                        for k, v in (row.attributes or {}).items())))
    return StoredNode(node, row.request_id, row.hold_until, row.reason, row.state_changed,
                      row.launcher)


def _epoch(value: datetime) -> float:
    return value.replace(tzinfo=UTC).timestamp()


def _naive(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _request(row: Row) -> NodeRequest:  # type: ignore[type-arg]
    return NodeRequest(row.id, tuple(row.labels), row.priority, RequestState(row.state),
                       row.requestor, tuple(row.node_ids), row.failures, row.reason,
                       row.created)


# --- nodes ---------------------------------------------------------------------------------

def add_node(conn: Connection, node_id: str, label: str, provider: str,
             request_id: int | None, now: datetime | None = None,
             launcher: str | None = None) -> None:
    """Record a node before its provider is asked for it, so it counts and is never a leak.
    Without a ``launcher`` it waits for one of the launchers serving ``provider``."""
    now = now or utcnow()
    conn.execute(insert(nodes).values(
        id=node_id, label=label, provider=provider, state=NodeState.REQUESTED.value,
        request_id=request_id, data={}, reason="", created=now, state_changed=now,
        launcher=launcher))
    if launcher is None:
        notify(conn, NODE_REQUESTS)


def take_node(conn: Connection, node_id: str, launcher: str | None) -> None:
    """Make ``launcher`` the one that launches or deletes the node."""
    conn.execute(update(nodes).where(nodes.c.id == node_id).values(launcher=launcher))


def set_node_state(conn: Connection, node_id: str, state: NodeState, *, reason: str = "",
                   now: datetime | None = None, **values: Any) -> None:
    conn.execute(update(nodes).where(nodes.c.id == node_id).values(
        state=state.value, reason=reason, state_changed=now or utcnow(), **values))


def save_launched(conn: Connection, node: Node, now: datetime | None = None) -> None:
    """Store what the provider handed back: how to reach the node, and that it is READY."""
    ready = _naive(node.ready_at) if node.ready_at else (now or utcnow())
    set_node_state(conn, node.id, NodeState.READY, now=now, data=_data(node), ready_at=ready,
                   connection_type=node.connection_type, attributes=dict(node.attributes))


def allocate(conn: Connection, node_ids: Collection[str], request_id: int | None) -> None:
    if node_ids:
        conn.execute(update(nodes).where(among(conn, nodes.c.id, node_ids))
                     .values(request_id=request_id))


def remove_node(conn: Connection, node_id: str) -> None:
    """Forget a node whose provider confirmed the delete (and its hold, if it was held)."""
    conn.execute(delete(nodes).where(nodes.c.id == node_id))
    conn.execute(delete(node_holds).where(node_holds.c.node_id == node_id))


def get_node(conn: Connection, node_id: str) -> StoredNode | None:
    row = conn.execute(select(nodes).where(nodes.c.id == node_id)).first()
    return _stored(row) if row else None


def nodes_by_ids(conn: Connection, node_ids: Sequence[str]) -> list[StoredNode]:
    if not node_ids:
        return []
    found = {r.id: _stored(r) for r in conn.execute(
        select(nodes).where(among(conn, nodes.c.id, node_ids)))}
    return [found[i] for i in node_ids if i in found]


def all_nodes(conn: Connection, state: NodeState | None = None) -> list[StoredNode]:
    query = select(nodes).order_by(nodes.c.created, nodes.c.id)
    if state is not None:
        query = query.where(nodes.c.state == state.value)
    return [_stored(r) for r in conn.execute(query)]


def node_ids(conn: Connection) -> set[str]:
    return set(conn.execute(select(nodes.c.id)).scalars())


# --- launchers -----------------------------------------------------------------------------

POOL_LOCK = 0x6B67_0002  # "kg", 2: one pool pass at a time across processes (PostgreSQL)


def lock_pool(conn: Connection) -> None:
    """Hold the pool for this transaction: passes of several launchers take turns. SQLite
    write transactions are exclusive already."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": POOL_LOCK})


def beat_launcher(conn: Connection, name: str, providers: Collection[str],
                  now: float) -> None:
    """Say that launcher ``name`` is alive and which providers it serves."""
    found = conn.execute(update(launchers).where(launchers.c.name == name).values(
        providers=sorted(providers), heartbeat=now)).rowcount
    if not found:
        conn.execute(insert(launchers).values(name=name, providers=sorted(providers),
                                              heartbeat=now))


def remove_launcher(conn: Connection, name: str) -> None:
    conn.execute(delete(launchers).where(launchers.c.name == name))


def live_launchers(conn: Connection, now: float, lease: float) -> dict[str, frozenset[str]]:
    """The launchers whose heartbeat is newer than ``lease`` seconds, with their providers."""
    rows = conn.execute(select(launchers).where(launchers.c.heartbeat >= now - lease))
    return {row.name: frozenset(row.providers) for row in rows}


# --- requests ------------------------------------------------------------------------------

def add_request(conn: Connection, labels: Sequence[str], priority: int, requestor: str,
                now: datetime | None = None) -> int:
    now = now or utcnow()
    result = conn.execute(insert(node_requests).values(
        labels=list(labels), priority=priority, state=RequestState.REQUESTED.value,
        requestor=requestor, node_ids=[], failures=0, reason="", created=now, updated=now))
    notify(conn, NODE_REQUESTS)
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_request(conn: Connection, request_id: int, *, state: RequestState | None = None,
                   now: datetime | None = None, **values: Any) -> None:
    if state is not None:
        values["state"] = state.value
    if "node_ids" in values:
        values["node_ids"] = list(values["node_ids"])
    conn.execute(update(node_requests).where(node_requests.c.id == request_id)
                 .values(updated=now or utcnow(), **values))


def get_request(conn: Connection, request_id: int) -> NodeRequest | None:
    row = conn.execute(select(node_requests).where(node_requests.c.id == request_id)).first()
    return _request(row) if row else None


def open_requests(conn: Connection) -> list[NodeRequest]:
    """Requests still waiting for nodes, in the order they are served."""
    rows = conn.execute(select(node_requests)
                        .where(node_requests.c.state == RequestState.REQUESTED.value)
                        .order_by(node_requests.c.priority, node_requests.c.id))
    return [_request(r) for r in rows]


# --- autohold ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Autohold:
    """An autohold request: the next ``remaining`` failing builds that match keep nodes."""

    id: int
    project: str
    job: str
    change_number: int | None
    count: int
    remaining: int
    hold_seconds: int
    reason: str
    created: datetime


@dataclass(frozen=True)
class Hold:
    """A node kept for a failed build until ``expires``; ``ssh`` reaches it."""

    node_id: str
    build_uuid: str
    autohold_id: int | None
    ssh: str
    expires: datetime


def _autohold(row: Row) -> Autohold:  # type: ignore[type-arg]
    return Autohold(row.id, row.project, row.job, row.change_number, row._mapping["count"],
                    row.remaining, row.hold_seconds, row.reason, row.created)


def add_autohold(conn: Connection, *, project: str, job: str, change_number: int | None,
                 count: int, hold_seconds: int, reason: str, now: datetime) -> int:
    result = conn.execute(insert(autohold_requests).values(
        project=project, job=job, change_number=change_number, count=count, remaining=count,
        hold_seconds=hold_seconds, reason=reason, created=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def autoholds(conn: Connection) -> list[Autohold]:
    rows = conn.execute(select(autohold_requests).order_by(autohold_requests.c.id))
    return [_autohold(r) for r in rows]


def delete_autohold(conn: Connection, autohold_id: int) -> bool:
    done = conn.execute(delete(autohold_requests).where(autohold_requests.c.id == autohold_id))
    return bool(done.rowcount)


def claim_autohold(conn: Connection, project: str, job: str,
                   change_number: int | None) -> Autohold | None:
    """The oldest matching request with holds left, its count taken down by one.

    A request without a change matches every change; one with a change only that change.
    """
    query = (select(autohold_requests)
             .where(autohold_requests.c.project == project, autohold_requests.c.job == job,
                    autohold_requests.c.remaining > 0)
             .order_by(autohold_requests.c.id))
    for row in conn.execute(query):
        if row.change_number is not None and row.change_number != change_number:
            continue
        done = conn.execute(update(autohold_requests)
                            .where(autohold_requests.c.id == row.id,
                                   autohold_requests.c.remaining == row.remaining)
                            .values(remaining=row.remaining - 1))
        if done.rowcount:
            return dataclasses.replace(_autohold(row), remaining=row.remaining - 1)
    return None


def add_hold(conn: Connection, hold: Hold, now: datetime) -> None:
    conn.execute(insert(node_holds).values(
        node_id=hold.node_id, build_uuid=hold.build_uuid, autohold_id=hold.autohold_id,
        ssh=hold.ssh, expires=hold.expires, created=now))


def _hold(row: Row) -> Hold:  # type: ignore[type-arg]
    return Hold(row.node_id, row.build_uuid, row.autohold_id, row.ssh, row.expires)


def holds(conn: Connection) -> list[Hold]:
    return [_hold(r) for r in conn.execute(select(node_holds).order_by(node_holds.c.created))]


def holds_of_build(conn: Connection, build_uuid: str) -> list[Hold]:
    rows = conn.execute(select(node_holds).where(node_holds.c.build_uuid == build_uuid)
                        .order_by(node_holds.c.node_id))
    return [_hold(r) for r in rows]
