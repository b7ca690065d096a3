"""A pad client for tests: pycrdt's own ``Provider`` over a real websocket (``websockets``),
speaking the same Yjs sync protocol as the browser client."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pycrdt import Doc, Provider, Text
from websockets.asyncio.client import ClientConnection, connect

from tests.support import Server


class SocketChannel:
    """pycrdt's ``Channel`` over a websockets connection."""

    def __init__(self, ws: ClientConnection, path: str) -> None:
        self.ws = ws
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> SocketChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except Exception as exc:
            raise StopAsyncIteration() from exc

    async def send(self, message: bytes) -> None:
        await self.ws.send(message)

    async def recv(self) -> bytes:
        message = await self.ws.recv()
        assert isinstance(message, bytes)
        return message


def socket_url(server: Server, pad_id: int) -> str:
    return server.url.replace("http://", "ws://") + f"pads/{pad_id}/socket"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@asynccontextmanager
async def pad_client(server: Server, pad_id: int, user: str | None = None,
                     password: str | None = None, **connect_args: Any
                     ) -> AsyncIterator[tuple[Text, ClientConnection]]:
    """The pad's text, kept in step with the server while the context is open."""
    headers = basic(user, password) if user and password else {}
    async with connect(socket_url(server, pad_id), additional_headers=headers,
                       **connect_args) as ws:
        doc: Doc = Doc()  # type: ignore[type-arg]
        text = doc.get("text", type=Text)
        async with Provider(doc, SocketChannel(ws, f"pad {pad_id}")) as provider:
            await asyncio.wait_for(provider.synced.wait(), 10)
            yield text, ws


async def wait_text(text: Text, expected: str, seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while str(text) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"pad text is {str(text)!r}, not {expected!r}")
        await asyncio.sleep(0.05)


async def wait_same(*texts: Text, seconds: float = 10) -> None:
    """Wait until every copy holds the same text."""
    deadline = asyncio.get_running_loop().time() + seconds
    while len({str(t) for t in texts}) > 1:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the copies differ: {[str(t) for t in texts]}")
        await asyncio.sleep(0.05)
