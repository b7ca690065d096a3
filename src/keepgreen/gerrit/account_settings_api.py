"""REST: what an account changes about itself (``/accounts/{account}/...``): preferences,
watched projects, e-mail addresses, username, display name and status, external ids, all
its draft comments at once, and account deletion (which keepgreen refuses).

The rules (who may change what) live in ``services.review.account_settings`` and
``services.review.account_emails``; this module reads the input and shapes the answers.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from keepgreen.domain import preferences as prefs
from keepgreen.gerrit.changes_api import render_changes
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject, decode_json
from keepgreen.gerrit.review_api import comment_info
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, Forbidden, MethodNotAllowed, Unauthorized
from keepgreen.services.review.account_emails import AccountEmails, external_id_infos
from keepgreen.services.review.account_settings import AccountSettings, editable
from keepgreen.store.account_settings import WATCH_FLAGS

CHANGES_PER_QUERY = 100  # change numbers named in one query when deleting drafts


def settings(call: Call) -> AccountSettings:
    found: AccountSettings = call.services.account_settings
    return found


def emails(call: Call) -> AccountEmails:
    found: AccountEmails = call.services.emails
    return found


# -- preferences ------------------------------------------------------------------------------

def _put_preferences(kind: str) -> Any:
    def put(call: Call, account: str) -> Any:
        return settings(call).set_preferences(call.who, account, kind, call.json())
    put.__name__ = f"put_{kind}_preferences"
    return put


# -- watched projects -------------------------------------------------------------------------

def _watch_entries(call: Call) -> list[tuple[str, str, dict[str, bool]]]:
    data = decode_json(call.body)
    if data == {}:
        data = []
    if not isinstance(data, list):
        raise BadRequest("request body must be a list of ProjectWatchInfo objects")
    entries = []
    for i, raw in enumerate(data):
        item = JsonObject.of(raw, f"[{i}]")
        project = item.text("project").strip()
        if not project:
            raise BadRequest(f"[{i}].project must name a project")
        flags = {name: item.flag(name) for name in WATCH_FLAGS}
        entries.append((project, item.text("filter").strip(), flags))
    return entries


def list_watches(call: Call, account: str) -> Any:
    return settings(call).watches(call.who, account)


def add_watches(call: Call, account: str) -> Any:
    return settings(call).watch(call.who, account, _watch_entries(call))


def delete_watches(call: Call, account: str) -> Any:
    entries = _watch_entries(call)
    settings(call).unwatch(call.who, account, [(p, f) for p, f, _ in entries])
    return no_content()


# -- e-mail addresses -------------------------------------------------------------------------

def add_email(call: Call, account: str, email: str) -> Any:
    data = JsonObject.of(call.json())
    given = data.text("email", email)
    if given.lower() != email.lower():
        raise BadRequest("email in the body must match the address in the URL")
    data.flag("no_confirmation")  # implied: keepgreen has no mail to confirm with
    added, preferred = emails(call).add(call.who, account, email, data.flag("preferred"))
    info: dict[str, Any] = {"email": email}
    if preferred:
        info["preferred"] = True
    return Created(info) if added else info


def delete_email(call: Call, account: str, email: str) -> Any:
    emails(call).delete(call.who, account, email)
    return no_content()


def set_preferred_email(call: Call, account: str, email: str) -> Any:
    changed = emails(call).set_preferred(call.who, account, email)
    return Created("") if changed else ""


# -- username, display name, status, deletion -------------------------------------------------

def put_username(call: Call, account: str) -> Any:
    wanted = JsonObject.of(call.json()).text("username").strip()
    found = editable(call.services.accounts, call.who, account, "username")
    if wanted == found.username:
        return found.username
    raise MethodNotAllowed(f"the username of account {found.username!r} is set and cannot "
                           "be changed")


def put_display_name(call: Call, account: str) -> Any:
    value = JsonObject.of(call.json()).text("display_name")
    changed = settings(call).set_display_name(call.who, account, value)
    return changed if changed else no_content()


def put_status(call: Call, account: str) -> Any:
    value = JsonObject.of(call.json()).text("status")
    changed = settings(call).set_status(call.who, account, value)
    return changed if changed else no_content()


def delete_account(call: Call, account: str) -> Any:
    who = call.who
    if who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    found = call.services.accounts.get(account, who)
    if found.id != who.account.id:
        raise Forbidden("an account can only be deleted by itself")
    raise MethodNotAllowed("keepgreen does not delete accounts, since their changes and "
                           "votes stay part of the review history; an administrator can "
                           "deactivate one with DELETE /accounts/{id}/active")


# -- external ids -----------------------------------------------------------------------------

def list_external_ids(call: Call, account: str) -> Any:
    return emails(call).external_ids(call.who, account)


def delete_external_ids(call: Call, account: str) -> Any:
    data = decode_json(call.body)
    if data == {}:
        data = []
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise BadRequest("request body must be a list of external ids (strings)")
    emails(call).delete_external_ids(call.who, account, data)
    return no_content()


def state_external_ids(call: Call, found: Any) -> list[dict[str, Any]]:
    """The external ids shown in an account's state."""
    return external_id_infos(found, emails(call).of(found))


# -- draft comments ---------------------------------------------------------------------------

def delete_drafts(call: Call, account: str) -> Any:
    """Delete the caller's drafts on the changes they can see that match ``query`` (every
    change with drafts when there is none); a DeletedDraftCommentInfo per change."""
    query = JsonObject.of(call.json()).text("query").strip()
    service = settings(call)
    own = service.own_account(call.who, account)
    numbers = service.changes_with_drafts(own)
    matched = []
    for start in range(0, len(numbers), CHANGES_PER_QUERY):
        chunk = " OR ".join(f"change:{n}" for n in numbers[start:start + CHANGES_PER_QUERY])
        text = f"({query}) ({chunk})" if query else chunk
        found, _ = call.services.changes.query(text, call.who, None, 0)
        matched += found
    matched = list({c.number: c for c in matched}.values())
    deleted = service.delete_drafts(own, [c.number for c in matched])
    changes = [c for c in matched if c.number in deleted]
    if not changes:
        return []
    authors = call.services.accounts.accounts_by_ids({own.id})
    return [{"change": info,
             "deleted": [comment_info(SimpleNamespace(**row), authors)
                         for row in deleted[change.number]]}
            for change, info in zip(changes, render_changes(call, changes, set()),
                                    strict=True)]


_A = ("accounts", "{account}")
ROUTES: list[Route] = [
    ("PUT", (*_A, "preferences"), _put_preferences(prefs.GENERAL)),
    ("PUT", (*_A, "preferences.diff"), _put_preferences(prefs.DIFF)),
    ("PUT", (*_A, "preferences.edit"), _put_preferences(prefs.EDIT)),
    ("GET", (*_A, "watched.projects"), list_watches),
    ("POST", (*_A, "watched.projects"), add_watches),
    ("POST", (*_A, "watched.projects:delete"), delete_watches),
    ("PUT", (*_A, "emails", "{email}"), add_email),
    ("DELETE", (*_A, "emails", "{email}"), delete_email),
    ("PUT", (*_A, "emails", "{email}", "preferred"), set_preferred_email),
    ("PUT", (*_A, "username"), put_username),
    ("PUT", (*_A, "displayname"), put_display_name),
    ("PUT", (*_A, "status"), put_status),
    ("DELETE", _A, delete_account),
    ("GET", (*_A, "external.ids"), list_external_ids),
    ("POST", (*_A, "external.ids:delete"), delete_external_ids),
    ("POST", (*_A, "drafts:delete"), delete_drafts),
]
