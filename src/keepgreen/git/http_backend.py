"""Smart HTTP through git's own ``git http-backend``, run as a CGI program per request.

The request body is streamed into the program and its output streamed back, so clones
and pushes of any size pass without being held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from keepgreen.git import children

_BACKEND_CANDIDATES = (
    "/usr/lib/git-core/git-http-backend",
    "/usr/libexec/git-core/git-http-backend",
)


def backend_command() -> list[str]:
    for candidate in _BACKEND_CANDIDATES:
        if Path(candidate).exists():
            return [candidate]
    return [shutil.which("git") or "git", "http-backend"]


# Output git may write before the whole request body is in (progress, an early error); the
# answer waits for the body so that an oversized one still gets a 413, not half a reply.
_EARLY_OUTPUT = 1024 * 1024


# Past the limit, this much more of an accepted request's body is read and dropped, so that
# a client still sending can read the 413 (closing on unread data resets the connection).
_DISCARD = 16 * 1024 * 1024


def too_large(limit: int, what: str = "the request", close: bool = True) -> Response:
    """The 413 for a body over ``limit``; with ``close`` the connection closes, so whatever
    is left of the body is not read."""
    return PlainTextResponse(f"{what} is larger than the server's limit of {limit} bytes\n",
                             status_code=413, headers={"Connection": "close"} if close else None)


async def run(request: Request, project_root: Path, path_info: str,
              env: Mapping[str, str], on_done: asyncio.Future[None] | None = None,
              protocol: bool = True, limit: int | None = None,
              what: str = "the request") -> Response:
    """Answer ``request`` with ``git http-backend`` serving ``path_info`` under ``project_root``.

    With ``protocol`` false the client's ``Git-Protocol`` request is ignored (protocol v0).
    The body is streamed to git as it arrives, never held whole; past ``limit`` bytes git is
    stopped and the answer is a 413 naming ``what`` was too large."""
    cgi = dict(env)
    cgi.update(
        GIT_PROJECT_ROOT=str(project_root),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=path_info,
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.url.query,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        REMOTE_ADDR=request.client.host if request.client else "",
        SERVER_PROTOCOL="HTTP/1.1",
    )
    if "content-length" in request.headers:
        cgi["CONTENT_LENGTH"] = request.headers["content-length"]
    if "content-encoding" in request.headers:
        cgi["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
    if limit is not None:
        # git buffers a fetch request of unknown length up to this; past it, our 413 first.
        cgi["GIT_HTTP_MAX_REQUEST_BUFFER"] = str(limit + 1024 * 1024)
    if protocol and "git-protocol" in request.headers:
        cgi["GIT_PROTOCOL"] = request.headers["git-protocol"]
    proc = await asyncio.create_subprocess_exec(
        *children.guarded(backend_command()), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=cgi,
        preexec_fn=children.preexec(),
        start_new_session=True)
    assert proc.stdin and proc.stdout and proc.stderr
    over = read_all = False

    async def pump() -> None:
        nonlocal over, read_all
        assert proc.stdin
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if limit is not None and received > limit:
                    if not over:
                        over = True
                        with contextlib.suppress(ConnectionError, OSError):
                            proc.stdin.close()
                    if received > limit + _DISCARD:
                        return
                    continue
                proc.stdin.write(chunk)
                await proc.stdin.drain()
            read_all = True
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                proc.stdin.close()

    pumping = asyncio.create_task(pump())
    early = bytearray()
    while not pumping.done() and len(early) < _EARLY_OUTPUT:
        reading = asyncio.ensure_future(proc.stdout.read(65536))
        await asyncio.wait({pumping, reading}, return_when=asyncio.FIRST_COMPLETED)
        if not reading.done():
            reading.cancel()
        try:
            chunk = await reading
        except asyncio.CancelledError:
            chunk = b""
        early += chunk
        if reading.done() and not reading.cancelled() and not chunk:
            break  # git closed its output
    if over:
        await _stop(proc)
        await pumping  # the rest of the body, dropped up to a bound
        return too_large(limit or 0, what, close=not read_all)
    output = _Output(bytes(early), proc.stdout)
    status, headers = await _read_headers(output)
    if pumping.done() and not read_all:
        # git stopped reading (it refused the request); the rest of the body is not read.
        headers["Connection"] = "close"

    async def body() -> AsyncIterator[bytes]:
        try:
            while chunk := await output.read(65536):
                yield chunk
            await pumping
            await proc.wait()
        finally:
            if proc.returncode is None:
                pumping.cancel()
                await _stop(proc)

    if status is None:
        await proc.wait()
        err = (await proc.stderr.read()).decode(errors="replace").strip()
        return PlainTextResponse(f"git http-backend failed: {err}\n", status_code=500,
                                 headers={"Connection": "close"} if not read_all else None)
    return _SendOnlyResponse(body(), status, headers)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Kill git and whatever it started (its own session), then reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    await proc.wait()


class _Output:
    """git's output: what was read early, then the rest of the pipe."""

    def __init__(self, early: bytes, stream: asyncio.StreamReader) -> None:
        self.early = early
        self.stream = stream

    async def readline(self) -> bytes:
        if self.early:
            line, newline, rest = self.early.partition(b"\n")
            if newline:
                self.early = rest
                return line + newline
            self.early = b""
            return line + await self.stream.readline()
        return await self.stream.readline()

    async def read(self, size: int) -> bytes:
        if self.early:
            chunk, self.early = self.early[:size], self.early[size:]
            return chunk
        return await self.stream.read(size)


class _SendOnlyResponse(Response):
    """Streams ``chunks`` without also listening for a disconnect.

    Starlette's streaming response reads from the connection while it sends, which would
    race with the task still feeding the request body to git; here only that task reads.
    """

    def __init__(self, chunks: AsyncIterator[bytes], status: int,
                 headers: dict[str, str]) -> None:
        self.status_code = status
        self.background = None
        self.chunks = chunks
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in headers.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code,
                    "headers": self.raw_headers})
        try:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except OSError:
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        if self.background is not None:
            await self.background()


async def _read_headers(stdout: _Output) -> tuple[int | None, dict[str, str]]:
    status = 200
    headers: dict[str, str] = {}
    seen_any = False
    while True:
        line = await stdout.readline()
        if not line:
            return (status if seen_any else None), headers
        seen_any = True
        text = line.decode("latin-1").rstrip("\r\n")
        if not text:
            return status, headers
        key, _, value = text.partition(":")
        value = value.strip()
        if key.lower() == "status":
            status = int(value.split()[0])
        else:
            headers[key] = value
