"""``gerrit stream-events``: every event from now on that the account may see, one JSON
object per line, as Gerrit streams them, until the client disconnects."""

from __future__ import annotations

import asyncio
import contextlib

from keepgreen.ssh.session import Parser, Session

# How often the event log is looked at; Zuul's Gerrit driver expects events within seconds.
POLL_SECONDS = 0.25


def _parser() -> Parser:
    parser = Parser("gerrit stream-events")
    parser.add_argument("--subscribe", "-s", action="append", default=[], metavar="TYPE")
    return parser


async def stream_events(session: Session, args: list[str]) -> int:
    opts = _parser().parse(args)
    feed = session.services.event_feed
    cursor = await session.call(feed.last_id)
    wanted = set(opts.subscribe)

    async def follow() -> None:
        nonlocal cursor
        while True:
            shown, cursor = await session.call(feed.since, session.who, cursor)
            for _, type_, payload in shown:
                if not wanted or type_ in wanted:
                    await session.json_line(payload)
            if not shown:
                await asyncio.sleep(POLL_SECONDS)

    async def until_closed() -> None:
        # The client never sends anything; the end of its input is the end of the session.
        with contextlib.suppress(Exception):
            while await session.stdin.read(4096):
                pass

    following = asyncio.create_task(follow())
    closing = asyncio.create_task(until_closed())
    await asyncio.wait({following, closing}, return_when=asyncio.FIRST_COMPLETED)
    for task in (following, closing):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    return 0
