"""Signing in and out of the web UI with a username and HTTP password."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keepgreen.services.errors import TooManyAttempts
from keepgreen.web.ui.router import Ui, route


def _safe_target(target: str | None) -> str:
    """Only paths on this site: an open redirect would let a link sign you in elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


async def sign_in_page(ui: Ui, request: Request) -> Response:
    return await ui.render(request, "login.html",
                           redirect=_safe_target(request.query_params.get("redirect")))


async def sign_in(ui: Ui, request: Request) -> Response:
    form = await ui.form(request, signed_in=False)
    username, password = form.get("username", "").strip(), form.get("password", "")
    target = _safe_target(form.get("redirect"))
    principal = None
    if username and password:
        client = request.client.host if request.client else ""
        try:
            principal = await run_in_threadpool(ui.services.accounts.authenticate, username,
                                                password, client)
        except TooManyAttempts as exc:
            response = await ui.render(request, "login.html", status=429, redirect=target,
                                       username=username, problem=exc.message.capitalize()
                                       + ".")
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
    if principal is None:
        return await ui.render(request, "login.html", status=401, redirect=target,
                               username=username,
                               problem="Wrong username or HTTP password.")
    response = RedirectResponse(target, status_code=303)
    ui.sessions.start(response, principal)
    return response


async def sign_out(ui: Ui, request: Request) -> Response:
    """Sign out everywhere: every session of the account ends, not only this browser's."""
    response = RedirectResponse("/", status_code=303)
    me = await ui.who(request)
    if me.account is not None:
        await ui.form(request)
        await run_in_threadpool(ui.services.accounts.end_sessions, me.account.id)
    ui.sessions.end(response)
    return response


ROUTES = [
    route("GET", r"/login", sign_in_page),
    route("POST", r"/login", sign_in),
    route("POST", r"/logout", sign_out),
]
