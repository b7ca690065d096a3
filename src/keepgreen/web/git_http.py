"""Git smart HTTP at ``/<project>``, ``/a/<project>`` and ``/p/<project>``.

keepgreen decides who may read or push a project; git's own ``http-backend`` speaks the
protocol. Every ref update of a push is handed back to keepgreen by the ``proc-receive``
hook, which is where uploads for review and the per-ref access rules are handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.project import Project
from keepgreen.gerrit.http import basic_credentials, service_error_response
from keepgreen.git import http_backend, serving
from keepgreen.git.hook_server import PushContext
from keepgreen.services.errors import ServiceError, Unauthorized

SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack")
# A fetch's negotiation (wants and haves) is small; git's own http-backend refuses to
# buffer more than this much of it by default.
MAX_FETCH_REQUEST_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class GitPath:
    project: str
    service_path: str  # e.g. "/info/refs"
    authenticated: bool

    @property
    def is_push(self) -> bool:
        return self.service_path == "/git-receive-pack"


def parse_git_path(raw_path: str) -> GitPath | None:
    """Recognise a smart-HTTP request path; None if it is not one."""
    path = unquote(raw_path.split("?", 1)[0])
    suffix = next((s for s in SUFFIXES if path.endswith(s)), None)
    if suffix is None:
        return None
    rest = path[: -len(suffix)]
    authenticated = rest.startswith("/a/")
    if authenticated or rest.startswith("/p/"):
        rest = rest[2:]
    project = rest.strip("/").removesuffix(".git")
    if not project:
        return None
    return GitPath(project, suffix, authenticated)


class GitHttp:
    def __init__(self, services: Any) -> None:
        self.services = services

    def _who(self, request: Request, required: bool) -> Principal:
        credentials = basic_credentials(request)
        if credentials is None:
            if required:
                raise Unauthorized("sign in with your username and HTTP password")
            return Principal.anonymous()
        client = request.client.host if request.client else ""
        principal = self.services.accounts.authenticate(*credentials, client=client)
        if principal is None:
            raise Unauthorized("wrong username or HTTP password")
        return principal

    def _authorise(self, request: Request,
                   path: GitPath) -> tuple[Principal, Project, list[acl.Rule]]:
        push = path.is_push or request.query_params.get("service") == "git-receive-pack"
        who = self._who(request, path.authenticated or push)
        project, rules = self.services.git_access.authorise(who, path.project, push)
        return who, project, rules

    def _hidden(self, who: Principal, project: Project,
                rules: list[acl.Rule]) -> tuple[list[int], list[str]]:
        """The changes, and the branches and tags, of ``project`` that ``who`` may not read."""
        hidden: tuple[list[int], list[str]] = self.services.git_access.hidden(who, project,
                                                                               rules)
        return hidden

    async def __call__(self, request: Request, path: GitPath) -> Response:
        settings = self.services.settings
        # Who asks is settled from the headers alone; no byte of the body is read before.
        try:
            who, project, rules = await run_in_threadpool(self._authorise, request, path)
            hidden_changes, hidden_refs = await run_in_threadpool(self._hidden, who, project,
                                                                  rules)
        except ServiceError as exc:
            refusal = service_error_response(exc)
            if request.method == "POST":
                # Closing is the only way not to read a body nobody will use.
                refusal.headers["Connection"] = "close"
            return refusal
        if path.is_push:
            limit, what = settings.max_push_bytes, "the push"
        else:
            limit, what = MAX_FETCH_REQUEST_BYTES, "the fetch request"
        length = request.headers.get("content-length")
        if length and length.isascii() and length.isdigit() and int(length) > limit:
            return http_backend.too_large(limit, what)
        push = path.is_push or request.query_params.get("service") == "git-receive-pack"
        hiding = bool(hidden_changes or hidden_refs)
        env = serving.serving_env(serving.serving_config(
            push=push, hooks_dir=self.services.hooks_dir, max_push_bytes=settings.max_push_bytes,
            is_admin=who.is_admin, hidden_changes=hidden_changes, hidden_refs=hidden_refs,
            sees_sources=who.is_service_user))
        token = None
        if who.account is not None:
            env["REMOTE_USER"] = who.account.username
        if path.service_path == "/git-receive-pack":
            token = self.services.hook_server.issue(
                PushContext(who, path.project, self.services.base_url(request), project,
                            tuple(rules)))
            env["KEEPGREEN_HOOK_SOCKET"] = str(self.services.hook_server.path)
            env["KEEPGREEN_HOOK_TOKEN"] = token
        # Protocol v2 lets a client ask for any object by name, hidden or not, so a caller
        # with hidden refs is answered in protocol v0, where git checks every want.
        response = await http_backend.run(
            request, self.services.repos.root, f"/{path.project}.git{path.service_path}", env,
            protocol=not hiding, limit=limit, what=what)
        if token is not None:
            response.background = BackgroundTask(self.services.hook_server.revoke, token)
        return response
