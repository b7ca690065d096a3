"""Pads against the real store, on SQLite and PostgreSQL: who may read a pad, its text and
history from stored CRDT updates, and the size limit that keeps a pad from growing without
end."""

from __future__ import annotations

import pytest
from pycrdt import Doc

from keepgreen.domain import acl
from keepgreen.domain.account import ADMINISTRATORS, Principal
from keepgreen.services.errors import BadRequest, HiddenFromAnonymous, NotFound, Unauthorized
from keepgreen.services.pads import service as pad_service
from keepgreen.services.pads.service import PadFull
from tests.services.pad_support import person, site, typed

__all__ = ["site"]  # the fixture


def test_text_and_history_come_from_the_stored_updates(site) -> None:
    pads, accounts, _ = site
    alice, bob = person(accounts, "alice"), person(accounts, "bob")
    pad = pads.create(alice, "  Release plan  ")
    assert pad.title == "Release plan" and pad.kind == "standalone"
    doc: Doc = Doc()  # type: ignore[type-arg]
    pads.record(pad, alice, typed(doc, "Ship change 3. "))
    pads.record(pad, bob, typed(doc, "Agreed."))
    assert pads.text(alice, pad.id) == "Ship change 3. Agreed."
    assert [(h["author"], h["inserted"]) for h in pads.history(bob, pad.id)] == [
        ("bob", 7), ("alice", 15)]


def test_anonymous_callers_neither_read_nor_write_a_stand_alone_pad(site) -> None:
    pads, accounts, _ = site
    alice = person(accounts, "alice")
    pad = pads.create(alice, "Notes")
    anonymous = Principal.anonymous()
    with pytest.raises(HiddenFromAnonymous):
        pads.get(anonymous, pad.id)
    assert pads.listing(anonymous) == []
    with pytest.raises(Unauthorized):
        pads.create(anonymous, "Mine")
    assert not pads.may_write(anonymous, pad)


def test_a_project_pad_is_read_by_the_project_readers_only(site) -> None:
    pads, accounts, projects = site
    admin = person(accounts, "root", ADMINISTRATORS)
    alice, bob = person(accounts, "alice"), person(accounts, "bob")
    accounts.create_group(admin, "outsiders", members=(bob.account.username,))
    bob = accounts.principal(bob.account)
    project = projects.create(admin, "org/secret", create_empty_commit=True)
    projects.change_access(admin, project, [
        acl.Rule("refs/*", acl.READ, "outsiders", action="block")], [])
    pad = pads.create(alice, "Team meeting", project="org/secret")
    assert pad.kind == "project"
    assert pads.get(alice, pad.id).project == "org/secret"
    with pytest.raises(NotFound):
        pads.get(bob, pad.id)
    assert [p.id for p in pads.listing(alice)] == [pad.id]
    assert pads.listing(bob) == []
    with pytest.raises(NotFound):
        pads.create(bob, "Sneaky", project="org/secret")


def test_bad_input_is_refused_and_nothing_is_created(site) -> None:
    pads, accounts, _ = site
    alice = person(accounts, "alice")
    with pytest.raises(BadRequest, match="needs a title"):
        pads.create(alice, "  ")
    with pytest.raises(NotFound):
        pads.create(alice, "For a change", change=12345)
    with pytest.raises(NotFound):
        pads.create(alice, "For a project", project="no/such")
    assert pads.listing(alice) == []
    with pytest.raises(NotFound):
        pads.get(alice, 99)


def test_a_full_pad_refuses_more_and_keeps_what_it_has(site, monkeypatch) -> None:
    pads, accounts, _ = site
    alice = person(accounts, "alice")
    pad = pads.create(alice, "Big")
    monkeypatch.setattr(pad_service.rules, "MAX_PAD_BYTES", 200)
    doc: Doc = Doc()  # type: ignore[type-arg]
    pads.record(pad, alice, typed(doc, "a" * 100))
    with pytest.raises(PadFull, match="is full"):
        pads.record(pad, alice, typed(doc, "b" * 150))
    assert pads.text(alice, pad.id) == "a" * 100
