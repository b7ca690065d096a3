"""Projects in the store."""

from __future__ import annotations

from sqlalchemy import Connection, Row, insert, select, update

from keepgreen.domain.project import Project
from keepgreen.store.clock import utcnow
from keepgreen.store.schema import projects


def _project(row: Row) -> Project:  # type: ignore[type-arg]
    return Project(row.name, row.description, row.head, row.anonymous_read, row.state,
                   row.submit_type, row.required_approvals)


def add_project(conn: Connection, project: Project) -> None:
    conn.execute(insert(projects).values(
        name=project.name, description=project.description, head=project.head,
        anonymous_read=project.anonymous_read, state=project.state, created=utcnow(),
        submit_type=project.submit_type, required_approvals=project.required_approvals))


def update_project(conn: Connection, name: str, **values: object) -> None:
    conn.execute(update(projects).where(projects.c.name == name).values(**values))


def project_by_name(conn: Connection, name: str) -> Project | None:
    row = conn.execute(select(projects).where(projects.c.name == name)).first()
    return _project(row) if row else None


def projects_by_names(conn: Connection, names: list[str]) -> list[Project]:
    if not names:
        return []
    return [_project(r) for r in conn.execute(select(projects)
                                              .where(projects.c.name.in_(names)))]


def all_projects(conn: Connection) -> list[Project]:
    return [_project(r) for r in conn.execute(select(projects).order_by(projects.c.name))]
