"""The event log over HTTP: ``GET /a/api/events?after=ID&limit=N`` (administrators).

Each item is ``{"id", "type", "event"}`` where ``event`` has the same fields as Gerrit's
``stream-events``; clients page by passing the last id they saw as ``after``.
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain.change import as_number
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest, Forbidden, Unauthorized
from keepgreen.store import events as event_store


def list_events(call: Call) -> Any:
    if call.who.account is None:
        raise Unauthorized("the event log needs you to sign in")
    if not call.who.is_admin:
        raise Forbidden("the event log needs membership in Administrators")
    after_text = call.query("after") or "0"
    after = 0 if after_text == "0" else as_number(after_text)
    limit = as_number(call.query("limit") or "1000")
    if after is None or limit is None:
        raise BadRequest("after and limit must be whole numbers")
    with call.services.db.read() as conn:
        rows = event_store.since(conn, after, min(limit, 5000))
    return [{"id": i, "type": t, "event": payload} for i, t, payload in rows]


ROUTES: list[Route] = [("GET", ("api", "events"), list_events)]
