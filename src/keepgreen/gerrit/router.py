"""Dispatch of Gerrit REST calls: authentication, path matching, and error mapping.

Paths are matched on the raw, still percent-encoded path so that a project name such as
``org%2Fapp`` stays one segment. Handlers are plain functions run in a worker thread; they
return JSON-able data (or a Response) and raise ``ServiceError`` for every refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import (
    SAFE_METHODS,
    Call,
    basic_credentials,
    error_response,
    json_only,
    json_response,
    plain_text_or_json,
    redact,
    service_error_response,
    split_path,
)
from keepgreen.gerrit.request_input import check_request
from keepgreen.services.errors import HiddenFromAnonymous, ServiceError, Unauthorized

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
GERRIT_COLLECTIONS = frozenset({"accounts", "changes", "config", "groups", "projects",
                                "plugins", "access", "documentation"})
Route = tuple[str, tuple[str, ...], Handler]


class Created:
    """A handler result answered with 201 Created."""

    def __init__(self, data: Any) -> None:
        self.data = data


class Router:
    def __init__(self, services: Any, routes: list[Route]) -> None:
        self.services = services
        self.routes = routes

    def match(
        self, method: str, segments: list[str]
    ) -> tuple[Handler, dict[str, str]] | None | str:
        path_matched = False
        for route_method, pattern, handler in self.routes:
            params = _match(pattern, segments)
            if params is None:
                continue
            path_matched = True
            if route_method == method or (route_method == "GET" and method == "HEAD"):
                return handler, params
        return "method" if path_matched else None

    async def __call__(self, request: Request) -> Response:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        raw = raw.split("?", 1)[0]
        authenticated = raw.startswith("/a/")
        segments = split_path(raw[3:] if authenticated else raw[1:])
        found = self.match(request.method, segments)
        if found is None:
            # "/projects/" and "/projects" are the same collection.
            other = segments[:-1] if segments[-1:] == [""] else segments + [""]
            found = self.match(request.method, other)
            segments = other if found is not None else segments
        if found is None or found == "method":
            if segments and segments[0] in GERRIT_COLLECTIONS:
                # Part of Gerrit's API that keepgreen does not answer yet: say so plainly
                # rather than answer with a shape a client would misread.
                return error_response(501, f"{request.method} {request.url.path} is not "
                                           "implemented by keepgreen")
            if found is None:
                return error_response(404, f"no REST endpoint at {request.url.path}")
            return error_response(405, f"{request.method} is not allowed on {request.url.path}")
        handler, params = found  # type: ignore[misc]
        # Who is asking is settled before a byte of the body is read: a caller that is
        # refused never gets to make the server read (or buffer) what it sends.
        try:
            who = await run_in_threadpool(self.who, request, authenticated)
        except ServiceError as exc:
            return service_error_response(exc)
        if request.method not in SAFE_METHODS:
            if who.is_anonymous:
                return error_response(401, f"{request.method} {request.url.path} needs you "
                                           "to sign in (use /a/ with your HTTP password)",
                                      challenge=True)
            # A handler marked ``plain_text`` takes a raw body as Gerrit's does (an SSH key).
            refused = (plain_text_or_json(request) if getattr(handler, "plain_text", False)
                       else json_only(request))
            if refused is not None:
                return refused
        body = await request.body()  # bounded by the edge (max_request_bytes)
        try:
            return await run_in_threadpool(self._run, request, handler, params, segments,
                                           authenticated, body, who)
        except Exception:
            log.exception("REST call %s %s failed", request.method, request.url.path)
            return error_response(500, "internal server error; the server log has details")

    def _run(self, request: Request, handler: Handler, params: dict[str, str],
             segments: list[str], authenticated: bool, body: bytes,
             who: Principal) -> Response:
        try:
            check_request(request.query_params, params)
            call = Call(request, who, segments, authenticated, body, self.services)
            result = handler(call, **params)
        except HiddenFromAnonymous as exc:
            return error_response(404, exc.not_found)  # the answer for what does not exist
        except ServiceError as exc:
            return service_error_response(exc)
        if isinstance(result, Response):
            return result
        if isinstance(result, Created):
            return json_response(redact(result.data, who), 201)
        return json_response(redact(result, who))

    def who(self, request: Request, required: bool) -> Principal:
        credentials = basic_credentials(request)
        if credentials is None:
            if required:
                raise Unauthorized("sign in with your username and HTTP password")
            return Principal.anonymous()
        client = request.client.host if request.client else ""
        principal = self.services.accounts.authenticate(*credentials, client=client)
        if principal is None:
            raise Unauthorized("wrong username or HTTP password")
        return principal


def _match(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for part, segment in zip(pattern, segments, strict=True):
        if part.startswith("{"):
            if not segment:
                return None
            params[part[1:-1]] = segment
        elif part != segment:
            return None
    return params
