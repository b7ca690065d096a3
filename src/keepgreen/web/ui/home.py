"""The front page: the projects a visitor may read, with their clone URLs."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.web.ui.router import Ui, route


async def home(ui: Ui, request: Request) -> Response:
    me = await ui.who(request)
    projects = await run_in_threadpool(ui.services.projects.visible, me)
    return await ui.render(request, "home.html", projects=projects)


ROUTES = [route("GET", r"/", home)]
