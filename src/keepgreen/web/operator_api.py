"""Administrators' REST equivalents of the operator commands:
``POST /api/enqueue``, ``POST /api/dequeue`` (body ``{"pipeline", "project", "change":
"12,1"}``) and ``POST /api/promote`` (``{"pipeline", "changes": ["12,1", ...]}``).

Each writes the command to the store like ``keepgreen enqueue`` does and answers once the
scheduler took it: 200 ``{"id", "done": true}``, 409 with the scheduler's sentence when it
refused, 503 when it did not take the command in time.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import error_response, json_only, service_error_response
from keepgreen.gerrit.request_input import decode_json
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, ServiceError
from keepgreen.services.gating.operator import OperatorClient, parse_change
from keepgreen.store.builds import DEQUEUE, ENQUEUE, PROMOTE

PATHS = {"/api/enqueue": ENQUEUE, "/api/dequeue": DEQUEUE, "/api/promote": PROMOTE}
WAIT_SECONDS = 30.0


class OperatorApi:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return path.rstrip("/") in PATHS

    async def __call__(self, request: Request) -> Response:
        if request.method != "POST":
            return error_response(405, f"{request.method} is not allowed on "
                                       f"{request.url.path}; use POST")
        kind = PATHS[request.url.path.rstrip("/")]
        # The caller is known to be an administrator before the body is read.
        try:
            who = await run_in_threadpool(self._auth.who, request, True)
            if not who.is_admin:
                raise Forbidden(f"{kind} needs the Administrators group")
        except ServiceError as exc:
            return service_error_response(exc)
        refused = json_only(request)
        if refused is not None:
            return refused
        body = await request.body()
        return await run_in_threadpool(self._run, kind, body, who)

    def _run(self, kind: str, body: bytes, who: Principal) -> Response:
        try:
            pipeline, project, changes = _parse(kind, body)
            client = OperatorClient(self.services.db)
            event_id = client.request(kind, pipeline, changes, project=project,
                                      requested_by=who.account.username
                                      if who.account is not None else "?")
            taken = client.wait(event_id, WAIT_SECONDS)
            if taken is None:
                return error_response(503, "the scheduler did not take the command within "
                                           f"{WAIT_SECONDS:g} s")
            if taken.error:
                raise Conflict(taken.error)
            return JSONResponse({"id": event_id, "done": True})
        except ServiceError as exc:
            return service_error_response(exc)


def _parse(kind: str, body: bytes) -> tuple[str, str, list[tuple[int, int]]]:
    data = decode_json(body)
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), str):
        raise BadRequest('name the pipeline: {"pipeline": "gate", ...}')
    raw = data.get("changes") if kind == PROMOTE else [data.get("change")]
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        field = '"changes": ["12,1", ...]' if kind == PROMOTE else '"change": "12,1"'
        raise BadRequest(f"name the change(s): {field}")
    project = data.get("project", "")
    if kind != PROMOTE and (not isinstance(project, str) or not project):
        raise BadRequest('name the change\'s project: "project": "org/app"')
    try:
        changes = [parse_change(c) for c in raw]
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return data["pipeline"], str(project or ""), changes
