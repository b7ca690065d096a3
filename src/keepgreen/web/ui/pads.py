"""Pad pages: the list with a form to start one, the editor, its history, the changes it
mentions (a fragment the editor refreshes) and the Markdown download.

The editor is a plain textarea kept in step by ``static/pad.js`` over ``/pads/{id}/socket``;
without JavaScript the page still shows the text as it was when loaded. Access is the
service's: a pad the viewer may not read is "not found".
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keepgreen.services.errors import BadRequest, ServiceError
from keepgreen.web.ui.router import Ui, route

ID = r"(?P<pad_id>[1-9][0-9]{0,8})"


def _optional_number(raw: str, what: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        raise BadRequest(f"{what} must be a change number, not {raw[:40]!r}")
    return int(raw)


async def pad_list(ui: Ui, request: Request, status: int = 200, **extra: Any) -> Response:
    who = await ui.who(request)
    project = request.query_params.get("project") or None
    service = ui.services.pads

    def load() -> dict[str, Any]:
        pads = service.listing(who, project=project)
        return {"pads": [service.describe(who, p) for p in pads],
                "projects": [p.name for p in ui.services.projects.visible(who)]}

    return await ui.render(request, "pads.html", status=status, project=project,
                           **await run_in_threadpool(load), **extra)


async def create_pad(ui: Ui, request: Request) -> Response:
    form = await ui.form(request)
    who = await ui.who(request)
    try:
        change = _optional_number(form.get("change", ""), "change")
        pad = await run_in_threadpool(ui.services.pads.create, who, form.get("title", ""),
                                      form.get("project", "").strip() or None, change)
    except ServiceError as exc:
        return await pad_list(ui, request, status=exc.status, problem=exc.message)
    return RedirectResponse(f"/pads/{pad.id}", status_code=303)


def _load(ui: Ui, who: Any, pad_id: int) -> dict[str, Any]:
    service = ui.services.pads
    pad = service.get(who, pad_id)
    text = service.text(who, pad_id)
    change = None
    if pad.change is not None:
        found = service.mentioned(who, f"change {pad.change}")
        change = found[0] if found else None
    return {"pad": service.describe(who, pad), "text": text, "linked_change": change,
            "mentions": service.mentioned(who, text)}


async def pad_page(ui: Ui, request: Request, pad_id: str) -> Response:
    who = await ui.who(request)
    view = await run_in_threadpool(_load, ui, who, int(pad_id))
    return await ui.render(request, "pad.html", **view)


async def pad_mentions(ui: Ui, request: Request, pad_id: str) -> Response:
    who = await ui.who(request)
    service = ui.services.pads

    def load() -> list[dict[str, Any]]:
        return list(service.mentioned(who, service.text(who, int(pad_id))))

    return await ui.render(request, "pad_mentions.html", mentions=await run_in_threadpool(load))


async def pad_history(ui: Ui, request: Request, pad_id: str) -> Response:
    who = await ui.who(request)
    service = ui.services.pads

    def load() -> dict[str, Any]:
        pad = service.get(who, int(pad_id))
        return {"pad": service.describe(who, pad), "history": service.history(who, pad.id)}

    return await ui.render(request, "pad_history.html", **await run_in_threadpool(load))


async def pad_markdown(ui: Ui, request: Request, pad_id: str) -> Response:
    who = await ui.who(request)
    text = await run_in_threadpool(ui.services.pads.text, who, int(pad_id))
    return Response(text, media_type="text/markdown; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="pad-{pad_id}.md"'})


ROUTES = [
    route("GET", r"/pads/?", pad_list),
    route("POST", r"/pads/?", create_pad),
    route("GET", rf"/pads/{ID}/?", pad_page),
    route("GET", rf"/pads/{ID}/mentions", pad_mentions),
    route("GET", rf"/pads/{ID}/history", pad_history),
    route("GET", rf"/pads/{ID}/export\.md", pad_markdown),
]
