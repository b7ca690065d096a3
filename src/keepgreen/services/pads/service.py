"""Pads: creating and listing them, who may read and write which, their text, history and
the changes they mention.

A pad linked to a change is read by whoever may see that change (private changes included);
one linked to a project by whoever may read the project; a stand-alone pad by every
signed-in user, and by anonymous visitors when the site lets them read. Writing needs a
signed-in account that may read the pad.
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import pad as rules
from keepgreen.domain.account import Principal
from keepgreen.domain.pad import Pad
from keepgreen.services.errors import (
    BadRequest,
    Forbidden,
    HiddenFromAnonymous,
    NotFound,
    Unauthorized,
)
from keepgreen.services.pads import documents
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as change_store
from keepgreen.store import pads as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database


class PadFull(Forbidden):
    """The pad holds as much as a pad may (``MAX_PAD_BYTES``)."""


class PadService:
    def __init__(self, db: Database, projects: ProjectService, changes: ChangeService,
                 accounts: AccountService, anonymous_read: bool) -> None:
        self.db = db
        self.projects = projects
        self.changes = changes
        self.accounts = accounts
        self.anonymous_read = anonymous_read

    # Who may do what.

    def _readable(self, who: Principal, pad: Pad) -> bool:
        if pad.change is not None:
            with self.db.read() as conn:
                change = change_store.change_by_number(conn, pad.change)
            return change is not None and self.changes.can_see(change, who)
        if pad.project is not None:
            try:
                self.projects.get(pad.project, who)
            except (NotFound, Unauthorized):
                return False
            return True
        return who.is_admin or not who.is_anonymous or self.anonymous_read

    def get(self, who: Principal, pad_id: int) -> Pad:
        """The pad if ``who`` may read it; not found otherwise (401 to anonymous callers
        when signing in might help, which pages show as not found)."""
        with self.db.read() as conn:
            pad = store.get(conn, pad_id)
        if pad is None or not self._readable(who, pad):
            if pad is not None and who.is_anonymous:
                raise HiddenFromAnonymous(f"pad {pad_id} needs you to sign in",
                                          f"pad {pad_id} not found")
            raise NotFound(f"pad {pad_id} not found")
        return pad

    def may_write(self, who: Principal, pad: Pad) -> bool:
        """Whether ``who``, who may read ``pad``, may edit it: any signed-in account."""
        return not who.is_anonymous

    def create(self, who: Principal, title: str, project: str | None = None,
               change: int | None = None) -> Pad:
        if who.is_anonymous or who.account is None:
            raise Unauthorized("sign in to start a pad")
        title = title.strip()
        problem = rules.title_problem(title)
        if problem is not None:
            raise BadRequest(problem)
        if change is not None:
            found = self.changes.resolve(str(change), who)
            if project is not None and project != found.project:
                raise BadRequest(f"change {change} is in project {found.project!r}, "
                                 f"not {project!r}")
            project = found.project
        elif project is not None:
            project = self.projects.get(project, who).name
        with self.db.write() as conn:
            return store.create(conn, title, project, change, who.account.id, utcnow())

    def listing(self, who: Principal, project: str | None = None,
                change: int | None = None) -> list[Pad]:
        readable = None if who.is_admin else [p.name for p in self.projects.visible(who)]
        with self.db.read() as conn:
            found = store.listing(conn, readable, change=change, project=project)
        return [p for p in found if p.change is None and p.project is not None
                or self._readable(who, p)]

    # The text.

    def stored_updates(self, pad: Pad) -> list[bytes]:
        """Every update of ``pad``, oldest first; the caller has checked access."""
        with self.db.read() as conn:
            return [bytes(r.data) for r in store.updates(conn, pad.id)]

    def record(self, pad: Pad, who: Principal, update: bytes) -> None:
        """Keep one update ``who`` made to ``pad``; refuses (``PadFull``) an update that
        would take the pad past ``MAX_PAD_BYTES``."""
        if who.account is None or not self.may_write(who, pad):
            raise Forbidden(f"you may not edit pad {pad.id}")
        with self.db.write() as conn:
            if store.size(conn, pad.id) + len(update) > rules.MAX_PAD_BYTES:
                raise PadFull(f"pad {pad.id} is full ({rules.MAX_PAD_BYTES} bytes of edits); "
                              "start another pad")
            store.append(conn, pad.id, who.account.id, update, utcnow())

    def text(self, who: Principal, pad_id: int) -> str:
        pad = self.get(who, pad_id)
        return documents.text_of(documents.document(self.stored_updates(pad)))

    def history(self, who: Principal, pad_id: int) -> list[dict[str, Any]]:
        """Who wrote what when, newest first."""
        pad = self.get(who, pad_id)
        with self.db.read() as conn:
            rows = [(r.account_id, r.created, bytes(r.data)) for r in store.updates(conn, pad.id)]
        edits, _ = documents.edits(rows)
        entries = rules.history(edits)
        names = self.accounts.accounts_by_ids({e.author_id for e in entries})
        return [{"author": names[e.author_id].username if e.author_id in names else None,
                 "first": e.first, "last": e.last, "inserted": e.inserted,
                 "deleted": e.deleted, "edits": e.edits} for e in reversed(entries)]

    def mentioned(self, who: Principal, text: str) -> list[dict[str, Any]]:
        """The changes ``text`` mentions that ``who`` may see, with their state."""
        numbers = rules.mentions(text)
        with self.db.read() as conn:
            found = change_store.changes_by_numbers(conn, numbers)
        order = {n: i for i, n in enumerate(numbers)}
        return [{"number": c.number, "project": c.project, "subject": c.subject,
                 "status": c.status}
                for c in sorted(found, key=lambda c: order[c.number])
                if self.changes.can_see(c, who)]

    def describe(self, who: Principal, pad: Pad) -> dict[str, Any]:
        names = self.accounts.accounts_by_ids({pad.created_by})
        owner = names.get(pad.created_by)
        return {"id": pad.id, "title": pad.title, "kind": pad.kind, "project": pad.project,
                "change": pad.change, "created": pad.created.isoformat() + "Z",
                "created_by": owner.username if owner else None,
                "writable": self.may_write(who, pad)}
