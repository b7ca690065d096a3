"""REST: accounts and groups."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.account import Group
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, Unauthorized
from keepgreen.services.review.accounts import NewAccount


def _require_account(call: Call) -> None:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")


def get_account(call: Call, account: str) -> Any:
    if account == "self":
        _require_account(call)
    return account_info(call.services.accounts.get(account, call.who))


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
        call.services.accounts.get(account, call.who))]


def group_info(group: Group) -> dict[str, Any]:
    return {"id": str(group.id), "group_id": group.id, "name": group.name,
            "description": group.description, "owner": group.owner,
            "options": {"visible_to_all": True}}


def list_groups(call: Call) -> Any:
    return {g.name: group_info(g) for g in call.services.accounts.list_groups()}


def get_group(call: Call, group: str) -> Any:
    return group_info(call.services.accounts.get_group(group))


def create_group(call: Call, group: str) -> Any:
    _require_account(call)
    data = JsonObject.of(call.json())
    members = data.texts("members")
    created = call.services.accounts.create_group(
        call.who, group, data.text("description"), data.optional_text("owner"),
        tuple(members))
    return Created(group_info(created))


def group_members(call: Call, group: str) -> Any:
    return [account_info(a) for a in call.services.accounts.members(group)]


def add_member(call: Call, group: str, account: str) -> Any:
    _require_account(call)
    return Created(account_info(call.services.accounts.add_member(call.who, group, account)))


def remove_member(call: Call, group: str, account: str) -> Any:
    _require_account(call)
    call.services.accounts.remove_member(call.who, group, account)
    return no_content()


ROUTES: list[Route] = [
    ("GET", ("accounts", "{account}"), get_account),
    ("PUT", ("accounts", "{account}"), create_account),
    ("GET", ("accounts", "{account}", "detail"), get_account),
    ("PUT", ("accounts", "{account}", "password.http"), set_password),
    ("DELETE", ("accounts", "{account}", "password.http"), delete_password),
    ("GET", ("accounts", "{account}", "groups"), account_groups),
    ("GET", ("groups", ""), list_groups),
    ("GET", ("groups", "{group}"), get_group),
    ("GET", ("groups", "{group}", "detail"), get_group),
    ("PUT", ("groups", "{group}"), create_group),
    ("GET", ("groups", "{group}", "members"), group_members),
    ("GET", ("groups", "{group}", "members", ""), group_members),
    ("PUT", ("groups", "{group}", "members", "{account}"), add_member),
    ("POST", ("groups", "{group}", "members", "{account}"), add_member),
    ("DELETE", ("groups", "{group}", "members", "{account}"), remove_member),
]
