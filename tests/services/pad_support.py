"""A pad service on a fresh real store (SQLite or PostgreSQL), and people to use it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from keepgreen.domain.account import Principal
from keepgreen.git.repos import Repos
from keepgreen.services.pads.service import PadService
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store.db import Database


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[tuple[PadService, AccountService,
                                                              ProjectService]]:
    db = Database(database_url)
    db.migrate()
    accounts = AccountService(db)
    accounts.ensure_builtin_groups()
    projects = ProjectService(db, Repos(tmp_path / "git"), anonymous_read=True)
    yield (PadService(db, projects, ChangeService(db, projects), accounts, False), accounts,
           projects)
    db.dispose()


def person(accounts: AccountService, name: str, *groups: str) -> Principal:
    return accounts.principal(accounts.create(None, NewAccount(name, name.title(), None, None,
                                                               groups)))


def typed(doc: Doc, text: str) -> bytes:  # type: ignore[type-arg]
    """The update that appending ``text`` to the doc's shared text makes."""
    before = doc.get_state()
    shared = doc.get("text", type=Text)
    shared += text
    return doc.get_update(before)


