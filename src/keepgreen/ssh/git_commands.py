"""Git over SSH: ``git-upload-pack`` and ``git-receive-pack`` run as git's own programs,
with the same decisions as smart HTTP (who may read or push, which refs stay hidden) and
pushes handed to the same ``proc-receive`` hook."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
from typing import Any

from keepgreen.domain.account import Principal
from keepgreen.git import children, serving
from keepgreen.git.hook_server import PushContext
from keepgreen.services.errors import Unauthorized
from keepgreen.ssh.session import CommandError, Session

SERVICES = {"git-upload-pack": "upload-pack", "git-receive-pack": "receive-pack"}
_CHUNK = 65536


def git_service(argv: list[str]) -> tuple[str, str] | None:
    """(service, project) of a git command line, e.g. ``git-upload-pack '/org/app.git'``;
    None when ``argv`` is not one."""
    if len(argv) >= 2 and argv[0] == "git" and f"git-{argv[1]}" in SERVICES:
        argv = [f"git-{argv[1]}", *argv[2:]]
    if not argv or argv[0] not in SERVICES:
        return None
    if len(argv) != 2:
        raise CommandError(f"{argv[0]} takes one repository, as in "
                           f"{argv[0]} {shlex.quote('/org/app')}")
    project = argv[1].strip("/").removesuffix(".git").rstrip("/")
    if not project:
        raise CommandError(f"{argv[0]}: name a repository")
    return SERVICES[argv[0]], project


async def run_git(session: Session, service: str, name: str) -> int:
    services = session.services
    who: Principal = session.who
    push = service == "receive-pack"
    try:
        project, rules = await session.call(services.git_access.authorise, who, name, push)
    except Unauthorized:  # SSH callers are signed in; "needs you to sign in" cannot help
        raise CommandError(f"project {name!r} not found") from None
    hidden_changes, hidden_refs = await session.call(services.git_access.hidden, who, project,
                                                     rules)
    env = serving.serving_env(serving.serving_config(
        push=push, hooks_dir=services.hooks_dir,
        max_push_bytes=services.settings.max_push_bytes, is_admin=who.is_admin,
        hidden_changes=hidden_changes, hidden_refs=hidden_refs,
        sees_sources=who.is_service_user))
    # Protocol v2 lets a client ask for any object by name, hidden or not, so a caller with
    # hidden refs is answered in protocol v0, where git checks every want.
    protocol = session.env.get("GIT_PROTOCOL", "")
    if protocol and not (hidden_changes or hidden_refs):
        env["GIT_PROTOCOL"] = protocol
    token = None
    if push:
        token = services.hook_server.issue(PushContext(who, project.name, services.base_url(),
                                                       project, tuple(rules)))
        env["KEEPGREEN_HOOK_SOCKET"] = str(services.hook_server.path)
        env["KEEPGREEN_HOOK_TOKEN"] = token
    try:
        # --strict: the path is the repository itself, never a folder git would search up.
        strict = [] if push else ["--strict"]
        return await _pump(session, [_git(), service, *strict,
                                     str(services.repos.path(project.name))], env)
    finally:
        if token is not None:
            services.hook_server.revoke(token)


def _git() -> str:
    return shutil.which("git") or "git"


async def _pump(session: Session, argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` with the session's input, output and error streams joined to it."""
    proc = await asyncio.create_subprocess_exec(
        *children.guarded(argv), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        preexec_fn=children.preexec(), start_new_session=True)
    assert proc.stdin and proc.stdout and proc.stderr

    async def feed() -> None:
        assert proc.stdin
        try:
            while chunk := await session.stdin.read(_CHUNK):
                proc.stdin.write(chunk)
                await proc.stdin.drain()
        except Exception:  # the client went away (asyncssh raises its own errors)
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                proc.stdin.close()

    async def drain(stream: asyncio.StreamReader, writer: Any) -> None:
        while chunk := await stream.read(_CHUNK):
            writer.write(chunk)
            await writer.drain()

    feeding = asyncio.create_task(feed())
    try:
        await asyncio.gather(drain(proc.stdout, session.stdout),
                             drain(proc.stderr, session.stderr))
        return await proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()
        raise
    finally:
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await feeding

