"""REST: Gerrit features keepgreen does not have, answered as Gerrit answers when the
feature is empty or turned off, so clients read "nothing here" rather than an error.

keepgreen loads no plugins, keeps no named caches, has no background task queue, checks no
signed pushes (so keeps no GPG keys), has no contributor agreements, no avatar provider and
no flow service, and queries its SQL store directly, so there is no secondary index to
refresh: asking to index something succeeds and does nothing, because nothing is stale.
Who may ask follows Gerrit's rules (administrators hold every capability here); unknown
plugins, caches, tasks, keys and flows are 404, after any permission check.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import (
    BadRequest,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    Unprocessable,
)

NO_PLUGINS = "keepgreen loads no plugins; webhooks and CI are built in"


def _admin(who: Principal, what: str) -> None:
    if who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    if not who.is_admin:
        raise Forbidden(f"{what} needs membership in Administrators")


def _self_or_admin(call: Call, account: str, what: str) -> None:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    call.services.accounts.inspect(call.who, account, what)


# -- plugins ----------------------------------------------------------------------------------

def list_plugins(call: Call) -> Any:
    _admin(call.who, "listing plugins")
    return {}


def no_plugin(call: Call, plugin: str) -> Any:
    _admin(call.who, "managing plugins")
    raise NotFound(f"plugin {plugin!r} not found; {NO_PLUGINS}")


def install_plugin(call: Call, plugin: str) -> Any:
    _admin(call.who, "installing plugins")
    raise MethodNotAllowed(f"plugins cannot be installed: {NO_PLUGINS}")


# -- caches and tasks -------------------------------------------------------------------------

def list_caches(call: Call) -> Any:
    _admin(call.who, "listing caches")
    form = (call.query("format") or "").upper()
    if form == "LIST":
        return []
    if form == "TEXT_LIST":
        return PlainTextResponse("")  # the base64 of no names
    if form:
        raise BadRequest(f"format must be LIST or TEXT_LIST, not {form[:40]!r}")
    return {}


def cache_operation(call: Call) -> Any:
    _admin(call.who, "flushing caches")
    data = JsonObject.of(call.json())
    operation = data.text("operation").upper()
    if operation == "FLUSH_ALL":
        return Response(status_code=200)
    if operation == "FLUSH":
        names = data.texts("caches")
        if not names:
            raise BadRequest("caches must name at least one cache to flush")
        raise Unprocessable(f"cache {names[0]!r} not found; keepgreen keeps no named caches")
    raise BadRequest("operation must be FLUSH_ALL or FLUSH")


def no_cache(call: Call, cache: str) -> Any:
    _admin(call.who, "caches")
    raise NotFound(f"cache {cache!r} not found; keepgreen keeps no named caches")


def list_tasks(call: Call) -> Any:
    _admin(call.who, "listing tasks")
    return []


def no_task(call: Call, task: str) -> Any:
    _admin(call.who, "tasks")
    raise NotFound(f"task {task!r} not found; keepgreen has no background task queue "
                   "(/api/status shows its pipelines)")


# -- GPG keys, agreements, avatars ------------------------------------------------------------

def list_gpg_keys(call: Call, account: str) -> Any:
    _self_or_admin(call, account, "GPG keys")
    return {}


def no_gpg_key(call: Call, account: str, key: str) -> Any:
    _self_or_admin(call, account, "GPG keys")
    raise NotFound(f"GPG key {key!r} not found; keepgreen checks no signed pushes, so it "
                   "keeps no GPG keys")


def change_gpg_keys(call: Call, account: str) -> Any:
    data = JsonObject.of(call.json())
    added, deleted = data.texts("add"), data.texts("delete")
    _self_or_admin(call, account, "GPG keys")
    if added:
        raise MethodNotAllowed("keepgreen checks no signed pushes, so it keeps no GPG keys")
    if deleted:
        raise NotFound(f"GPG key {deleted[0]!r} not found")
    return {}


def list_agreements(call: Call, account: str) -> Any:
    _self_or_admin(call, account, "contributor agreements")
    return []


def sign_agreement(call: Call, account: str) -> Any:
    JsonObject.of(call.json()).text("name")
    raise MethodNotAllowed("contributor agreements are not used on this site")


def avatar(call: Call, account: str) -> Any:
    call.services.accounts.get(account, call.who)
    raise NotFound("keepgreen has no avatar provider, so no account has an avatar")


# -- flows ------------------------------------------------------------------------------------

def _change(call: Call, change: str) -> Any:
    return call.services.changes.resolve(change, call.who)


def flows_enabled(call: Call, change: str) -> Any:
    _change(call, change)
    return {"enabled": False}


def list_flows(call: Call, change: str) -> Any:
    _change(call, change)
    return []


def create_flow(call: Call, change: str) -> Any:
    _change(call, change)
    raise MethodNotAllowed("keepgreen has no flow service, so changes have no flows")


def no_flow(call: Call, change: str, flow: str) -> Any:
    _change(call, change)
    raise NotFound(f"flow {flow!r} not found; keepgreen has no flow service")


# -- index ------------------------------------------------------------------------------------

def index_account(call: Call, account: str) -> Any:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    found = call.services.accounts.get(account, call.who)
    if found.id != call.who.account.id and not call.who.is_admin:
        raise Forbidden("only the account itself or an administrator may index it")
    return no_content()


def index_change(call: Call, change: str) -> Any:
    found = _change(call, change)
    who = call.who
    if not who.is_admin and (who.account is None or who.account.id != found.owner_id):
        raise Forbidden("indexing a change needs its owner or membership in Administrators")
    return no_content()


def index_project(call: Call, project: str) -> Any:
    call.services.projects.get(project, call.who)
    _admin(call.who, "indexing a project")
    return no_content()


def index_group(call: Call, group: str) -> Any:
    found = call.services.accounts.get_group(group)
    who = call.who
    if not (who.is_admin or found.owner in who.groups):
        raise Forbidden(f"indexing group {found.name!r} needs membership in its owner group")
    return no_content()


def index_changes(call: Call) -> Any:
    _admin(call.who, "indexing changes")
    JsonObject.of(call.json()).texts("changes")
    return no_content()


_P = ("plugins", "{plugin}")
_A = ("accounts", "{account}")
_C = ("changes", "{change}")
ROUTES: list[Route] = [
    ("GET", ("plugins",), list_plugins),
    ("PUT", _P, install_plugin),
    ("DELETE", _P, no_plugin),
    ("GET", (*_P, "gerrit~status"), no_plugin),
    ("GET", (*_P, "gerrit~pushOptions"), no_plugin),
    ("POST", (*_P, "gerrit~enable"), no_plugin),
    ("POST", (*_P, "gerrit~disable"), no_plugin),
    ("POST", (*_P, "gerrit~reload"), no_plugin),
    ("GET", ("config", "server", "caches"), list_caches),
    ("POST", ("config", "server", "caches"), cache_operation),
    ("GET", ("config", "server", "caches", "{cache}"), no_cache),
    ("POST", ("config", "server", "caches", "{cache}", "flush"), no_cache),
    ("GET", ("config", "server", "tasks"), list_tasks),
    ("GET", ("config", "server", "tasks", "{task}"), no_task),
    ("DELETE", ("config", "server", "tasks", "{task}"), no_task),
    ("POST", ("config", "server", "index.changes"), index_changes),
    ("GET", (*_A, "gpgkeys"), list_gpg_keys),
    ("POST", (*_A, "gpgkeys"), change_gpg_keys),
    ("GET", (*_A, "gpgkeys", "{key}"), no_gpg_key),
    ("DELETE", (*_A, "gpgkeys", "{key}"), no_gpg_key),
    ("GET", (*_A, "agreements"), list_agreements),
    ("PUT", (*_A, "agreements"), sign_agreement),
    ("GET", (*_A, "avatar"), avatar),
    ("GET", (*_A, "avatar.change.url"), avatar),
    ("POST", (*_A, "index"), index_account),
    ("GET", (*_C, "is-flows-enabled"), flows_enabled),
    ("GET", (*_C, "flows"), list_flows),
    ("GET", (*_C, "flows-actions"), list_flows),
    ("POST", (*_C, "flows"), create_flow),
    ("GET", (*_C, "flows", "{flow}"), no_flow),
    ("DELETE", (*_C, "flows", "{flow}"), no_flow),
    ("POST", (*_C, "index"), index_change),
    ("POST", ("projects", "{project}", "index"), index_project),
    ("POST", ("projects", "{project}", "index.changes"), index_project),
    ("POST", ("groups", "{group}", "index"), index_group),
]
