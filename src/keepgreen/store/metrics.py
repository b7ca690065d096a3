"""Counts for the metrics endpoint, read from the store at scrape time."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from keepgreen.store.schema import builds, node_requests, nodes, pipeline_items


def builds_by_result(conn: Connection) -> dict[tuple[str, str], int]:
    """Finished builds by (pipeline, result); running ones are counted as ``RUNNING``."""
    rows = conn.execute(select(builds.c.pipeline, builds.c.result, func.count())
                        .group_by(builds.c.pipeline, builds.c.result))
    return {(r[0], r[1] or "RUNNING"): r[2] for r in rows}


def nodes_by_state(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(select(nodes.c.provider, nodes.c.state, func.count())
                        .group_by(nodes.c.provider, nodes.c.state))
    return {(r[0], r[1]): r[2] for r in rows}


def node_requests_by_state(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(node_requests.c.state, func.count())
                        .group_by(node_requests.c.state))
    return {r[0]: r[1] for r in rows}


def queue_lengths(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(pipeline_items.c.pipeline, func.count())
                        .group_by(pipeline_items.c.pipeline))
    return {r[0]: r[1] for r in rows}
