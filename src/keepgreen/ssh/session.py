"""One SSH command being run: who runs it, its input and output, and how it fails.

A command fails by raising ``CommandError`` (or a service's ``ServiceError``): the server
writes ``fatal: <sentence>`` to stderr and exits 1, as Gerrit's SSH commands do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from keepgreen.domain.account import Principal

T = TypeVar("T")


class CommandError(Exception):
    """A command refused its input; the message is one sentence for the user."""


@dataclass
class Session:
    who: Principal
    services: Any
    stdin: Any  # asyncssh SSHReader[bytes]
    stdout: Any  # asyncssh SSHWriter[bytes]
    stderr: Any
    env: Mapping[str, str]

    @property
    def username(self) -> str:
        return self.who.account.username if self.who.account else ""

    async def out(self, text: str) -> None:
        self.stdout.write(text.encode())
        await self.stdout.drain()

    async def err(self, text: str) -> None:
        self.stderr.write(text.encode())
        await self.stderr.drain()

    async def json_line(self, data: Any) -> None:
        await self.out(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n")

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) service call off the event loop."""
        return await asyncio.to_thread(fn, *args, **kwargs)


Command = Callable[[Session, list[str]], Awaitable[int]]


class Parser(argparse.ArgumentParser):
    """Arguments as Gerrit's commands take them; a mistake is a ``CommandError`` naming
    it, never a usage dump and an exit from the server."""

    def __init__(self, command: str, **kwargs: Any) -> None:
        super().__init__(prog=command, add_help=False, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise CommandError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise CommandError(f"{self.prog}: {message or 'bad arguments'}")

    def parse(self, args: list[str]) -> argparse.Namespace:
        return self.parse_args(args)
