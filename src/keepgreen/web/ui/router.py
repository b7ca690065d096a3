"""Matching UI requests to page handlers, and what every handler gets (``Ui``).

A handler is ``async def page(ui, request, **params) -> Response``; ``params`` are the named
groups of its route's pattern. ``Ui.render`` fills the layout's common values (who is signed
in, the CSRF token, the site's URL); ``Ui.form`` reads a posted form and refuses it (403) when
its CSRF token is missing or wrong; service errors become an error page with their status.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.services.errors import HiddenFromAnonymous, ServiceError, Unauthorized
from keepgreen.web.session import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, Sessions

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

Handler = Callable[..., Awaitable[Response]]


@dataclass(frozen=True)
class UiRoute:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    handler: Handler


def route(methods: str, pattern: str, handler: Handler) -> UiRoute:
    """A route for ``methods`` (comma-separated) whose whole path matches ``pattern``."""
    return UiRoute(tuple(methods.split(",")), re.compile(pattern + r"\Z"), handler)


class CsrfRefused(Exception):
    """A form or htmx request came without the token of this browser's session."""


class Ui:
    """What page handlers use: the services, the session of the request, templates."""

    def __init__(self, services: Any, sessions: Sessions) -> None:
        self.services = services
        self.sessions = sessions
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES),
                                     autoescape=select_autoescape(default=True),
                                     trim_blocks=True, lstrip_blocks=True)
        self.templates.filters["urlpath"] = lambda value: quote(str(value), safe="/")

    async def who(self, request: Request) -> Principal:
        """The signed-in principal (anonymous without a session), looked up once per request."""
        known = getattr(request.state, "principal", None)
        if known is None:
            known = await run_in_threadpool(self.sessions.principal, request)
            request.state.principal = known
        return known  # type: ignore[no-any-return]

    async def render(self, request: Request, template: str, status: int = 200,
                     **context: Any) -> HTMLResponse:
        me = await self.who(request)
        values = {"me": me, "csrf": self.sessions.csrf_token(request),
                  "csrf_field": CSRF_FIELD, "base_url": self.services.base_url(request),
                  "path": request.url.path, "request": request, **context}
        body = self.templates.get_template(template).render(values)
        response = HTMLResponse(body, status_code=status)
        self.sessions.finish(request, response)
        return response

    async def form(self, request: Request, signed_in: bool = True) -> dict[str, str]:
        """The posted form; raises CsrfRefused unless it carries this browser's token.

        What can be refused without the body is refused before it is read: a form that
        needs a signed-in user from a browser without a session (``Unauthorized``), a
        browser without a CSRF cookie, a wrong token in the htmx header.
        """
        if signed_in and (await self.who(request)).is_anonymous:
            raise Unauthorized("this form needs you to sign in")
        header = request.headers.get(CSRF_HEADER)
        if CSRF_COOKIE not in request.cookies or (
                header is not None and not self.sessions.check_csrf(request, header)):
            raise CsrfRefused()
        form = await request.form()  # bounded by the edge (max_request_bytes)
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        sent = values.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
        if not self.sessions.check_csrf(request, sent):
            raise CsrfRefused()
        return values

    async def error(self, request: Request, status: int, message: str) -> HTMLResponse:
        return await self.render(request, "error.html", status=status, message=message)

    def sign_in_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?redirect=" + quote(target, safe="/"), status_code=303)


class WebUI:
    """Dispatches to the first route whose pattern and method match."""

    def __init__(self, ui: Ui, routes: list[UiRoute]) -> None:
        self.ui = ui
        self.routes = routes

    def match(self, method: str, path: str) -> tuple[UiRoute, dict[str, str]] | None:
        method = "GET" if method == "HEAD" else method
        for candidate in self.routes:
            found = candidate.pattern.match(path)
            if found and method in candidate.methods:
                return candidate, found.groupdict()
        return None

    async def __call__(self, request: Request, matched: tuple[UiRoute, dict[str, str]]
                       ) -> Response:
        page, params = matched
        try:
            return await page.handler(self.ui, request, **params)
        except CsrfRefused:
            return await self.ui.error(
                request, 403, "This form was not sent from a keepgreen page (its CSRF token "
                "is missing or out of date); reload the page and try again.")
        except HiddenFromAnonymous as exc:
            return await self.ui.error(request, 404, exc.not_found)
        except ServiceError as exc:
            return await self.ui.error(request, exc.status, exc.message)
