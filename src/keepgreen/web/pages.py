"""The few HTML pages the server has before the web UI: a landing page and change pages
(the URLs pushes print), so links never lead nowhere."""

from __future__ import annotations

import html
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.services.errors import ServiceError

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · keepgreen</title></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(title), body=body), status_code=status)


async def landing(request: Request, services: Any) -> Response:
    projects = await run_in_threadpool(services.projects.visible, Principal.anonymous())
    items = "".join(f"<li><code>{html.escape(services.base_url(request) + p.name)}</code>"
                    f" {html.escape(p.description)}</li>" for p in projects)
    body = (f"<p>{len(projects)} public projects. Clone one with git; send changes for "
            "review with <code>git push origin HEAD:refs/for/main</code>.</p>"
            f"<ul>{items}</ul>")
    return page("keepgreen", body)


async def change_page(request: Request, services: Any, project: str, number: str) -> Response:
    try:
        change = await run_in_threadpool(services.changes.resolve, f"{project}~{number}",
                                         Principal.anonymous())
    except ServiceError as exc:
        return page("Change not found", f"<p>{html.escape(exc.message)}</p>", 404)
    body = (f"<p>{html.escape(change.project)} · {html.escape(change.branch)} · "
            f"{change.status}</p><p>Change-Id: <code>{change.change_id}</code></p>")
    return page(f"{change.number}: {change.subject}", body)
