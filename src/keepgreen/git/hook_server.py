"""The server end of the ``proc-receive`` hook: a Unix socket, one JSON request per push.

The HTTP layer registers a one-time token for each authorised ``git-receive-pack`` request
(who pushes, to which project, from which URL); the hook presents the token, so only
pushes the server itself started can reach the receive logic.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepgreen.domain.account import Principal

log = logging.getLogger(__name__)

MAX_REQUEST = 16 * 1024 * 1024


@dataclass(frozen=True)
class PushContext:
    """Who is pushing where; fixed when the HTTP request is authorised."""

    principal: Principal
    project: str
    base_url: str


Handler = Callable[[PushContext, list[list[str]], list[str]], Awaitable[dict[str, Any]]]


class HookServer:
    def __init__(self, run_dir: Path, handler: Handler) -> None:
        self.handler = handler
        path = run_dir / "hooks.sock"
        # Unix socket paths are limited to about 100 bytes.
        if len(str(path)) > 100:
            path = Path(tempfile.mkdtemp(prefix="keepgreen-")) / "hooks.sock"
        self.path = path
        self._tokens: dict[str, PushContext] = {}
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.path),
                                                       limit=MAX_REQUEST)
        os.chmod(self.path, 0o600)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self.path.exists():
            self.path.unlink()

    def issue(self, context: PushContext) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = context
        return token

    def revoke(self, token: str) -> None:
        self._tokens.pop(token, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands: list[list[str]] = []
        try:
            line = await reader.readline()
            request = json.loads(line)
            context = self._tokens.get(str(request.get("token", "")))
            commands = request.get("commands", [])
            if context is None:
                answer: dict[str, Any] = {
                    "messages": ["keepgreen: this push was not authorised by the server"],
                    "results": [[c[2], "ng", "not authorised", {}] for c in commands]}
            else:
                answer = await self.handler(context, commands, request.get("options", []))
        except Exception:  # the hook must always get an answer, never hang
            log.exception("receiving a push failed")
            answer = {"messages": ["keepgreen: internal error while receiving the push"],
                      "results": [[c[2], "ng", "internal error", {}] for c in commands]}
        writer.write(json.dumps(answer).encode())
        await writer.drain()
        writer.close()
