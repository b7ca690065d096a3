"""The SSH server: public-key sign-in with the keys accounts added over REST, then one
command per session (git's transport programs or Gerrit's ``gerrit ...`` commands).

It runs in the web server's event loop; blocking service calls go to worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

import asyncssh

from keepgreen.domain.account import Principal
from keepgreen.services.errors import ServiceError
from keepgreen.ssh import commands
from keepgreen.ssh.session import CommandError, Session

log = logging.getLogger(__name__)
PRINCIPAL = "keepgreen_principal"


class _Connection(asyncssh.SSHServer):
    """One client connection: signs it in by public key only."""

    def __init__(self, server: SshServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        self.server.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.conn is not None:
            self.server.connections.discard(self.conn)

    def begin_auth(self, username: str) -> bool:
        return True  # every account signs in; no one is let in without a key

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        principal = await asyncio.to_thread(self.server.services.ssh_keys.sign_in, username,
                                            key.public_data)
        if principal is None:
            return False
        assert self.conn is not None
        self.conn.set_extra_info(**{PRINCIPAL: principal})
        return True


class SshServer:
    def __init__(self, services: Any, host: str, port: int, host_key: Path) -> None:
        self.services = services
        self.host = host
        self.port = port
        self.host_key = host_key
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None

    async def start(self) -> None:
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self), self.host, self.port,
            server_host_keys=[str(self.host_key)], process_factory=self._session,
            encoding=None, allow_pty=False, agent_forwarding=False, x11_forwarding=False,
            password_auth=False, kbdint_auth=False, login_timeout=60,
            keepalive_interval=30, keepalive_count_max=4)

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._acceptor.wait_closed(), 5)
        for conn in list(self.connections):
            conn.close()

    async def _session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        who: Principal = process.get_extra_info(PRINCIPAL)
        session = Session(who, self.services, process.stdin, process.stdout, process.stderr,
                          dict(process.env))
        command = process.command
        if command is None:
            code = await self._welcome(session)
        else:
            code = await self._run(session, command)
        with contextlib.suppress(Exception):
            process.exit(code)

    async def _run(self, session: Session, command: str) -> int:
        try:
            return await commands.run(session, command)
        except CommandError as exc:
            return await _fatal(session, str(exc))
        except ServiceError as exc:
            return await _fatal(session, exc.message)
        except (asyncssh.Error, ConnectionError, BrokenPipeError):
            return 1  # the client went away
        except Exception:
            log.exception("SSH command %r of %s failed", command[:200], session.username)
            return await _fatal(session, "internal server error; the server log has details")

    async def _welcome(self, session: Session) -> int:
        base = self.services.base_url().split("//", 1)[-1].split(":")[0].rstrip("/")
        await _quiet(session.err(
            f"\n  Hi {session.username}, you have signed in to keepgreen over SSH.\n\n"
            "  There is no interactive shell here. To clone a repository:\n\n"
            f"    git clone ssh://{session.username}@{base}:{self.port}/PROJECT\n\n"
            "  and for the commands: ssh ... gerrit version, gerrit query, "
            "gerrit stream-events\n\n"))
        return 1


async def _fatal(session: Session, message: str) -> int:
    await _quiet(session.err(f"fatal: {message.rstrip()}\n"))
    return 1


async def _quiet(writing: Any) -> None:
    with contextlib.suppress(Exception):
        await writing
