"""Project key pairs in the real store, on SQLite and PostgreSQL: made once, kept encrypted,
hidden with their project, replaced only by an administrator."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from keepgreen.crypto import oaep
from keepgreen.domain.account import ADMINISTRATORS, ANONYMOUS_USERS, Principal
from keepgreen.git.repos import Repos
from keepgreen.services.errors import Forbidden, NotFound, Unauthorized
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.project_keys import ProjectKeyService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store.db import Database

SITE_KEY = b"site-key-for-tests"


@pytest.fixture
def keys(database_url: str, tmp_path: Path) -> Iterator[tuple[ProjectKeyService, Principal]]:
    db = Database(database_url)
    db.migrate()
    accounts = AccountService(db)
    accounts.ensure_builtin_groups()
    admin = accounts.principal(accounts.create(None, NewAccount(
        "admin", "Admin", None, "pw", (ADMINISTRATORS,))))
    projects = ProjectService(db, Repos(tmp_path / "git"), anonymous_read=True)
    projects.create(admin, "org/app")
    projects.create(admin, "org/closed", anonymous_read=False)
    yield ProjectKeyService(db, projects, SITE_KEY, bits=2048), admin
    db.dispose()


ANONYMOUS = Principal(None, frozenset({ANONYMOUS_USERS}))


def test_a_key_is_made_once_even_when_asked_for_at_once(keys) -> None:
    service, _admin = keys
    with ThreadPoolExecutor(4) as pool:
        answers = set(pool.map(lambda _: service.public_key(ANONYMOUS, "org/app"), range(4)))
    assert len(answers) == 1
    chunks = oaep.encrypt(answers.pop(), b"value")
    assert oaep.decrypt(service.private_key("org/app"), chunks) == b"value"


def test_a_hidden_or_missing_project_has_no_key_to_show(keys) -> None:
    service, admin = keys
    with pytest.raises((NotFound, Unauthorized)):
        service.public_key(ANONYMOUS, "org/closed")
    with pytest.raises(NotFound):
        service.public_key(admin, "org/none")
    assert b"PUBLIC KEY" in service.public_key(admin, "org/closed")


def test_only_an_administrator_rotates_and_old_secrets_stop_opening(keys) -> None:
    service, admin = keys
    old = oaep.encrypt(service.public_key(admin, "org/app"), b"old")
    with pytest.raises(Forbidden):
        service.rotate(ANONYMOUS, "org/app")
    new_public = service.rotate(admin, "org/app")
    assert service.public_key(ANONYMOUS, "org/app") == new_public
    with pytest.raises(oaep.SecretError):
        oaep.decrypt(service.private_key("org/app"), old)
