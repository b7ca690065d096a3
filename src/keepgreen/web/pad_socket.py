"""The pad websocket, ``/pads/{id}/socket``: the Yjs sync protocol between a browser (the
``y-websocket`` client in ``static/pad.js``) and the pad's room.

Before the handshake is accepted:

* a browser's ``Origin`` must be this site (the ``Host`` it asked for, or the canonical URL),
  so no other site can open a pad with a visitor's cookies;
* the caller is the browser session's account, or HTTP Basic credentials for other clients,
  or anonymous;
* the caller must be allowed to read the pad.

A refusal closes the handshake (the client sees HTTP 403). After it, ``Rooms`` decides what
each message may do; binary messages only, each at most ``MAX_MESSAGE_BYTES``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import basic_credentials
from keepgreen.services.errors import ServiceError
from keepgreen.services.pads.rooms import BAD_DATA, Refused, Rooms
from keepgreen.web.session import Sessions


class SocketPeer:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send(self, message: bytes) -> None:
        await self.websocket.send_bytes(message)

    async def close(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason[:120])


def same_site(websocket: WebSocket, base_url: str) -> bool:
    """Whether the handshake comes from one of this site's pages (or from no browser)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return False
    host = websocket.headers.get("host", "").lower()
    return netloc in (host, urlsplit(base_url).netloc.lower()) and bool(netloc)


class PadSocket:
    def __init__(self, services: Any, sessions: Sessions, rooms: Rooms) -> None:
        self.services = services
        self.sessions = sessions
        self.rooms = rooms

    def _who(self, websocket: WebSocket) -> Principal | None:
        credentials = basic_credentials(websocket)  # type: ignore[arg-type]
        if credentials is not None:
            client = websocket.client.host if websocket.client else ""
            return self.services.accounts.authenticate(*credentials, client=client)  # type: ignore[no-any-return]
        return self.sessions.principal(websocket)  # type: ignore[arg-type]

    async def __call__(self, websocket: WebSocket) -> None:
        raw = websocket.path_params.get("pad", "")
        if not same_site(websocket, self.services.base_url()) or not raw.isdigit() \
                or len(raw) > 9:
            await websocket.close(1008)
            return
        try:
            who = await run_in_threadpool(self._who, websocket)
        except ServiceError:  # too many failed sign-ins: refused like a wrong password
            who = None
        if who is None:
            await websocket.close(1008)
            return
        try:
            pad = await run_in_threadpool(self.services.pads.get, who, int(raw))
        except ServiceError:
            await websocket.close(1008)
            return
        await websocket.accept()
        peer = SocketPeer(websocket)
        room = await self.rooms.join(pad, who, peer)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("bytes")
                if data is None:
                    raise Refused(BAD_DATA, "pad messages are binary")
                await self.rooms.receive(room, peer, data)
        except Refused as refused:
            await peer.close(refused.code, refused.reason)
        except WebSocketDisconnect:
            pass
        finally:
            await self.rooms.leave(room, peer)
