"""REST: the parts of an account (``/accounts/{account}/...``): name, username, active flag,
status, e-mail addresses, global capabilities, preferences, state and starred changes
(reading them; account_settings_api changes them).

Anyone who may see an account reads its name, username, active flag and status; its
e-mail addresses, capabilities, preferences and state are for the account itself and
administrators; its starred changes for the account itself only, as in Gerrit.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keepgreen.domain import preferences as prefs
from keepgreen.domain.account import Account, Principal
from keepgreen.gerrit.account_settings_api import emails, settings, state_external_ids
from keepgreen.gerrit.accounts_api import group_info
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.changes_api import render_changes
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import Forbidden, NotFound, Unauthorized

# Gerrit's global capabilities with a yes/no answer, as CapabilityInfo names them.
ADMIN_CAPABILITIES = (
    "administrateServer", "createAccount", "createGroup", "createProject", "flushCaches",
    "killTask", "maintainServer", "modifyAccount", "readAs", "runGC", "viewAccess",
    "viewAllAccounts", "viewCaches", "viewConnections", "viewPlugins", "viewQueue",
    "viewSecondaryEmails")
# Every signed-in account may ask for e-mail to reviewers and follow stream-events here.
EVERYONE_CAPABILITIES = ("emailReviewers", "streamEvents")
# Granted to no one: keepgreen has no database console and no run-as.
NOBODY_CAPABILITIES = ("accessDatabase", "runAs")
KNOWN_CAPABILITIES = frozenset(ADMIN_CAPABILITIES + EVERYONE_CAPABILITIES
                               + NOBODY_CAPABILITIES)
QUERY_LIMIT = {"min": 0, "max": 500}  # the most changes one query answers


def _signed_in(call: Call) -> Principal:
    if call.who.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    return call.who


def _account(call: Call, account: str) -> Account:
    """The account named in the URL, as anyone who may see it finds it."""
    if account == "self":
        _signed_in(call)
    found: Account = call.services.accounts.get(account, call.who)
    return found


def _inspected(call: Call, account: str, what: str) -> Account:
    found: Account = call.services.accounts.inspect(_signed_in(call), account, what)
    return found


# -- name, username, active, status ---------------------------------------------------------

def get_name(call: Call, account: str) -> Any:
    return _account(call, account).name


def put_name(call: Call, account: str) -> Any:
    name = JsonObject.of(call.json()).text("name")
    changed = call.services.accounts.set_name(_signed_in(call), account, name)
    return changed.name if changed.name else no_content()


def delete_name(call: Call, account: str) -> Any:
    call.services.accounts.set_name(_signed_in(call), account, "")
    return no_content()


def get_username(call: Call, account: str) -> Any:
    found = _account(call, account)
    if not found.username:
        raise NotFound(f"account {account!r} has no username")
    return found.username


def get_status(call: Call, account: str) -> Any:
    return settings(call).profile(_account(call, account))[1]


def get_active(call: Call, account: str) -> Any:
    return "ok" if _account(call, account).active else no_content()


def put_active(call: Call, account: str) -> Any:
    changed = call.services.accounts.set_active(_signed_in(call), account, True)
    return Created("") if changed else ""


def delete_active(call: Call, account: str) -> Any:
    call.services.accounts.set_active(_signed_in(call), account, False)
    return no_content()


# -- e-mail addresses -----------------------------------------------------------------------

def _email_info(email: str, preferred: str | None) -> dict[str, Any]:
    return {"email": email, "preferred": True} if email == preferred else {"email": email}


def list_emails(call: Call, account: str) -> Any:
    _, held = emails(call).emails(_signed_in(call), account)
    return [_email_info(e, held.preferred) for e in held.all()]


def get_email(call: Call, account: str, email: str) -> Any:
    _, held = emails(call).emails(_signed_in(call), account)
    found = held.find(email)
    if found is None:
        raise NotFound(f"account {account!r} has no e-mail address {email!r}")
    return _email_info(found, held.preferred)


# -- capabilities -------------------------------------------------------------------------

def capability_info(who: Principal, wanted: set[str] | None = None) -> dict[str, Any]:
    """CapabilityInfo of ``who``: only the capabilities it holds, those in ``wanted``
    (lower-case names) when that is given."""
    def want(name: str) -> bool:
        return wanted is None or name.lower() in wanted

    held = list(EVERYONE_CAPABILITIES) + (list(ADMIN_CAPABILITIES) if who.is_admin else [])
    info: dict[str, Any] = {name: True for name in sorted(held) if want(name)}
    if want("queryLimit"):
        info["queryLimit"] = dict(QUERY_LIMIT)
    if wanted is not None and "priority" in wanted:
        # Gerrit names the thread pool only when asked or when it is not the interactive
        # one; keepgreen serves every account from one pool.
        info["priority"] = "INTERACTIVE"
    return info


def _wanted(call: Call) -> set[str] | None:
    values = call.query_all("q")
    if not values:
        return None
    return {name.lower() for value in values for name in value.replace(",", " ").split()}


def list_capabilities(call: Call, account: str) -> Any:
    found = _inspected(call, account, "capabilities")
    return capability_info(call.services.accounts.principal(found), _wanted(call))


def check_capability(call: Call, account: str, capability: str) -> Any:
    found = _inspected(call, account, "capabilities")
    held = capability_info(call.services.accounts.principal(found))
    if capability not in KNOWN_CAPABILITIES or held.get(capability) is not True:
        raise NotFound(f"account {account!r} does not have the capability {capability!r}")
    return Response("ok\n", media_type="text/plain; charset=UTF-8")


# -- state --------------------------------------------------------------------------------

def get_state(call: Call, account: str) -> Any:
    found = _inspected(call, account, "state")
    accounts = call.services.accounts
    detail = account_info(found)
    detail["registered_on"] = timestamp(accounts.registered_on(found))
    if not found.active:
        detail["inactive"] = True
    external_ids = state_external_ids(call, found)
    return {"account": detail,
            "capabilities": capability_info(accounts.principal(found)),
            "groups": [group_info(g) for g in accounts.groups_of(found)],
            "external_ids": external_ids}


# -- preferences --------------------------------------------------------------------------
# Stored values over the site's defaults over Gerrit's (keepgreen.domain.preferences); the
# PUT endpoints are in account_settings_api.

def get_preferences(call: Call, account: str) -> Any:
    return settings(call).preferences(_signed_in(call), account, prefs.GENERAL)


def get_diff_preferences(call: Call, account: str) -> Any:
    return settings(call).preferences(_signed_in(call), account, prefs.DIFF)


def get_edit_preferences(call: Call, account: str) -> Any:
    return settings(call).preferences(_signed_in(call), account, prefs.EDIT)


# -- starred changes ------------------------------------------------------------------------

def starred_changes(call: Call, account: str) -> Any:
    """The caller's starred changes, as ``GET /changes/?q=is:starred`` lists them."""
    who = _signed_in(call)
    found = call.services.accounts.get(account, who)
    if who.account is None or found.id != who.account.id:
        raise Forbidden("starred changes are only listed for the account itself "
                        "(use accounts/self/starred.changes)")
    changes, more = call.services.changes.query("is:starred", who, None, 0)
    rendered = render_changes(call, changes, set()) if changes else []
    if more and rendered:
        rendered[-1]["_more_changes"] = True
    return rendered


