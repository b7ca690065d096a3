"""``/api/pads``: pads as plain JSON (no ``)]}'`` prefix), and their text as Markdown.

- ``GET /api/pads``: the pads the caller may read, newest first; ``?project=`` or
  ``?change=`` narrows the list to one project's or one change's pads.
- ``POST /api/pads``: ``{"title": "...", "change": 12}`` (or ``"project"``, or neither for a
  stand-alone pad) starts a pad; answers 201 with it.
- ``GET /api/pads/{id}``: the pad, its text, whether the caller may write, and the changes
  the text mentions that the caller may see.
- ``GET /api/pads/{id}/history``: who edited when, newest first.
- ``GET /api/pads/{id}/markdown``: the text as a ``text/markdown`` download.

The text itself is edited over the websocket at ``/pads/{id}/socket`` (``web.pad_socket``).
Credentials are HTTP Basic as elsewhere; refusals are one sentence with the usual status.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keepgreen.gerrit.http import error_response, parse_json, service_error_response
from keepgreen.gerrit.request_input import whole_number
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import BadRequest, HiddenFromAnonymous, ServiceError
from keepgreen.web.native import path_parts, refusal

PREFIX = "/api/pads"


def pad_number(text: str, what: str = "pad") -> int:
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise BadRequest(f"{what} must be a positive number, not {text[:40]!r}")
    return int(text)


class PadsApi:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, request: Request) -> Response:
        parts = path_parts(request, PREFIX)
        method = "GET" if request.method == "HEAD" else request.method
        pads = self.services.pads
        try:
            refused = refusal(request, parts, self._allowed(parts))
            if refused is not None:
                return refused
            who = self._auth.who(request, method != "GET")
            if not parts and method == "GET":
                query = request.query_params
                change = query.get("change")
                found = await run_in_threadpool(
                    pads.listing, who, query.get("project") or None,
                    whole_number(change, "change") if change else None)
                return JSONResponse([pads.describe(who, p) for p in found])
            if not parts:
                body = parse_json(await request.body())
                return JSONResponse(await run_in_threadpool(self._create, who, body),
                                    status_code=201)
            pad_id = pad_number(parts[0])
            if len(parts) == 1:
                return JSONResponse(await run_in_threadpool(self._one, who, pad_id))
            if parts[1] == "history":
                history = await run_in_threadpool(pads.history, who, pad_id)
                return JSONResponse([{**h, "first": h["first"].isoformat() + "Z",
                                      "last": h["last"].isoformat() + "Z"} for h in history])
            text = await run_in_threadpool(pads.text, who, pad_id)
            return Response(text, media_type="text/markdown; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="pad-{pad_id}.md"'})
        except HiddenFromAnonymous as exc:
            return error_response(404, exc.not_found)
        except ServiceError as exc:
            return service_error_response(exc)

    def _create(self, who: Any, body: dict[str, Any]) -> dict[str, Any]:
        title, project, change = body.get("title"), body.get("project"), body.get("change")
        if not isinstance(title, str):
            raise BadRequest("title must be text")
        if project is not None and not isinstance(project, str):
            raise BadRequest("project must be a project's name")
        if change is not None and (not isinstance(change, int) or isinstance(change, bool)
                                   or change < 1):
            raise BadRequest("change must be a change number")
        pads = self.services.pads
        pad = pads.create(who, title, project, change)
        return dict(pads.describe(who, pad))

    def _one(self, who: Any, pad_id: int) -> dict[str, Any]:
        pads = self.services.pads
        pad = pads.get(who, pad_id)
        text = pads.text(who, pad_id)
        return {**pads.describe(who, pad), "text": text,
                "mentions": pads.mentioned(who, text)}

    @staticmethod
    def _allowed(parts: list[str]) -> tuple[str, ...] | None:
        if not parts:
            return ("GET", "POST")
        if len(parts) == 1:
            return ("GET",)
        if len(parts) == 2 and parts[1] in ("history", "markdown"):
            return ("GET",)
        return None
