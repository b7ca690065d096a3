"""Rooms: the browsers that have one pad open, kept in step over the Yjs sync protocol.

A room holds the pad's document (loaded from its stored updates when the first browser comes,
dropped when the last one goes). Every peer gets the protocol's two sync steps on joining;
after that, an update from a peer who may write is checked against the pad's size limit,
applied, stored with its author, and then relayed to the other peers. What a read-only peer
sends as an edit is dropped, so their view follows the pad and changes nothing. Awareness
(cursor) messages are not relayed.

The transport is the caller's: a ``Peer`` sends bytes and closes; the web layer adapts a
websocket to it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from pycrdt import (
    Doc,
    TransactionEvent,
    YMessageType,
    YSyncMessageType,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
)

from keepgreen.domain import pad as rules
from keepgreen.domain.account import Principal
from keepgreen.domain.pad import Pad
from keepgreen.services.errors import ServiceError
from keepgreen.services.pads import documents
from keepgreen.services.pads.service import PadFull, PadService

log = logging.getLogger(__name__)

# Websocket close codes (RFC 6455) a peer may be sent.
POLICY = 1008  # may no longer read or write the pad
TOO_BIG = 1009  # a message or the pad is over its limit
BAD_DATA = 1007  # not a Yjs message the pad can take
RECHECK_SECONDS = 30.0


class Peer(Protocol):
    async def send(self, message: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Refused(Exception):
    """The peer must be disconnected, with a websocket close code and a reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class Member:
    who: Principal
    writable: bool
    checked: float = field(default_factory=time.monotonic)


@dataclass
class Room:
    pad: Pad
    doc: Doc  # type: ignore[type-arg]
    stored_bytes: int
    peers: dict[Peer, Member] = field(default_factory=dict)
    fresh: list[bytes] = field(default_factory=list)  # updates the last apply produced

    def observe(self) -> None:
        def keep(event: TransactionEvent) -> None:
            self.fresh.append(event.update)

        self.doc.observe(keep)


class Rooms:
    def __init__(self, service: PadService, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.service = service
        self.recheck_seconds = recheck_seconds
        self.rooms: dict[int, Room] = {}
        self._loading = asyncio.Lock()

    async def join(self, pad: Pad, who: Principal, peer: Peer) -> Room:
        """Enter the pad's room and send the peer the pad's state."""
        async with self._loading:
            room = self.rooms.get(pad.id)
            if room is None:
                updates = await asyncio.to_thread(self.service.stored_updates, pad)
                room = Room(pad, documents.document(updates), sum(len(u) for u in updates))
                room.observe()
                self.rooms[pad.id] = room
            room.peers[peer] = Member(who, self.service.may_write(who, pad))
        await peer.send(create_sync_message(room.doc))
        return room

    async def leave(self, room: Room, peer: Peer) -> None:
        room.peers.pop(peer, None)
        async with self._loading:
            if not room.peers and self.rooms.get(room.pad.id) is room:
                del self.rooms[room.pad.id]

    async def receive(self, room: Room, peer: Peer, message: bytes) -> None:
        """Handle one message from ``peer``; raises ``Refused`` when it must go."""
        member = room.peers.get(peer)
        if member is None:
            raise Refused(POLICY, "not in this pad")
        if len(message) > rules.MAX_MESSAGE_BYTES:
            raise Refused(TOO_BIG, f"a message may hold at most {rules.MAX_MESSAGE_BYTES} "
                                   "bytes")
        if len(message) < 2 or message[0] != YMessageType.SYNC:
            return  # awareness and anything else: not relayed
        kind = message[1]
        if kind == YSyncMessageType.SYNC_STEP1:
            try:
                reply = handle_sync_message(message[1:], room.doc)
            except (ValueError, AssertionError) as exc:
                raise Refused(BAD_DATA, "not a Yjs sync message") from exc
            if reply is not None:
                await peer.send(reply)
            return
        if kind not in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE):
            return
        if not member.writable:
            return
        if not await self._still_allowed(room, member):
            raise Refused(POLICY, f"you may no longer open pad {room.pad.id}")
        try:
            update = read_message(message[2:])
        except (ValueError, AssertionError, IndexError) as exc:
            raise Refused(BAD_DATA, "not a Yjs update") from exc
        if room.stored_bytes + len(update) > rules.MAX_PAD_BYTES:
            raise Refused(TOO_BIG, f"pad {room.pad.id} is full; start another pad")
        room.fresh.clear()
        try:
            room.doc.apply_update(update)
        except ValueError as exc:
            raise Refused(BAD_DATA, "not a Yjs update") from exc
        fresh, room.fresh = room.fresh, []
        for change in fresh:
            try:
                await asyncio.to_thread(self.service.record, room.pad, member.who, change)
            except ServiceError as exc:
                raise Refused(TOO_BIG if isinstance(exc, PadFull) else POLICY,
                              exc.message) from exc
            room.stored_bytes += len(change)
            await self._relay(room, peer, create_update_message(change))

    async def _still_allowed(self, room: Room, member: Member) -> bool:
        """Access may have been taken away since the peer joined: look again now and then."""
        if time.monotonic() - member.checked < self.recheck_seconds:
            return True
        member.checked = time.monotonic()
        try:
            await asyncio.to_thread(self.service.get, member.who, room.pad.id)
        except ServiceError:
            return False
        return True

    async def _relay(self, room: Room, sender: Peer, message: bytes) -> None:
        for other, member in list(room.peers.items()):
            if other is sender:
                continue
            if not await self._still_allowed(room, member):  # readers lose access too
                room.peers.pop(other, None)
                await self._close(room, other, POLICY,
                                  f"you may no longer open pad {room.pad.id}")
                continue
            try:
                await other.send(message)
            except Exception:  # a peer that went away is dropped when its reader ends
                log.debug("pad %s: a peer could not be sent an update", room.pad.id)

    async def _close(self, room: Room, peer: Peer, code: int, reason: str) -> None:
        try:
            await peer.close(code, reason)
        except Exception:  # already gone
            log.debug("pad %s: a peer could not be closed", room.pad.id)
