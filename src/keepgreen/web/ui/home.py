"""The dashboard (``/``) and change search (``/q/<query>``).

Signed in, the dashboard lists the changes whose attention set I am in ("Your turn"), my
open changes, open changes waiting for my review and recently merged changes; anonymous
visitors see the projects they may read and recent changes. Search takes Gerrit's query
language, checked by the same service as REST.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.services.errors import BadRequest
from keepgreen.web.ui import change_list
from keepgreen.web.ui.router import Ui, route

SECTION_SIZE = 25
PAGE_SIZE = 50

YOUR_TURN = "status:open attention:self"
MINE = "status:open owner:self"
TO_REVIEW = "status:open reviewer:self -owner:self -is:wip"
MERGED = "status:merged"
RECENT = "status:open"


def _section(services: Any, me: Principal, title: str, query: str,
             empty: str) -> dict[str, Any]:
    found, more = services.changes.query(query, me, SECTION_SIZE, 0)
    return {"title": title, "query": query, "rows": change_list.rows(services, found),
            "more": more, "empty": empty}


async def dashboard(ui: Ui, request: Request) -> Response:
    me = await ui.who(request)

    def load() -> dict[str, Any]:
        services = ui.services
        if me.account is None:
            return {"projects": services.projects.visible(me), "sections": [
                _section(services, me, "Recently updated", RECENT, "No open changes."),
                _section(services, me, "Recently merged", MERGED, "Nothing merged yet.")]}
        return {"projects": [], "sections": [
            _section(services, me, "Your turn", YOUR_TURN,
                     "Nothing needs you now: you are in no change's attention set."),
            _section(services, me, "My open changes", MINE,
                     "You have no open changes. Push one with "
                     "git push origin HEAD:refs/for/main."),
            _section(services, me, "Waiting for my review", TO_REVIEW,
                     "Nothing waits for your review."),
            _section(services, me, "Recently merged", MERGED, "Nothing merged yet.")]}

    return await ui.render(request, "dashboard.html", **await run_in_threadpool(load))


async def search_form(ui: Ui, request: Request) -> Response:
    text = request.query_params.get("q", "").strip() or RECENT
    return RedirectResponse("/q/" + quote(text, safe=":"), status_code=303)


async def search(ui: Ui, request: Request, query: str) -> Response:
    me = await ui.who(request)
    text = query.strip() or RECENT
    try:
        start = max(0, int(request.query_params.get("start", "0")))
    except ValueError:
        start = 0

    def load() -> dict[str, Any]:
        found, more = ui.services.changes.query(text, me, PAGE_SIZE, start)
        return {"rows": change_list.rows(ui.services, found), "more": more}

    try:
        found = await run_in_threadpool(load)
    except BadRequest as exc:
        return await ui.render(request, "search.html", status=400, query=text, rows=[],
                               more=False, start=start, problem=exc.message)
    return await ui.render(request, "search.html", query=text, start=start,
                           page_size=PAGE_SIZE, **found)


ROUTES = [
    route("GET", r"/", dashboard),
    route("GET", r"/q/?", search_form),
    route("GET", r"/q/(?P<query>.+)", search),
]
