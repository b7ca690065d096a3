"""Smart HTTP through git's own ``git http-backend``, run as a CGI program per request.

The request body is streamed into the program and its output streamed back, so clones
and pushes of any size pass without being held in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterable, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

_BACKEND_CANDIDATES = (
    "/usr/lib/git-core/git-http-backend",
    "/usr/libexec/git-core/git-http-backend",
)


def backend_command() -> list[str]:
    for candidate in _BACKEND_CANDIDATES:
        if Path(candidate).exists():
            return [candidate]
    return [shutil.which("git") or "git", "http-backend"]


def config_env(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """git configuration passed through the environment, leaving repositories untouched.
    Pairs may repeat a key, for multi-valued settings such as ``uploadpack.hideRefs``."""
    items = list(pairs.items() if isinstance(pairs, Mapping) else pairs)
    env = {"GIT_CONFIG_COUNT": str(len(items))}
    for i, (key, value) in enumerate(items):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


async def run(request: Request, project_root: Path, path_info: str,
              env: Mapping[str, str], on_done: asyncio.Future[None] | None = None,
              protocol: bool = True) -> Response:
    """Answer ``request`` with ``git http-backend`` serving ``path_info`` under ``project_root``.
    With ``protocol`` false the client's ``Git-Protocol`` request is ignored (protocol v0)."""
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
    if protocol and "git-protocol" in request.headers:
        cgi["GIT_PROTOCOL"] = request.headers["git-protocol"]
    proc = await asyncio.create_subprocess_exec(
        *backend_command(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=cgi)
    assert proc.stdin and proc.stdout and proc.stderr

    async def pump() -> None:
        assert proc.stdin
        try:
            async for chunk in request.stream():
                proc.stdin.write(chunk)
                await proc.stdin.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                proc.stdin.close()

    pumping = asyncio.create_task(pump())
    status, headers = await _read_headers(proc.stdout)

    async def body() -> AsyncIterator[bytes]:
        try:
            while chunk := await proc.stdout.read(65536):  # type: ignore[union-attr]
                yield chunk
            await pumping
            await proc.wait()
        finally:
            if proc.returncode is None:
                pumping.cancel()
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()

    if status is None:
        await proc.wait()
        err = (await proc.stderr.read()).decode(errors="replace").strip()
        return PlainTextResponse(f"git http-backend failed: {err}\n", status_code=500)
    return _SendOnlyResponse(body(), status, headers)


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


async def _read_headers(stdout: asyncio.StreamReader) -> tuple[int | None, dict[str, str]]:
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
