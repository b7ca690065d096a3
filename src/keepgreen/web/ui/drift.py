"""``/drift``: whether production hosts still match what their project's main would deploy.

Each row is the newest ``drift-report`` (a periodic dry run, ``services.gating.dry_runs``) of
one deploy job of one project and branch, for the projects the viewer may read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.services.errors import ServiceError, Unauthorized
from keepgreen.store import events as event_store
from keepgreen.web.ui.router import Ui, route

REPORT = "drift-report"


def latest_reports(services: Any, who: Principal) -> list[dict[str, Any]]:
    """The newest report per (project, branch, job) that ``who`` may see, drifted first."""
    with services.db.read() as conn:
        found = event_store.latest_of_type(conn, REPORT)
    newest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for project, payload in found:
        key = (str(project), str(payload.get("branch")), str(payload.get("job")))
        newest.setdefault(key, payload)
    readable: dict[str, bool] = {}
    shown = []
    for (project, _, _), payload in newest.items():
        if project not in readable:
            try:
                services.projects.get(project, who)
                readable[project] = True
            except (ServiceError, Unauthorized):
                readable[project] = False
        if readable[project]:
            when = datetime.fromtimestamp(int(payload.get("eventCreatedOn") or 0), UTC)
            shown.append({**payload, "checked": when.strftime("%Y-%m-%d %H:%M:%S UTC")})
    order = {"drifted": 0, "failed": 1, "in-sync": 2}
    return sorted(shown, key=lambda r: (order.get(r.get("state", ""), 3), r["project"],
                                        r.get("job", "")))


async def drift_page(ui: Ui, request: Request) -> Response:
    who = await ui.who(request)
    reports = await run_in_threadpool(latest_reports, ui.services, who)
    return await ui.render(request, "drift.html", reports=reports)


ROUTES = [route("GET", r"/drift/?", drift_page)]
