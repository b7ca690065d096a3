"""The event log as one account may follow it (``gerrit stream-events``): only events of
projects, branches and changes that account may read, in the order they happened."""

from __future__ import annotations

from typing import Any

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as change_store
from keepgreen.store import events as event_store
from keepgreen.store.db import Database

Event = tuple[int, str, dict[str, Any]]


class EventFeed:
    def __init__(self, db: Database, projects: ProjectService, changes: ChangeService) -> None:
        self.db = db
        self.projects = projects
        self.changes = changes

    def last_id(self) -> int:
        """The id of the newest event: a listener starting now sees what comes after it."""
        with self.db.read() as conn:
            return event_store.newest_id(conn)

    def since(self, who: Principal, after: int, limit: int = 200) -> tuple[list[Event], int]:
        """The events after id ``after`` that ``who`` may see, and the id to continue from
        (past events left out as well, so a listener never reads them twice)."""
        with self.db.read() as conn:
            rows = event_store.since(conn, after, limit)
        if not rows:
            return [], after
        cursor = rows[-1][0]
        if who.is_admin:
            return rows, cursor
        readable, private_readers = self.projects.change_readers(who)
        numbers = sorted({n for _, _, payload in rows if (n := _change_number(payload))})
        with self.db.read() as conn:
            found = {c.number: c for c in change_store.changes_by_numbers(conn, numbers)}
            private = [n for n, c in found.items() if c.private]
            people = change_store.people_of(conn, private) if private else {}
        rules: dict[str, list[acl.Rule]] = {}
        shown = []
        for row in rows:
            project = _project(row[2])
            if project is not None and project not in readable:
                continue
            number = _change_number(row[2])
            if number is not None:
                change = found.get(number)
                if change is None:
                    # A deleted change: its last event says whether it was private.
                    if row[1] != "change-deleted" or row[2]["change"].get("private"):
                        continue
                elif not _may_see(change, who, private_readers, people.get(number, [])):
                    continue
            ref = (row[2].get("refUpdate") or {}).get("refName")
            if project is not None and ref and not self._may_read_ref(who, project, ref,
                                                                      rules):
                continue
            shown.append(row)
        return shown, cursor

    def _may_read_ref(self, who: Principal, name: str, ref: str,
                      rules: dict[str, list[acl.Rule]]) -> bool:
        if name not in rules:
            project = self.projects.exists(name)
            rules[name] = self.projects.rules(project) if project is not None else []
        if ref.startswith("refs/changes/"):
            return True  # the change's own visibility was checked
        return bool(acl.check(rules[name], who, acl.READ, ref))


def _project(payload: dict[str, Any]) -> str | None:
    name = (payload.get("project") or payload.get("projectName")
            or (payload.get("refUpdate") or {}).get("project"))
    if isinstance(name, dict):  # some events name the project as {"name": ...}
        name = name.get("name")
    return name if isinstance(name, str) else None


def _change_number(payload: dict[str, Any]) -> int | None:
    number = (payload.get("change") or {}).get("number")
    return number if isinstance(number, int) else None


def _may_see(change: Change, who: Principal, private_readers: list[str],
             people: list[tuple[int, str]]) -> bool:
    if not change.private or change.project in private_readers:
        return True
    if who.account is None:
        return False
    return change.owner_id == who.account.id or any(a == who.account.id for a, _ in people)
