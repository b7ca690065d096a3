"""REST: a reviewer's draft comments — list, create, read, update and delete, as Gerrit's
``/changes/{id}/revisions/{r}/drafts`` endpoints. Only the author sees their drafts: anyone
else's draft answers 404, like one that does not exist."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.review_api import comment_info, comment_input, comments_map
from keepgreen.gerrit.router import Created, Route


def _change(call: Call, change: str) -> Any:
    return call.services.changes.resolve(change, call.who)


def _patch_set(call: Call, found: Any, revision: str) -> Any:
    details = call.services.changes.details([found], messages=False)[0]
    return call.services.changes.patch_set(details, revision)


def _info(call: Call, row: dict[str, Any]) -> dict[str, Any]:
    accounts = call.services.accounts.accounts_by_ids({row["author_id"]})
    return comment_info(SimpleNamespace(**row), accounts)


def list_drafts(call: Call, change: str, revision: str | None = None) -> Any:
    found = _change(call, change)
    patch_set = _patch_set(call, found, revision).number if revision is not None else None
    if call.who.account is None:
        return {}
    return comments_map(call, found.number, patch_set, call.who.account.id)


def create_draft(call: Call, change: str, revision: str) -> Any:
    data = JsonObject.of(call.json())
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    row = call.services.drafts.save(call.who, found, ps, comment_input(data.text("path"),
                                                                       data))
    return Created(_info(call, row))


def get_draft(call: Call, change: str, revision: str, draft: str) -> Any:
    found = _change(call, change)
    return _info(call, call.services.drafts.get(call.who, found,
                                                _patch_set(call, found, revision), draft))


def update_draft(call: Call, change: str, revision: str, draft: str) -> Any:
    data = JsonObject.of(call.json())
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    old = call.services.drafts.get(call.who, found, ps, draft)
    row = call.services.drafts.update(call.who, found, ps, draft,
                                      comment_input(data.text("path", old["path"]), data))
    return _info(call, row)


def delete_draft(call: Call, change: str, revision: str, draft: str) -> Any:
    found = _change(call, change)
    call.services.drafts.delete(call.who, found, _patch_set(call, found, revision), draft)
    return no_content()


_REVISION = ("changes", "{change}", "revisions", "{revision}", "drafts")
ROUTES: list[Route] = [
    ("GET", ("changes", "{change}", "drafts"), list_drafts),
    ("GET", _REVISION, list_drafts),
    ("PUT", _REVISION, create_draft),
    ("GET", (*_REVISION, "{draft}"), get_draft),
    ("PUT", (*_REVISION, "{draft}"), update_draft),
    ("DELETE", (*_REVISION, "{draft}"), delete_draft),
    ("POST", (*_REVISION, "{draft}", "delete"), delete_draft),
]
