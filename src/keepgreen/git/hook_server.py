"""The server end of the ``proc-receive`` hook: a Unix socket, one JSON request per push.

The HTTP layer registers a one-time token for each authorised ``git-receive-pack`` request
(who pushes, to which project, from which URL); the hook presents the token, so only
pushes the server itself started can reach the receive logic.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keepgreen.domain.account import Principal
from keepgreen.domain.acl import Rule
from keepgreen.domain.project import Project

log = logging.getLogger(__name__)

MAX_REQUEST = 16 * 1024 * 1024


@dataclass(frozen=True)
class PushContext:
    """Who is pushing where; fixed when the HTTP request is authorised."""

    principal: Principal
    project: str
    base_url: str
    # The project and its access rules as read when the push was authorised, so the
    # receive step need not read them again.
    project_record: Project | None = None
    rules: tuple[Rule, ...] = ()


Handler = Callable[[PushContext, list[list[str]], list[str]], Awaitable[dict[str, Any]]]


class HookServer:
    def __init__(self, run_dir: Path, handler: Handler) -> None:
        self.handler = handler
        # One socket per process: two servers on one site (a standby) each hear their own
        # pushes.
        path = run_dir / f"hooks-{os.getpid()}.sock"
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
        options: list[str] = []
        token = ""
        try:
            while (line := (await reader.readline()).decode().rstrip("\n")) != "end":
                if not line and reader.at_eof():
                    break
                kind, _, rest = line.partition(" ")
                if kind == "token":
                    token = rest
                elif kind == "command":
                    commands.append(rest.split(" ", 2))
                elif kind == "option":
                    options.append(rest)
            context = self._tokens.get(token)
            if context is None:
                answer: dict[str, Any] = {
                    "messages": ["keepgreen: this push was not authorised by the server"],
                    "results": [[c[2], "ng", "not authorised", {}] for c in commands]}
            else:
                answer = await self.handler(context, commands, options)
        except Exception:  # the hook must always get an answer, never hang
            log.exception("receiving a push failed")
            answer = {"messages": ["keepgreen: internal error while receiving the push"],
                      "results": [[c[2], "ng", "internal error", {}] for c in commands]}
        writer.write(encode_answer(answer).encode())
        await writer.drain()
        writer.close()


def encode_answer(answer: dict[str, Any]) -> str:
    """The hook's line protocol for a receive answer (see ``proc_receive_hook``)."""
    lines = [f"message {m}" for text in answer.get("messages", [])
             for m in str(text).split("\n")]
    for ref, status, reason, options in answer.get("results", []):
        lines.append(f"result {status} {ref}" + (f" {reason}" if status == "ng" else ""))
        lines += [f"option {k} {v}".rstrip() for k, v in options.items()]
    lines.append("end")
    return "\n".join(lines) + "\n"
