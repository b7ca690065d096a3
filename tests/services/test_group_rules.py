"""Group settings and included groups on a site without a ``config`` project, where the
group service writes the store directly: membership through included groups (cycles too),
renames that keep the group's id, and who sees and changes a group. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keepgreen.domain.account import ADMINISTRATORS, Principal
from keepgreen.services.errors import Conflict, Forbidden, NotFound, Unprocessable
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.groups import GroupService
from keepgreen.store.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def accounts(db: Database) -> AccountService:
    service = AccountService(db)
    service.ensure_builtin_groups()
    return service


def person(accounts: AccountService, name: str, *groups: str) -> Principal:
    return accounts.principal(accounts.create(None, NewAccount(name, groups=groups)))


def test_included_groups_make_members_transitively_with_cycles(accounts: AccountService
                                                               ) -> None:
    admin = person(accounts, "root", ADMINISTRATORS)
    groups = GroupService(accounts)
    for name in ("a", "b", "c"):
        accounts.create_group(admin, name)
    eve = person(accounts, "eve", "c")
    assert {"a", "b"}.isdisjoint(accounts.principal(eve.account).groups)  # type: ignore[arg-type]
    groups.include(admin, "a", ["b"])
    groups.include(admin, "b", ["c"])
    groups.include(admin, "c", ["a"])  # a cycle: a > b > c > a
    assert {"a", "b", "c"} <= accounts.principal(eve.account).groups  # type: ignore[arg-type]
    assert [g.name for g in groups.included(admin, "a")] == ["b"]
    groups.exclude(admin, "b", ["c"])
    assert accounts.principal(eve.account).groups & {"a", "b", "c"} == {"c"}  # type: ignore[arg-type]


def test_rename_keeps_the_id_and_follows_references(accounts: AccountService) -> None:
    admin = person(accounts, "root", ADMINISTRATORS)
    groups = GroupService(accounts)
    team = accounts.create_group(admin, "team")
    accounts.create_group(admin, "outer", owner="team")
    groups.include(admin, "outer", ["team"])
    assert groups.rename(admin, "team", "crew") == "crew"
    assert groups.find(admin, "crew").id == team.id
    assert groups.find(admin, str(team.id)).name == "crew"
    assert groups.find(admin, "outer").owner == "crew"
    assert [g.name for g in groups.included(admin, "outer")] == ["crew"]
    with pytest.raises(Conflict):
        groups.rename(admin, "crew", "outer")
    with pytest.raises(NotFound):
        groups.find(admin, "team")


def test_hidden_groups_and_owners(accounts: AccountService) -> None:
    admin = person(accounts, "root", ADMINISTRATORS)
    groups = GroupService(accounts)
    accounts.create_group(admin, "owners")
    accounts.create_group(admin, "secret", owner="owners")
    alice = person(accounts, "alice", "owners")
    bob = person(accounts, "bob")
    groups.set_visible_to_all(alice, "secret", False)
    assert not groups.find(alice, "secret").visible_to_all
    with pytest.raises(NotFound):
        groups.find(bob, "secret")
    with pytest.raises(NotFound):
        groups.set_description(bob, "secret", "mine")
    with pytest.raises(NotFound):
        accounts.add_member(bob, "secret", "bob")
    assert "secret" not in {g.name for g in groups.visible(bob)}
    assert "secret" not in {g.name for g in groups.visible(Principal.anonymous())}
    groups.set_visible_to_all(alice, "secret", True)
    with pytest.raises(Forbidden):
        groups.set_description(bob, "secret", "mine")
    with pytest.raises(Unprocessable):
        groups.add_members(alice, "secret", ["nobody"])
    assert [a.username for a in groups.add_members(alice, "secret", ["bob"])] == ["bob"]
    assert groups.member(alice, "secret", "bob").username == "bob"
