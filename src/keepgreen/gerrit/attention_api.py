"""REST: a change's attention set (who is expected to act next), as Gerrit's
``/changes/{id}/attention`` endpoints and ChangeInfo's ``attention_set`` give it."""

from __future__ import annotations

from typing import Any

from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.attention import Entry


def entry_info(entry: Entry) -> dict[str, Any]:
    info: dict[str, Any] = {"account": account_info(entry.account),
                            "last_update": timestamp(entry.updated), "reason": entry.reason}
    if entry.reason_account is not None:
        info["reason_account"] = account_info(entry.reason_account)
    return info


def attention_fields(entries: list[Entry]) -> dict[str, Any]:
    """ChangeInfo's ``attention_set`` and ``removed_from_attention_set``, keyed by account
    id as Gerrit keys them."""
    return {
        "attention_set": {str(e.account.id): entry_info(e) for e in entries if e.in_set},
        "removed_from_attention_set": {str(e.account.id): entry_info(e) for e in entries
                                       if not e.in_set},
    }


def _change(call: Call, change: str) -> Any:
    return call.services.changes.resolve(change, call.who)


def list_attention(call: Call, change: str) -> Any:
    found = _change(call, change)
    entries = call.services.attention.entries([found])[found.number]
    return [entry_info(e) for e in entries if e.in_set]


def add_attention(call: Call, change: str) -> Any:
    data = JsonObject.of(call.json())
    user = data.text("user")
    if not user:
        raise BadRequest("name the user in 'user'")
    entry = call.services.attention.add(call.who, _change(call, change), user,
                                        data.text("reason"))
    return entry_info(entry)


def remove_attention(call: Call, change: str, account: str) -> Any:
    data = JsonObject.of(call.json()) if call.body else JsonObject.of({})
    found = _change(call, change)
    user = call.services.accounts.get(account, call.who).username
    call.services.attention.remove(call.who, found, user,
                                   data.text("reason") or "removed by hand")
    return no_content()


def review_attention(data: JsonObject, key: str) -> list[tuple[str, str]]:
    """A ReviewInput's ``add_to_attention_set`` / ``remove_from_attention_set``."""
    result = []
    for i, item in enumerate(data.items(key)):
        entry = JsonObject.of(item, f"{key}[{i}]")
        user = entry.text("user")
        if not user:
            raise BadRequest(f"{key}[{i}] needs a 'user'")
        result.append((user, entry.text("reason")))
    return result


ROUTES: list[Route] = [
    ("GET", ("changes", "{change}", "attention"), list_attention),
    ("POST", ("changes", "{change}", "attention"), add_attention),
    ("DELETE", ("changes", "{change}", "attention", "{account}"), remove_attention),
    ("POST", ("changes", "{change}", "attention", "{account}", "delete"), remove_attention),
]
