"""The HTTP edge: what every answer carries, and how much of a request is ever read.

``Edge`` wraps the whole application (pages, REST, the native API, static files, logs):

* Every response gets the security headers: a Content-Security-Policy that allows scripts,
  styles and connections from the site itself only and no framing, ``X-Frame-Options``,
  ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``. Build logs under ``/logs/``
  come from jobs under review, so they get a sandboxing policy as well: whatever they hold,
  it never runs in the site's origin.
* Request bodies are read through a counting ``receive``: a body larger than the limit,
  whether its ``Content-Length`` says so or its chunks add up to it, raises ``BodyTooLarge``
  the moment it is read, and the edge answers 413. Nothing is read before a handler asks for
  it, so handlers authenticate first and a refused caller's body is never read at all; the
  connection is then closed instead of draining what the client still sends.

Git's smart HTTP paths and build log uploads (``web/log_upload.py``) are left to their own
limit (``max_push_bytes``).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
# A log file or listing is rendered, if at all, as an opaque origin without scripts.
LOG_POLICY = ("sandbox; default-src 'none'; img-src 'self'; style-src 'self'; "
              "frame-ancestors 'none'")
COMMON_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


class BodyTooLarge(Exception):
    """A request body passed the configured limit (``max_request_bytes``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")
        self.limit = limit


def security_headers(path: str) -> dict[str, str]:
    """The headers every response to ``path`` carries."""
    policy = LOG_POLICY if path.startswith("/logs/") else PAGE_POLICY
    return {"content-security-policy": policy, **COMMON_HEADERS}


def size_text(count: int) -> str:
    if count >= 1024 * 1024 and count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    return f"{count} bytes"


class _LimitedBody:
    """A ``receive`` that refuses to hand over more than ``limit`` body bytes."""

    def __init__(self, receive: Receive, limit: int, headers: list[tuple[bytes, bytes]]
                 ) -> None:
        self._receive = receive
        self.limit = limit
        self.read = 0
        self.declared: int | None = None
        chunked = False
        for name, value in headers:
            if name == b"content-length" and value.strip().isdigit():
                self.declared = int(value)
            elif name == b"transfer-encoding":
                chunked = True
        self.expects_body = chunked or bool(self.declared)
        self.finished = not self.expects_body

    async def __call__(self) -> Message:
        if self.declared is not None and self.declared > self.limit:
            raise BodyTooLarge(self.limit)
        message = await self._receive()
        if message["type"] == "http.request":
            self.read += len(message.get("body", b""))
            if self.read > self.limit:
                raise BodyTooLarge(self.limit)
            if not message.get("more_body", False):
                self.finished = True
        return message


class Edge:
    """ASGI middleware: security headers on every response, bounded request bodies."""

    def __init__(self, app: ASGIApp, max_request_bytes: int,
                 unlimited: Callable[[str], bool] = lambda raw_path: False) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.unlimited = unlimited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        extra = security_headers(scope["path"])
        body = None if self.unlimited(raw_path) else _LimitedBody(
            receive, self.max_request_bytes, scope.get("headers", []))
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
                if body is not None and not body.finished:
                    # The client may still be sending a body nobody will read: close the
                    # connection after this answer rather than drain it.
                    headers["connection"] = "close"
            await send(message)

        try:
            await self.app(scope, body or receive, send_with_headers)
        except BodyTooLarge as exc:
            if started:
                raise
            answer = PlainTextResponse(
                f"request body is larger than {size_text(exc.limit)}, the server's limit "
                "(setting max_request_bytes)\n", status_code=413)
            await answer(scope, receive, send_with_headers)
