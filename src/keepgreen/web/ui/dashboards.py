"""A dashboard given in its URL (``/dashboard/?title=..&foreach=..&<section>=<query>``),
the page a project dashboard's ``url`` opens, as Gerrit's does.

Each section lists the changes its query finds (joined with ``foreach``), checked by the
same query service as search; a section whose query is wrong says so and the others show.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.dashboards import MAX_SECTIONS, MAX_TEXT, sections_of_page
from keepgreen.services.errors import BadRequest
from keepgreen.web.ui import change_list
from keepgreen.web.ui.router import Ui, route

SECTION_SIZE = 25


async def dashboard_page(ui: Ui, request: Request) -> Response:
    me = await ui.who(request)
    title, sections = sections_of_page(list(request.query_params.multi_items()))
    if not sections:
        return await ui.error(request, 400, "a dashboard URL names at least one section, "
                                            "e.g. /dashboard/?title=Open&Open=status:open")
    if len(sections) > MAX_SECTIONS:
        return await ui.error(request, 400, f"a dashboard shows at most {MAX_SECTIONS} "
                                            "sections")
    if any(len(section.query) > 2 * MAX_TEXT + 8 for section in sections):
        return await ui.error(request, 400, f"a dashboard query has at most {MAX_TEXT} "
                                            "characters")

    def load() -> list[dict[str, Any]]:
        shown = []
        for section in sections:
            entry: dict[str, Any] = {"title": section.name, "query": section.query,
                                     "rows": [], "more": False, "problem": ""}
            try:
                found, more = ui.services.changes.query(section.query, me, SECTION_SIZE, 0)
            except BadRequest as exc:
                entry["problem"] = exc.message
            else:
                entry.update(rows=change_list.rows(ui.services, found), more=more)
            shown.append(entry)
        return shown

    return await ui.render(request, "custom_dashboard.html", title=title,
                           sections=await run_in_threadpool(load))


ROUTES = [route("GET", r"/dashboard/?", dashboard_page)]
