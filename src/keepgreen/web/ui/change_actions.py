"""What the change page's forms post: a reply (votes and a message), an inline comment or a
reply to one, and the change's actions (submit, abandon, restore, rebase, WIP, ready).

Each calls the same service as the REST endpoint, so the permission checks and refusals are
the same; every form needs the session's CSRF token (``Ui.form``) and answers with a redirect
back to the change page. Inline comments are published at once (no drafts), with a message
on the change as Gerrit writes when comments are published.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.domain.change import as_number
from keepgreen.domain.labels import DEFAULT_LABELS
from keepgreen.services.errors import BadRequest, Unauthorized
from keepgreen.services.review.review import SPECIAL_PATHS, CommentInput, ReviewInput
from keepgreen.web.ui.change_page import change_url, line_anchor
from keepgreen.web.ui.router import Ui, route

MAX_MESSAGE = 65536


def _patch_set(services: Any, change: Any, form: dict[str, str]) -> Any:
    details = services.changes.details([change], messages=False)[0]
    return services.changes.patch_set(details, form.get("ps") or "current")


def _reply(services: Any, who: Principal, change: Any, form: dict[str, str]) -> str:
    ps = _patch_set(services, change, form)
    votes = {}
    for label in DEFAULT_LABELS:
        raw = form.get("label-" + label.name)
        if raw is None or raw == "":
            continue
        try:
            votes[label.name] = int(raw)
        except ValueError:
            raise BadRequest(f"the vote for {label.name} must be a whole number") from None
    message = form.get("message", "").strip()
    if len(message) > MAX_MESSAGE:
        raise BadRequest(f"a message may be at most {MAX_MESSAGE} characters")
    # Votes that did not move are left out, so replying never re-records an unchanged vote
    # (which would need a current patch set and an open change).
    current = {v.label: v.value for v in
               services.changes.details([change], messages=False)[0].approvals
               if who.account and v.account_id == who.account.id
               and v.patch_set == change.current_patch_set}
    votes = {k: v for k, v in votes.items() if current.get(k, 0) != v}
    if not votes and not message:
        raise BadRequest("write a message or change a vote to reply")
    services.review.review(who, change, ps, ReviewInput(message=message, labels=votes))
    return change_url(change.project, change.number, ps.number) + "#messages"


def _comment(services: Any, who: Principal, change: Any, form: dict[str, str]) -> str:
    ps = _patch_set(services, change, form)
    path = form.get("path", "")
    message = form.get("message", "").strip()
    reply_to = form.get("in_reply_to") or None
    resolved = form.get("resolved") == "on"
    if form.get("done"):  # the "Done" button of a thread: resolve it with one word
        message, resolved = "Done", True
    if not message:
        raise BadRequest("a comment needs some text")
    if len(message) > MAX_MESSAGE:
        raise BadRequest(f"a comment may be at most {MAX_MESSAGE} characters")
    files = {f.path for f in services.merger.files(change.project, ps.sha)}
    if path not in files and path not in SPECIAL_PATHS:
        raise BadRequest(f"file {path} is not in patch set {ps.number}")
    line: int | None = None
    if form.get("line"):
        line = as_number(form["line"].strip())
        if line is None:
            raise BadRequest(f"line {form['line']!r} must be a line number from 1 up")
    side = "PARENT" if form.get("side") == "PARENT" else "REVISION"
    comment = CommentInput(path=path, message=message, line=line, side=side,
                           in_reply_to=reply_to, unresolved=not resolved)
    services.review.review(who, change, ps, ReviewInput(comments=[comment]))
    anchor = "#messages" if path in SPECIAL_PATHS else "#" + line_anchor(path, line)
    shown = form.get("view_ps", "")
    return change_url(change.project, change.number,
                      int(shown) if shown.isdigit() else ps.number) + anchor


def _state(action: str):  # type: ignore[no-untyped-def]
    def act(services: Any, who: Principal, change: Any, form: dict[str, str]) -> str:
        message = form.get("message", "").strip()
        if action == "abandon":
            services.review.abandon(who, change, message)
        elif action == "restore":
            services.review.restore(who, change, message)
        elif action == "rebase":
            services.revisions.rebase(who, change, None)
        elif action == "submit":
            services.submit.submit(who, change)
        elif action in ("wip", "ready"):
            services.review.set_wip(who, change, action == "wip", message)
        return change_url(change.project, change.number)
    return act


ACTIONS = {"reply": _reply, "comment": _comment,
           **{name: _state(name) for name in ("abandon", "restore", "rebase", "submit", "wip",
                                               "ready")}}


async def change_action(ui: Ui, request: Request, project: str, number: str,
                        action: str) -> Response:
    form = await ui.form(request)
    me = await ui.who(request)
    handler = ACTIONS.get(action)
    if handler is None:
        return await ui.error(request, 404, f"a change has no action called {action!r}")
    if me.account is None:
        raise Unauthorized(f"{action} needs you to sign in")

    def run() -> str:
        change = ui.services.changes.resolve(f"{project}~{number}", me)
        return handler(ui.services, me, change, form)

    target = await run_in_threadpool(run)
    return RedirectResponse(target, status_code=303)


ROUTES = [
    route("POST", r"/c/(?P<project>.+?)/\+/(?P<number>[0-9]+)/(?P<action>[a-z]+)",
          change_action),
]
