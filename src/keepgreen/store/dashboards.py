"""Project dashboards in the store."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from keepgreen.domain.dashboards import Dashboard, Section
from keepgreen.store.clock import utcnow
from keepgreen.store.schema import project_dashboards as table


def _dashboard(row: Any) -> Dashboard:
    sections = tuple(Section(str(s.get("name", "")), str(s.get("query", "")))
                     for s in (row.sections or []) if isinstance(s, dict))
    return Dashboard(row.project, row.ref, row.path, row.title, row.description, row.foreach,
                     sections, bool(row.is_default))


def dashboards_of(conn: Connection, project: str) -> list[Dashboard]:
    rows = conn.execute(select(table).where(table.c.project == project)
                        .order_by(table.c.ref, table.c.path)).all()
    return [_dashboard(row) for row in rows]


def dashboard(conn: Connection, project: str, ref: str, path: str) -> Dashboard | None:
    row = conn.execute(select(table).where(table.c.project == project, table.c.ref == ref,
                                           table.c.path == path)).first()
    return _dashboard(row) if row is not None else None


def default_dashboard(conn: Connection, project: str) -> Dashboard | None:
    row = conn.execute(select(table).where(table.c.project == project,
                                           table.c.is_default.is_(True))
                       .order_by(table.c.ref, table.c.path)).first()
    return _dashboard(row) if row is not None else None


def save(conn: Connection, dashboard: Dashboard) -> None:
    """Create or replace the dashboard (keeping whether it is the project's default)."""
    values = {"title": dashboard.title, "description": dashboard.description,
              "foreach": dashboard.foreach, "updated": utcnow(),
              "sections": [{"name": s.name, "query": s.query} for s in dashboard.sections]}
    key = (table.c.project == dashboard.project, table.c.ref == dashboard.ref,
           table.c.path == dashboard.path)
    if conn.execute(update(table).where(*key).values(**values)).rowcount:
        return
    try:
        with conn.begin_nested():
            conn.execute(insert(table).values(project=dashboard.project, ref=dashboard.ref,
                                              path=dashboard.path, is_default=False, **values))
    except IntegrityError:  # made meanwhile by a concurrent call: this one replaces it
        conn.execute(update(table).where(*key).values(**values))


def remove(conn: Connection, project: str, ref: str, path: str) -> bool:
    result = conn.execute(delete(table).where(table.c.project == project, table.c.ref == ref,
                                              table.c.path == path))
    return bool(result.rowcount)


def set_default(conn: Connection, project: str, ref: str | None, path: str | None) -> None:
    """Make ``ref:path`` the project's only default dashboard (None: no default)."""
    conn.execute(update(table).where(table.c.project == project, table.c.is_default.is_(True))
                 .values(is_default=False))
    if ref is not None and path is not None:
        conn.execute(update(table).where(table.c.project == project, table.c.ref == ref,
                                         table.c.path == path).values(is_default=True))
