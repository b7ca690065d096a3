"""The web UI: server-rendered pages (Jinja2), htmx for partial updates, no build step.

Pages read and write through the same services and permission checks as the REST API.
``router.WebUI`` matches a request to a page handler; each page module lists its ``ROUTES``;
``ROUTES`` here is every page the UI serves, in match order.
"""

from __future__ import annotations

from keepgreen.web.ui import (
    auth,
    builds,
    change_actions,
    change_page,
    dashboards,
    drift,
    elections,
    home,
    pads,
    projects,
    ssh_keys,
    status,
)
from keepgreen.web.ui.router import UiRoute

ROUTES: list[UiRoute] = [*auth.ROUTES, *home.ROUTES, *change_page.ROUTES,
                         *change_actions.ROUTES]
ROUTES += [*status.ROUTES, *builds.ROUTES, *projects.ROUTES, *drift.ROUTES,
           *ssh_keys.ROUTES, *elections.ROUTES, *pads.ROUTES, *dashboards.ROUTES]
