"""REST: change queries and reading changes.

Review actions (votes, submit, abandon...) build on this module in later work; until
then they answer 501 naming the endpoint, never a wrong shape.
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change
from keepgreen.gerrit.change_json import LABEL_VALUES, change_info, commit_info
from keepgreen.gerrit.http import Call, error_response, no_content
from keepgreen.gerrit.router import Route
from keepgreen.services.changes import ChangeDetails
from keepgreen.services.errors import BadRequest

DEFAULT_PAGE = 500


def _options(call: Call) -> set[str]:
    opts = set()
    for value in call.query_all("o"):
        opts.add(value.upper())
    # Gerrit also accepts the options as hex bits in O=; the named form is what clients use.
    return opts


def _permitted(call: Call, d: ChangeDetails) -> dict[str, list[str]]:
    who: Principal = call.who
    if who.account is None:
        return {}
    project = call.services.projects.exists(d.change.project)
    rules = call.services.projects.rules(project)
    result: dict[str, list[str]] = {}
    for label, values in LABEL_VALUES.items():
        if who.is_admin:
            lo, hi = min(int(v) for v in values), max(int(v) for v in values)
        else:
            lo, hi = acl.label_range(rules, who, label, "refs/heads/" + d.change.branch)
        allowed = [v for v in values if lo <= int(v) <= hi]
        if allowed and (lo, hi) != (0, 0):
            result[label] = allowed
    return result


def _render(call: Call, changes: list[Change], opts: set[str]) -> list[dict[str, Any]]:
    details = call.services.changes.details(changes, messages="MESSAGES" in opts)
    labels = "LABELS" in opts or "DETAILED_LABELS" in opts
    return [change_info(d, call.base_url, opts, _permitted(call, d) if labels else None)
            for d in details]


def _int(call: Call, name: str) -> int | None:
    raw = call.query(name)
    if raw is None:
        return None
    if not raw.lstrip("-").isdigit() or int(raw) < 0:
        raise BadRequest(f"{name}={raw} must be a whole number of at least 0")
    return int(raw)


def query_changes(call: Call) -> Any:
    queries = call.query_all("q") or ["status:open"]
    limit = _int(call, "n") or _int(call, "limit") or DEFAULT_PAGE
    start = _int(call, "start") or _int(call, "S") or 0
    opts = _options(call)
    pages = []
    for text in queries:
        found, more = call.services.changes.query(text, call.who, limit, start)
        rendered = _render(call, found, opts)
        if more and rendered:
            rendered[-1]["_more_changes"] = True
        pages.append(rendered)
    return pages if len(queries) > 1 else pages[0]


def get_change(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    return _render(call, [found], _options(call))[0]


def get_detail(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    opts = _options(call) | {"LABELS", "DETAILED_LABELS", "DETAILED_ACCOUNTS", "MESSAGES"}
    return _render(call, [found], opts)[0]


def get_commit(call: Call, change: str, revision: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    details = call.services.changes.details([found], messages=False)[0]
    return commit_info(call.services.changes.patch_set(details, revision))


def get_edit(call: Call, change: str) -> Any:
    call.services.changes.resolve(change, call.who)
    return no_content()


def get_topic(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    return found.topic or ""


def not_yet(call: Call, **params: str) -> Any:
    path = "/" + "/".join(call.segments)
    return error_response(501, f"{call.request.method} {path} is not implemented yet")


ROUTES: list[Route] = [
    ("GET", ("changes", ""), query_changes),
    ("GET", ("changes", "{change}"), get_change),
    ("GET", ("changes", "{change}", "detail"), get_detail),
    ("GET", ("changes", "{change}", "topic"), get_topic),
    ("GET", ("changes", "{change}", "edit"), get_edit),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "commit"), get_commit),
]
for _method, _path in [
    ("POST", ("changes", "")),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "review")),
    ("POST", ("changes", "{change}", "submit")),
    ("POST", ("changes", "{change}", "abandon")),
    ("POST", ("changes", "{change}", "restore")),
    ("POST", ("changes", "{change}", "rebase")),
    ("PUT", ("changes", "{change}", "topic")),
    ("DELETE", ("changes", "{change}", "topic")),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files")),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "comments")),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "related")),
]:
    ROUTES.append((_method, _path, not_yet))
