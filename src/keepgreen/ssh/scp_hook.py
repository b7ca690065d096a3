"""``scp -f hooks/commit-msg``: the commit-msg hook in scp's legacy (source) protocol, as
git-review fetches it from Gerrit over SSH (``scp -O``). Nothing else can be copied."""

from __future__ import annotations

import time
from importlib import resources

from keepgreen.ssh.session import CommandError, Parser, Session

HOOK_PATHS = ("hooks/commit-msg", "/hooks/commit-msg")


def commit_msg_hook() -> bytes:
    return resources.files("keepgreen").joinpath("data/commit-msg").read_bytes()


async def _acknowledged(session: Session) -> None:
    answer = await session.stdin.read(1)
    if answer != b"\0":
        raise CommandError("scp: the client refused the copy")


async def scp(session: Session, args: list[str]) -> int:
    parser = Parser("scp")
    parser.add_argument("-f", dest="source", action="store_true")
    for flag in ("-p", "-v", "-q", "-r", "-d"):
        parser.add_argument(flag, action="store_true")
    parser.add_argument("path")
    opts = parser.parse(args)
    if not opts.source or opts.path not in HOOK_PATHS:
        raise CommandError("scp: only the commit-msg hook can be copied from here: "
                           "scp -O -P PORT USER@HOST:hooks/commit-msg .git/hooks/")
    data = commit_msg_hook()
    await _acknowledged(session)  # the sink says it is ready
    if opts.p:
        now = int(time.time())
        session.stdout.write(f"T{now} 0 {now} 0\n".encode())
        await _acknowledged(session)
    session.stdout.write(f"C0755 {len(data)} commit-msg\n".encode())
    await _acknowledged(session)
    session.stdout.write(data + b"\0")
    await session.stdout.drain()
    await _acknowledged(session)
    return 0
