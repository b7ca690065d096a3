"""``GET /api/status`` (the live gate) and ``GET /api/buildsets`` (the records of what was
tested), keepgreen's own API: plain JSON, no ``)]}'`` prefix. The administrators' operator
commands (``web.operator_api``) are answered through here as well.

An item or buildset is shown to whoever can see its change, exactly like ``/api/builds``;
credentials are HTTP Basic as elsewhere. The status document's shape is described in
docs/gating.md ("Status").
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import error_response, service_error_response
from keepgreen.gerrit.request_input import check_request, whole_number
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import NotFound, ServiceError
from keepgreen.store import builds as build_store
from keepgreen.store.builds import BuildsetRecord
from keepgreen.web.builds import BuildsWeb, iso
from keepgreen.web.operator_api import OperatorApi

DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
# The native API's description, kept beside the code it describes (tests check the two agree).
OPENAPI = resources.files("keepgreen").joinpath("web/openapi.json")
OPENAPI_PATH = "/api/openapi.json"


class StatusApi:
    """Answers ``/api/status`` and ``/api/buildsets[/{uuid}]``."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self._auth = Router(services, [])
        self._builds = BuildsWeb(services)
        self._operator = OperatorApi(services)

    @staticmethod
    def handles(path: str) -> bool:
        return path in ("/api/status", "/api/status/", "/api/buildsets",
                        "/api/buildsets/", OPENAPI_PATH) or path.startswith("/api/buildsets/") or (
            OperatorApi.handles(path))

    async def __call__(self, request: Request) -> Response:
        if OperatorApi.handles(request.url.path):
            return await self._operator(request)
        if request.method not in ("GET", "HEAD"):
            return error_response(405, f"{request.method} is not allowed on "
                                       f"{request.url.path}")
        if request.url.path == OPENAPI_PATH:
            return Response(OPENAPI.read_bytes(), media_type="application/json")
        parts = [p for p in request.url.path.split("/") if p][1:]
        try:
            check_request(request.query_params, segments=parts)
            if parts == ["status"]:
                return JSONResponse(await run_in_threadpool(self._status, request))
            if parts == ["buildsets"]:
                return JSONResponse(await run_in_threadpool(self._list, request))
            if len(parts) == 2:
                return JSONResponse(await run_in_threadpool(self._one, request, parts[1]))
            return error_response(404, f"no API endpoint at {request.url.path}")
        except ServiceError as exc:
            return service_error_response(exc)

    def _who(self, request: Request) -> Principal:
        return self._auth.who(request, False)

    def _visibility(self, who: Principal) -> Any:
        seen: dict[int, bool] = {}

        def visible(number: int) -> bool:
            if number not in seen:
                try:
                    self.services.changes.resolve(str(number), who)
                    seen[number] = True
                except ServiceError:
                    seen[number] = False
            return seen[number]

        return visible

    # -- status -------------------------------------------------------------------------

    def _status(self, request: Request) -> dict[str, Any]:
        who = self._who(request)
        project = request.query_params.get("project") or None
        status: dict[str, Any] = self.services.scheduler.status(
            project=project, visible=self._visibility(who))
        return status

    # -- buildsets ------------------------------------------------------------------------

    def _list(self, request: Request) -> list[dict[str, Any]]:
        who = self._who(request)
        q = request.query_params
        change = None
        if q.get("change"):
            # Resolving first gives the caller the same 401/404 as the change itself would.
            change = self.services.changes.resolve(q["change"], who).number
        limit = whole_number(q.get("limit", str(DEFAULT_LIMIT)), "limit", 1, MAX_LIMIT)
        skip = whole_number(q.get("skip", "0"), "skip")
        query = build_store.buildsets_query(
            project=q.get("project") or None, pipeline=q.get("pipeline") or None,
            change_number=change, result=q.get("result") or None)
        visible = self._visibility(who)
        found: list[BuildsetRecord] = []
        offset, page = 0, max(limit + skip, 100)
        # Visibility is per change, so filter in pages until enough visible ones are found.
        while len(found) < skip + limit:
            with self.services.db.read() as conn:
                rows = [build_store.buildset_record(r)
                        for r in conn.execute(query.offset(offset).limit(page))]
            found += [r for r in rows if r.change_number is None or visible(r.change_number)]
            if len(rows) < page:
                break
            offset += page
        return [self._json(r) for r in found[skip:skip + limit]]

    def _one(self, request: Request, uuid: str) -> dict[str, Any]:
        who = self._who(request)
        with self.services.db.read() as conn:
            record = build_store.get_buildset(conn, uuid)
            builds = build_store.builds_in(conn, uuid) if record is not None else []
        if record is None or (record.change_number is not None
                              and not self._visibility(who)(record.change_number)):
            # Say nothing about the change of a buildset the caller may not see.
            raise NotFound(f"buildset {uuid} not found")
        answer = self._json(record)
        answer["builds"] = [self._builds.json_of(b, request) for b in builds]
        return answer

    @staticmethod
    def _json(record: BuildsetRecord) -> dict[str, Any]:
        duration = ((record.ended - record.started).total_seconds()
                    if record.ended is not None else None)
        return {
            "uuid": record.uuid, "pipeline": record.pipeline, "project": record.project,
            "change": record.change_number, "patchset": record.patch_set, "ref": record.ref,
            "changes": record.changes.split(), "result": record.result,
            "message": record.message, "start_time": iso(record.started),
            "end_time": iso(record.ended), "duration": duration,
        }

