"""``/api/elections``: elections, ballots and results as plain JSON (no ``)]}'`` prefix).

- ``GET /api/elections``: every election with its phase and accepted candidates.
- ``GET /api/elections/{name}``: one election with its candidacies and electorate size.
- ``GET /api/elections/{name}/ballot``: the caller's standing (may vote, has voted); with
  the receipt in the ``X-Ballot-Receipt`` header, the ballot it names.
- ``PUT /api/elections/{name}/ballot``: ``{"ranking": [["ana"], ["bo", "cy"]]}`` casts a
  ballot and answers the receipt; with ``"receipt"`` in the body it replaces that ballot.
- ``GET /api/elections/{name}/result``: the outcome; once decided, with the pairwise and
  strongest-path matrices and every ballot by receipt hash.
- ``POST /api/elections/{name}/proposal``: an official asks for the change that puts the
  winner in the team's PTL group.

Credentials are HTTP Basic as elsewhere; refusals are one sentence with the usual status.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from keepgreen.gerrit.http import error_response, parse_json, service_error_response
from keepgreen.gerrit.request_input import check_request
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import BadRequest, ServiceError
from keepgreen.web.native import path_parts, refusal

PREFIX = "/api/elections"
RECEIPT_HEADER = "X-Ballot-Receipt"


class ElectionsApi:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, request: Request) -> Response:
        parts = path_parts(request, PREFIX)
        method = "GET" if request.method == "HEAD" else request.method
        elections = self.services.elections
        try:
            if elections is None:
                check_request(request.query_params, segments=parts)
                return error_response(404, "this site runs no elections")
            refused = refusal(request, parts, self._allowed(parts))
            if refused is not None:
                return refused
            who = self._auth.who(request, False)
            if not parts:
                return JSONResponse(await run_in_threadpool(elections.list, who))
            name = parts[0]
            if len(parts) == 1:
                return JSONResponse(await run_in_threadpool(elections.get, who, name))
            if parts[1] == "result":
                return JSONResponse(await run_in_threadpool(elections.result, who, name))
            if parts[1] == "proposal":
                return JSONResponse(await run_in_threadpool(elections.propose, who, name),
                                    status_code=201)
            if method == "GET":
                receipt = request.headers.get(RECEIPT_HEADER)
                return JSONResponse(await run_in_threadpool(elections.ballot, who, name,
                                                            receipt))
            body = parse_json(await request.body())
            receipt = body.get("receipt")
            if receipt is not None and not isinstance(receipt, str):
                raise BadRequest("receipt must be the text you were given when you voted")
            answer = await run_in_threadpool(elections.vote, who, name, body, receipt)
            return JSONResponse(answer, status_code=200 if answer["replaced"] else 201)
        except ServiceError as exc:
            return service_error_response(exc)

    @staticmethod
    def _allowed(parts: list[str]) -> tuple[str, ...] | None:
        if len(parts) <= 1:
            return ("GET",)
        if len(parts) == 2:
            return {"ballot": ("GET", "PUT"), "result": ("GET",),
                    "proposal": ("POST",)}.get(parts[1])
        return None
