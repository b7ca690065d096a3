"""Election pages: the list, one election (candidates and their statements, schedule,
electorate, the ballot form while voting is open, the receipt check) and its result with
the full pairwise and strongest-path matrices.

The ballot form gives each candidate a rank number; equal numbers are ties, a blank leaves
the candidate unranked (below every ranked one). Forms post through the same service calls
as ``/api/elections``, so the refusals are the same sentences.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.services.errors import BadRequest, ServiceError
from keepgreen.web.ui.router import Ui, route

NAME = r"(?P<name>[a-z0-9][a-z0-9._-]{0,62})"


async def election_list(ui: Ui, request: Request) -> Response:
    who = await ui.who(request)
    elections = await run_in_threadpool(ui.services.elections.list, who)
    return await ui.render(request, "elections.html", elections=elections)


async def _page(ui: Ui, request: Request, name: str, status: int = 200,
                **extra: Any) -> Response:
    who = await ui.who(request)

    def load() -> dict[str, Any]:
        service = ui.services.elections
        election = service.get(who, name)
        standing = None
        if not who.is_anonymous and election["may_vote"]:
            standing = service.ballot(who, name, None)
        return {"election": election, "standing": standing,
                "result": service.result(who, name)}

    context = await run_in_threadpool(load)
    return await ui.render(request, "election.html", status=status, **context, **extra)


async def election_page(ui: Ui, request: Request, name: str) -> Response:
    return await _page(ui, request, name)


def ranking_of(form: dict[str, str], candidates: list[str]) -> list[list[str]]:
    """Rank numbers from the form (``rank-<candidate>``) as groups, best first."""
    places: dict[int, list[str]] = {}
    for candidate in candidates:
        raw = form.get(f"rank-{candidate}", "").strip()
        if not raw:
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= len(candidates):
            raise BadRequest(f"the rank of {candidate} must be a number from 1 to "
                             f"{len(candidates)}, or left blank")
        places.setdefault(int(raw), []).append(candidate)
    return [places[n] for n in sorted(places)]


async def cast_ballot(ui: Ui, request: Request, name: str) -> Response:
    who = await ui.who(request)
    form = await ui.form(request)

    def vote() -> dict[str, Any]:
        service = ui.services.elections
        candidates = service.get(who, name)["candidates"]
        receipt = form.get("receipt", "").strip() or None
        answer: dict[str, Any] = service.vote(
            who, name, {"ranking": ranking_of(form, candidates)}, receipt)
        return answer

    try:
        answer = await run_in_threadpool(vote)
    except ServiceError as exc:
        return await _page(ui, request, name, status=exc.status, problem=exc.message)
    return await _page(ui, request, name, cast=answer)


async def verify_ballot(ui: Ui, request: Request, name: str) -> Response:
    who = await ui.who(request)
    form = await ui.form(request)
    receipt = form.get("receipt", "").strip()
    try:
        found = await run_in_threadpool(ui.services.elections.ballot, who, name,
                                        receipt or None)
        if not receipt:
            raise BadRequest("enter the receipt you were given when you voted")
    except ServiceError as exc:
        return await _page(ui, request, name, status=exc.status, problem=exc.message)
    return await _page(ui, request, name, verified=found)


async def propose_winner(ui: Ui, request: Request, name: str) -> Response:
    who = await ui.who(request)
    await ui.form(request)
    try:
        answer = await run_in_threadpool(ui.services.elections.propose, who, name)
    except ServiceError as exc:
        return await _page(ui, request, name, status=exc.status, problem=exc.message)
    return await _page(ui, request, name, proposed=answer)


ROUTES = [
    route("GET", r"/elections/?", election_list),
    route("GET", rf"/elections/{NAME}/?", election_page),
    route("POST", rf"/elections/{NAME}/ballot", cast_ballot),
    route("POST", rf"/elections/{NAME}/verify", verify_ballot),
    route("POST", rf"/elections/{NAME}/proposal", propose_winner),
]
