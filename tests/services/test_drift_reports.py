"""The drift page's data: the newest report per project, branch and job, only for projects
the viewer may read, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from keepgreen.domain import events as domain_events
from keepgreen.domain.account import Principal
from keepgreen.services.errors import HiddenFromAnonymous, NotFound
from keepgreen.store import events as event_store
from keepgreen.store.db import Database
from keepgreen.web.ui.drift import latest_reports


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


class Projects:
    """Who may read what: org/secret-infra is hidden from everyone here."""

    def get(self, name: str, who: object) -> object:
        if name == "org/secret-infra":
            if isinstance(who, Principal) and who.is_anonymous:
                raise HiddenFromAnonymous("sign in", "not found")
            raise NotFound("no")
        return SimpleNamespace(name=name)


def record(db: Database, project: str, job: str, result: str, changes: str, at: int) -> None:
    when = datetime.fromtimestamp(at, UTC)
    with db.write() as conn:
        event_store.record(conn, "drift-report", domain_events.drift_report(
            project, "main", job, f"b{at}", result, changes, when), when, project=project)


def test_newest_report_per_job_drifted_first_and_hidden_projects_left_out(db) -> None:
    record(db, "org/infra", "deploy-web", "SUCCESS", "web1: motd\n    -a\n    +b", 100)
    record(db, "org/infra", "deploy-web", "SUCCESS", "", 200)  # fixed since: in sync
    record(db, "org/infra", "deploy-db", "SUCCESS", "db1: conf\n    -x\n    +y", 150)
    record(db, "org/infra", "deploy-dns", "NODE_FAILURE", "", 160)
    record(db, "org/secret-infra", "deploy", "SUCCESS", "h: t\n    -s\n    +t", 170)

    shown = latest_reports(SimpleNamespace(db=db, projects=Projects()), Principal.anonymous())

    assert [(r["job"], r["state"], r["hosts"]) for r in shown] == [
        ("deploy-db", "drifted", ["db1"]), ("deploy-dns", "failed", []),
        ("deploy-web", "in-sync", [])]
    assert shown[0]["checked"] == "1970-01-01 00:02:30 UTC"
