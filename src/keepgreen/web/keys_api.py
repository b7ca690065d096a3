"""``GET /api/tenant/{tenant}/key/{project}.pub``: a project's public key, where Zuul serves
it, so ``zuul-client encrypt`` and ``keepgreen encrypt --url`` find it.

keepgreen has one tenant, ``main`` (the ``zuul.tenant`` jobs see). The key of a project the
caller may not see is not found, as the project itself is not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.gerrit.http import error_response, service_error_response
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import ServiceError

TENANT = "main"
PREFIX = "/api/tenant/"


def key_path(path: str) -> tuple[str, str] | None:
    """(tenant, project) of a key URL path, or None when ``path`` is not one."""
    if not path.startswith(PREFIX) or not path.endswith(".pub"):
        return None
    tenant, sep, rest = path[len(PREFIX):].partition("/key/")
    if not sep or not tenant or "/" in tenant:
        return None
    project = unquote(rest[: -len(".pub")])
    return (tenant, project) if project else None


class KeysApi:
    def __init__(self, services: Any) -> None:
        self.services = services
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return key_path(path) is not None

    async def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(405, f"{request.method} is not allowed on "
                                       f"{request.url.path}")
        found = key_path(request.url.path)
        assert found is not None
        tenant, project = found
        if tenant != TENANT:
            return error_response(404, f'no tenant "{tenant}": this site has one, "{TENANT}"')
        try:
            who = self._auth.who(request, False)
            pem = await run_in_threadpool(self.services.project_keys.public_key, who, project)
        except ServiceError as exc:
            return service_error_response(exc)
        return Response(pem, media_type="text/plain")
