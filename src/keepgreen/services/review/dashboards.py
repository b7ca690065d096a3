"""Project dashboards: who may read and change them, and the changes themselves.

Reading a project's dashboards needs read access to the project (otherwise it is not
found); creating, changing and deleting them, and choosing the default one, needs the
``owner`` permission on the project.
"""

from __future__ import annotations

from dataclasses import replace

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.dashboards import (
    DEFAULT_ID,
    Dashboard,
    DashboardProblem,
    check,
    split_id,
)
from keepgreen.domain.project import Project
from keepgreen.services.errors import BadRequest, Forbidden, NotFound
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import dashboards as store
from keepgreen.store.db import Database


def parse_id(text: str) -> tuple[str, str]:
    try:
        return split_id(text)
    except DashboardProblem as problem:
        raise BadRequest(str(problem)) from None


class DashboardService:
    def __init__(self, db: Database, projects: ProjectService) -> None:
        self.db = db
        self.projects = projects

    def owned(self, caller: Principal, name: str) -> Project:
        """The project if ``caller`` may change its dashboards: not found when they may not
        read it, 403 when they may read but not change it."""
        project = self.projects.get(name, caller)
        if not self.projects.can(caller, project, acl.OWNER, "refs/*"):
            raise Forbidden(f"changing the dashboards of {project.name} needs the owner "
                            "permission")
        return project

    def of_project(self, caller: Principal, name: str) -> list[Dashboard]:
        project = self.projects.get(name, caller)
        with self.db.read() as conn:
            return store.dashboards_of(conn, project.name)

    def get(self, caller: Principal, name: str, dashboard_id: str) -> Dashboard:
        project = self.projects.get(name, caller)
        return self._find(project, dashboard_id)

    def _find(self, project: Project, dashboard_id: str) -> Dashboard:
        with self.db.read() as conn:
            if dashboard_id == DEFAULT_ID:
                found = store.default_dashboard(conn, project.name)
                if found is None:
                    raise NotFound(f"project {project.name!r} has no default dashboard")
                return found
            ref, path = parse_id(dashboard_id)
            found = store.dashboard(conn, project.name, ref, path)
        if found is None:
            raise NotFound(f"dashboard {dashboard_id!r} not found in {project.name}")
        return found

    def save(self, project: Project, dashboard: Dashboard) -> tuple[Dashboard, bool]:
        """Create or replace ``dashboard`` of an ``owned`` project; the saved one, and
        whether it is new."""
        dashboard = replace(dashboard, project=project.name)
        try:
            check(dashboard)
        except DashboardProblem as problem:
            raise BadRequest(str(problem)) from None
        with self.db.write() as conn:
            existed = store.dashboard(conn, project.name, dashboard.ref, dashboard.path)
            store.save(conn, dashboard)
            saved = store.dashboard(conn, project.name, dashboard.ref, dashboard.path)
        assert saved is not None
        return saved, existed is None

    def set_default(self, project: Project, dashboard_id: str | None) -> Dashboard | None:
        """Make ``dashboard_id`` the default of an ``owned`` project (None: it has none)."""
        if dashboard_id is None:
            with self.db.write() as conn:
                store.set_default(conn, project.name, None, None)
            return None
        if dashboard_id == DEFAULT_ID:
            raise BadRequest("id must name a dashboard as <ref>:<path>, not 'default'")
        ref, path = parse_id(dashboard_id)
        with self.db.write() as conn:
            if store.dashboard(conn, project.name, ref, path) is None:
                raise BadRequest(f"dashboard {dashboard_id!r} does not exist in "
                                 f"{project.name}; create it first with PUT on "
                                 f"dashboards/{ref}:{path}")
            store.set_default(conn, project.name, ref, path)
            found = store.dashboard(conn, project.name, ref, path)
        assert found is not None
        return found

    def delete(self, project: Project, dashboard_id: str) -> None:
        """Delete a dashboard of an ``owned`` project; ``default`` only stops the project
        having a default."""
        with self.db.write() as conn:
            if dashboard_id == DEFAULT_ID:
                if store.default_dashboard(conn, project.name) is None:
                    raise NotFound(f"project {project.name!r} has no default dashboard")
                store.set_default(conn, project.name, None, None)
                return
            ref, path = parse_id(dashboard_id)
            if not store.remove(conn, project.name, ref, path):
                raise NotFound(f"dashboard {dashboard_id!r} not found in {project.name}")
