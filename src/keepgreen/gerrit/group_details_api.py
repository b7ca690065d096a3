"""REST: a group's name, description, options, owner, members and included groups.

Anyone who may see a group reads these; its owners (members of its owner group) and
administrators change them. A group not visible to all is seen only by its members, its
owners and administrators: to everyone else it does not exist (404).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.accounts_api import group_info
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import Unauthorized
from keepgreen.services.review.groups import GroupService


def _groups(call: Call) -> GroupService:
    groups: GroupService = call.services.groups
    return groups


def _signed_in(call: Call) -> Principal:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    return call.who


def _keys(call: Call, field: str, one: str) -> list[str]:
    """Gerrit's MembersInput / GroupsInput: a list under ``field`` and/or one id under
    ``one``."""
    data = JsonObject.of(call.json())
    keys = data.texts(field)
    single = data.optional_text(one)
    return [single, *keys] if single else keys


# -- name, description, options, owner, audit log -------------------------------------------

def get_name(call: Call, group: str) -> Any:
    return _groups(call).find(call.who, group).name


def put_name(call: Call, group: str) -> Any:
    name = JsonObject.of(call.json()).text("name")
    return _groups(call).rename(_signed_in(call), group, name)


def get_description(call: Call, group: str) -> Any:
    return _groups(call).find(call.who, group).description


def put_description(call: Call, group: str) -> Any:
    text = JsonObject.of(call.json()).text("description")
    result = _groups(call).set_description(_signed_in(call), group, text)
    return result if result else no_content()


def delete_description(call: Call, group: str) -> Any:
    _groups(call).set_description(_signed_in(call), group, "")
    return no_content()


def _options(visible: bool) -> dict[str, Any]:
    return {"visible_to_all": True} if visible else {}


def get_options(call: Call, group: str) -> Any:
    return _options(_groups(call).find(call.who, group).visible_to_all)


def put_options(call: Call, group: str) -> Any:
    visible = JsonObject.of(call.json()).flag("visible_to_all")
    return _options(_groups(call).set_visible_to_all(_signed_in(call), group, visible))


def get_owner(call: Call, group: str) -> Any:
    return group_info(_groups(call).owner_of(call.who, group))


def put_owner(call: Call, group: str) -> Any:
    owner = JsonObject.of(call.json()).text("owner")
    return group_info(_groups(call).set_owner(_signed_in(call), group, owner))


def get_audit_log(call: Call, group: str) -> Any:
    return _groups(call).audit_log(_signed_in(call), group)


# -- members --------------------------------------------------------------------------------

def get_member(call: Call, group: str, account: str) -> Any:
    if account == "self":
        _signed_in(call)
    return account_info(_groups(call).member(call.who, group, account))


def add_members(call: Call, group: str) -> Any:
    who = _signed_in(call)
    found = _groups(call).add_members(who, group, _keys(call, "members", "_one_member"))
    return [account_info(a) for a in found]


def delete_members(call: Call, group: str) -> Any:
    who = _signed_in(call)
    _groups(call).remove_members(who, group, _keys(call, "members", "_one_member"))
    return no_content()


# -- included groups ------------------------------------------------------------------------

def list_included(call: Call, group: str) -> Any:
    return [group_info(g) for g in _groups(call).included(call.who, group)]


def get_included(call: Call, group: str, included: str) -> Any:
    return group_info(_groups(call).included_one(call.who, group, included))


def put_included(call: Call, group: str, included: str) -> Any:
    [(sub, new)] = _groups(call).include(_signed_in(call), group, [included], in_url=True)
    return Created(group_info(sub)) if new else group_info(sub)


def include_groups(call: Call, group: str) -> Any:
    who = _signed_in(call)
    done = _groups(call).include(who, group, _keys(call, "groups", "_one_group"))
    return [group_info(sub) for sub, _ in done]


def delete_included(call: Call, group: str, included: str) -> Response:
    _groups(call).exclude(_signed_in(call), group, [included], in_url=True)
    return no_content()


def exclude_groups(call: Call, group: str) -> Response:
    who = _signed_in(call)
    _groups(call).exclude(who, group, _keys(call, "groups", "_one_group"))
    return no_content()


ROUTES: list[Route] = [
    ("GET", ("groups", "{group}", "name"), get_name),
    ("PUT", ("groups", "{group}", "name"), put_name),
    ("GET", ("groups", "{group}", "description"), get_description),
    ("PUT", ("groups", "{group}", "description"), put_description),
    ("DELETE", ("groups", "{group}", "description"), delete_description),
    ("GET", ("groups", "{group}", "options"), get_options),
    ("PUT", ("groups", "{group}", "options"), put_options),
    ("GET", ("groups", "{group}", "owner"), get_owner),
    ("PUT", ("groups", "{group}", "owner"), put_owner),
    ("GET", ("groups", "{group}", "log.audit"), get_audit_log),
    ("GET", ("groups", "{group}", "members", "{account}"), get_member),
    ("POST", ("groups", "{group}", "members"), add_members),
    ("POST", ("groups", "{group}", "members.add"), add_members),
    ("POST", ("groups", "{group}", "members.delete"), delete_members),
    ("GET", ("groups", "{group}", "groups"), list_included),
    ("GET", ("groups", "{group}", "groups", ""), list_included),
    ("GET", ("groups", "{group}", "groups", "{included}"), get_included),
    ("PUT", ("groups", "{group}", "groups", "{included}"), put_included),
    ("DELETE", ("groups", "{group}", "groups", "{included}"), delete_included),
    ("POST", ("groups", "{group}", "groups"), include_groups),
    ("POST", ("groups", "{group}", "groups.add"), include_groups),
    ("POST", ("groups", "{group}", "groups.delete"), exclude_groups),
]
