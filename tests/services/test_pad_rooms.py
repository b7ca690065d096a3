"""Pad rooms against the real store, on SQLite and PostgreSQL: an edit reaches the other
peers only after it is stored, a reader's edit goes nowhere, and someone who loses access to
the pad while it is open is disconnected instead of being sent more of it."""

from __future__ import annotations

import pytest
from pycrdt import Doc, YMessageType, YSyncMessageType, create_update_message

from keepgreen.domain import acl
from keepgreen.domain.account import ADMINISTRATORS, Principal
from keepgreen.services.pads.rooms import POLICY, Refused, Rooms
from tests.services.pad_support import person, site, typed
from tests.support import run_async

__all__ = ["site"]  # the fixture


class Browser:
    """A peer as the room sees one: what it was sent, and how it was closed."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, message: bytes) -> None:
        self.sent.append(message)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def updates(self) -> list[bytes]:
        return [m for m in self.sent
                if m[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE])]


def test_an_edit_is_stored_before_the_others_get_it_and_readers_lose_access_live(
        site) -> None:  # type: ignore[no-untyped-def]
    pads, accounts, projects = site
    admin = person(accounts, "root", ADMINISTRATORS)
    alice, carol = person(accounts, "alice"), person(accounts, "carol")
    accounts.create_group(admin, "leavers", members=(carol.account.username,))
    carol = accounts.principal(carol.account)
    project = projects.create(admin, "org/notes", create_empty_commit=True)
    pad = pads.create(alice, "Weekly meeting", project="org/notes")
    rooms = Rooms(pads, recheck_seconds=0)  # look again before every message
    doc: Doc = Doc()  # type: ignore[type-arg]

    async def scene() -> None:
        writer, reader, visitor = Browser(), Browser(), Browser()
        room = await rooms.join(pad, alice, writer)
        await rooms.join(pad, carol, reader)
        await rooms.join(pad, Principal.anonymous(), visitor)
        stored_when_relayed: list[str] = []
        original = reader.send

        async def send(message: bytes) -> None:
            stored_when_relayed.append(pads.text(alice, pad.id))
            await original(message)

        reader.send = send  # type: ignore[method-assign]
        await rooms.receive(room, writer, create_update_message(typed(doc, "Agenda. ")))
        assert reader.closed is None and len(reader.updates()) == 1
        assert stored_when_relayed == ["Agenda. "]

        # An anonymous visitor reads along; their edit is neither stored nor relayed.
        theirs: Doc = Doc()  # type: ignore[type-arg]
        await rooms.receive(room, visitor, create_update_message(typed(theirs, "spam")))
        assert pads.text(alice, pad.id) == "Agenda. " and writer.updates() == []
        assert len(visitor.updates()) == 1

        # Carol's group loses read access; the next edit closes her connection unsent.
        projects.change_access(admin, project, [
            acl.Rule("refs/*", acl.READ, "leavers", action="block")], [])
        await rooms.receive(room, writer, create_update_message(typed(doc, "Secret item.")))
        assert reader.closed is not None and reader.closed[0] == POLICY
        assert len(reader.updates()) == 1
        assert carol not in [m.who for m in room.peers.values()]
        assert pads.text(alice, pad.id) == "Agenda. Secret item."
        assert visitor.closed is None and len(visitor.updates()) == 2

    run_async(scene())


def test_a_writer_who_loses_access_is_refused_and_the_pad_keeps_its_text(site) -> None:  # type: ignore[no-untyped-def]
    pads, accounts, projects = site
    admin = person(accounts, "root", ADMINISTRATORS)
    bob = person(accounts, "bob")
    accounts.create_group(admin, "leavers", members=(bob.account.username,))
    bob = accounts.principal(bob.account)
    project = projects.create(admin, "org/plans", create_empty_commit=True)
    pad = pads.create(bob, "Plans", project="org/plans")
    rooms = Rooms(pads, recheck_seconds=0)
    doc: Doc = Doc()  # type: ignore[type-arg]

    async def scene() -> None:
        peer = Browser()
        room = await rooms.join(pad, bob, peer)
        await rooms.receive(room, peer, create_update_message(typed(doc, "kept")))
        projects.change_access(admin, project, [
            acl.Rule("refs/*", acl.READ, "leavers", action="block")], [])
        with pytest.raises(Refused) as refused:
            await rooms.receive(room, peer, create_update_message(typed(doc, " lost")))
        assert refused.value.code == POLICY

    run_async(scene())
    assert pads.text(admin, pad.id) == "kept"
