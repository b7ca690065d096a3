"""REST: evaluating a submit requirement or a query expression against one change, and
the access rights of several projects at once."""

from __future__ import annotations

from keepgreen.gerrit.router import Route

ROUTES: list[Route] = []
