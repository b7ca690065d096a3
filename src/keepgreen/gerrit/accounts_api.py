"""REST: accounts and groups."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.account import Group
from keepgreen.domain.group_access import may_see
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject, whole_number
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, Unauthorized
from keepgreen.services.review.accounts import NewAccount
from keepgreen.services.review.groups import GroupService


def _require_account(call: Call) -> None:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")


def get_account(call: Call, account: str) -> Any:
    if account == "self":
        _require_account(call)
    return account_info(call.services.accounts.get(account, call.who))


MAX_ACCOUNTS = 500
MAX_CANDIDATES = 5000


def query_accounts(call: Call) -> Any:
    """``GET /accounts/?q=``: bare words match a prefix of the username, a word of the name
    or the email (every word must match); ``username:``, ``email:`` and ``name:`` terms
    match those fields exactly (any case), ``is:active`` is implied. Signed-in callers
    only, so the account list cannot be scraped."""
    _require_account(call)
    text = call.query("q") or call.query("suggest") or ""
    if len(text) > 1024:
        raise BadRequest("q must be at most 1024 characters")
    limit = whole_number(call.query("n") or call.query("limit") or "100", "n", 1,
                         MAX_ACCOUNTS)
    start = whole_number(call.query("S") or call.query("start") or "0", "start", 0,
                         MAX_CANDIDATES)
    exact: list[tuple[str, str]] = []
    words: list[str] = []
    for term in text.split()[:16]:
        key, sep, value = term.partition(":")
        if sep and key in ("username", "email", "name"):
            exact.append((key, value.lower()))
        elif term == "is:active":
            continue
        elif sep and key in ("is", "account", "cansee", "group"):
            raise BadRequest(f"{term} is not supported in account queries")
        else:
            words.append(term)
    if not words and not exact:
        return []
    first = words[0] if words else exact[0][1]
    # Candidates come from the store by the first word; the other terms filter them.
    found = call.services.accounts.matching(first, MAX_CANDIDATES)

    def keeps(a: Any) -> bool:
        fields = {"username": a.username.lower(), "email": (a.email or "").lower(),
                  "name": a.name.lower()}
        prefixes = [a.username.lower(), (a.email or "").lower(), *a.name.lower().split()]
        return (all(fields[k] == v for k, v in exact)
                and all(any(p.startswith(w.lower()) for p in prefixes) for w in words))

    matched = [a for a in found if keeps(a)][start:start + limit + 1]
    result = [account_info(a) for a in matched[:limit]]
    if len(matched) > limit:
        result[-1]["_more_accounts"] = True
    return result


def create_account(call: Call, account: str) -> Any:
    _require_account(call)
    data = JsonObject.of(call.json())
    groups = data.texts("groups")
    username = data.text("username") or account
    if username != account:
        raise BadRequest(f"username {username!r} in the body differs from {account!r} in the URL")
    created = call.services.accounts.create(call.who, NewAccount(
        username=account, name=data.text("name") or account,
        email=data.optional_text("email"), http_password=data.optional_text("http_password"),
        groups=tuple(groups)))
    return Created(account_info(created))


def set_password(call: Call, account: str) -> Any:
    _require_account(call)
    data = JsonObject.of(call.json())
    password = data.optional_text("http_password")
    generate = data.flag("generate")
    result = call.services.accounts.set_http_password(call.who, account, password, generate)
    return result if result else no_content()


def delete_password(call: Call, account: str) -> Any:
    _require_account(call)
    call.services.accounts.set_http_password(call.who, account, None, False)
    return no_content()


def account_groups(call: Call, account: str) -> Any:
    _require_account(call)
    return [group_info(g) for g in call.services.accounts.groups_of(
        call.services.accounts.get(account, call.who)) if may_see(call.who, g)]


def group_info(group: Group) -> dict[str, Any]:
    return {"id": str(group.id), "group_id": group.id, "name": group.name,
            "description": group.description, "owner": group.owner,
            "options": {"visible_to_all": True} if group.visible_to_all else {}}


def _groups(call: Call) -> GroupService:
    groups: GroupService = call.services.groups
    return groups


def list_groups(call: Call) -> Any:
    """Every group the caller may see (see group_details_api for who sees what)."""
    return {g.name: group_info(g) for g in _groups(call).visible(call.who)}


def get_group(call: Call, group: str) -> Any:
    return group_info(_groups(call).find(call.who, group))


def group_detail(call: Call, group: str) -> Any:
    """The group with its direct members and the included groups the caller may see."""
    groups = _groups(call)
    found = groups.find(call.who, group)
    return {**group_info(found),
            "members": [account_info(a) for a in call.services.accounts.members(found.name)],
            "includes": [group_info(g) for g in groups.included(call.who, found.name)]}


def create_group(call: Call, group: str) -> Any:
    _require_account(call)
    data = JsonObject.of(call.json())
    members = data.texts("members")
    created = call.services.accounts.create_group(
        call.who, group, data.text("description"), data.optional_text("owner"),
        tuple(members))
    return Created(group_info(created))


def group_members(call: Call, group: str) -> Any:
    found = _groups(call).find(call.who, group)
    return [account_info(a) for a in call.services.accounts.members(found.name)]


def add_member(call: Call, group: str, account: str) -> Any:
    _require_account(call)
    return Created(account_info(call.services.accounts.add_member(call.who, group, account)))


def remove_member(call: Call, group: str, account: str) -> Any:
    _require_account(call)
    call.services.accounts.remove_member(call.who, group, account)
    return no_content()


ROUTES: list[Route] = [
    ("GET", ("accounts", ""), query_accounts),
    ("GET", ("accounts", "{account}"), get_account),
    ("PUT", ("accounts", "{account}"), create_account),
    ("GET", ("accounts", "{account}", "detail"), get_account),
    ("PUT", ("accounts", "{account}", "password.http"), set_password),
    ("DELETE", ("accounts", "{account}", "password.http"), delete_password),
    ("GET", ("accounts", "{account}", "groups"), account_groups),
    ("GET", ("groups", ""), list_groups),
    ("GET", ("groups", "{group}"), get_group),
    ("GET", ("groups", "{group}", "detail"), group_detail),
    ("PUT", ("groups", "{group}"), create_group),
    ("GET", ("groups", "{group}", "members"), group_members),
    ("GET", ("groups", "{group}", "members", ""), group_members),
    ("PUT", ("groups", "{group}", "members", "{account}"), add_member),
    ("POST", ("groups", "{group}", "members", "{account}"), add_member),
    ("DELETE", ("groups", "{group}", "members", "{account}"), remove_member),
]
