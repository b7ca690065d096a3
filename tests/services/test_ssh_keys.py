"""SSH keys in the real store, on SQLite and PostgreSQL: numbered per account, matched on
sign-in only for their own active account, and changed only by their owner or an
administrator."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.account import ADMINISTRATORS, Principal
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.ssh_keys import SshKeyService
from keepgreen.store.db import Database


@pytest.fixture
def keys(database_url: str) -> Iterator[tuple[SshKeyService, AccountService]]:
    db = Database(database_url)
    db.migrate()
    accounts = AccountService(db)
    accounts.ensure_builtin_groups()
    yield SshKeyService(db, accounts), accounts
    db.dispose()


def person(accounts: AccountService, name: str, *groups: str) -> Principal:
    return accounts.principal(accounts.create(None, NewAccount(name, name.title(), None, None,
                                                               groups)))


def public_key(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f",
                    str(path)], check=True)
    return path.with_suffix(".pub").read_text()


def blob(line: str) -> bytes:
    return base64.b64decode(line.split()[1])


def test_keys_are_numbered_per_account_and_sign_their_owner_in(keys, tmp_path: Path) -> None:
    service, accounts = keys
    alice, bob = person(accounts, "alice"), person(accounts, "bob")
    laptop, desktop = public_key(tmp_path, "laptop"), public_key(tmp_path, "desktop")
    assert service.add(alice, "self", laptop).seq == 1
    assert service.add(alice, "self", desktop).seq == 2
    assert service.add(bob, "self", public_key(tmp_path, "bobs")).seq == 1
    assert [k.key.comment for k in service.list(alice, "self")] == ["laptop", "desktop"]

    signed_in = service.sign_in("alice", blob(desktop))
    assert signed_in is not None and signed_in.account == alice.account
    assert service.sign_in("bob", blob(desktop)) is None  # alice's key, bob's name
    assert service.sign_in("nobody", blob(desktop)) is None

    service.delete(alice, "self", 1)
    assert service.sign_in("alice", blob(laptop)) is None
    # A number is not given out again while a higher one is in use.
    assert service.add(alice, "self", laptop).seq == 3
    with pytest.raises(NotFound):
        service.delete(alice, "self", 1)


def test_only_the_owner_or_an_administrator_sees_or_changes_keys(keys, tmp_path) -> None:
    service, accounts = keys
    alice, bob = person(accounts, "alice"), person(accounts, "bob")
    admin = person(accounts, "root", ADMINISTRATORS)
    service.add(alice, "self", public_key(tmp_path, "laptop"))
    with pytest.raises(Forbidden):
        service.list(bob, "alice")
    with pytest.raises(Forbidden):
        service.add(bob, "alice", public_key(tmp_path, "sneaky"))
    with pytest.raises(Forbidden):
        service.delete(bob, "alice", 1)
    with pytest.raises(Unauthorized):
        service.list(Principal.anonymous(), "alice")
    assert [k.seq for k in service.list(admin, "alice")] == [1]
    service.delete(admin, "alice", 1)
    assert service.list(alice, "self") == []


def test_bad_or_duplicate_keys_leave_nothing_stored(keys, tmp_path: Path) -> None:
    service, accounts = keys
    alice = person(accounts, "alice")
    line = public_key(tmp_path, "laptop")
    with pytest.raises(BadRequest, match="cut short"):
        service.add(alice, "self", line.split()[0] + " " + line.split()[1][:-8])
    service.add(alice, "self", line)
    with pytest.raises(Conflict, match="already added"):
        service.add(alice, "self", line)
    assert len(service.list(alice, "self")) == 1