ROUTES: list[Route] = [
    ("GET", ("accounts", "{account}", "name"), get_name),
    ("PUT", ("accounts", "{account}", "name"), put_name),
    ("DELETE", ("accounts", "{account}", "name"), delete_name),
    ("GET", ("accounts", "{account}", "username"), get_username),
    ("GET", ("accounts", "{account}", "status"), get_status),
    ("GET", ("accounts", "{account}", "active"), get_active),
    ("PUT", ("accounts", "{account}", "active"), put_active),
    ("DELETE", ("accounts", "{account}", "active"), delete_active),
    ("GET", ("accounts", "{account}", "state"), get_state),
    ("GET", ("accounts", "{account}", "emails"), list_emails),
    ("GET", ("accounts", "{account}", "emails", "{email}"), get_email),
    ("GET", ("accounts", "{account}", "capabilities"), list_capabilities),
    ("GET", ("accounts", "{account}", "capabilities", "{capability}"), check_capability),
    ("GET", ("accounts", "{account}", "preferences"), get_preferences),
    ("GET", ("accounts", "{account}", "preferences.diff"), get_diff_preferences),
    ("GET", ("accounts", "{account}", "preferences.edit"), get_edit_preferences),
    ("GET", ("accounts", "{account}", "starred.changes"), starred_changes),
]
