"""REST: server configuration (``/config/server/...``): default preferences for accounts,
the global capabilities, a summary of the running process, reloading and checking the
site's configuration, and e-mail confirmation (which keepgreen has no use for).

Also gathers the routes of account_settings_api and absent_features_api, which the
composition root reaches through this module's ``ROUTES``.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import platform
import socket
import threading
from pathlib import Path
from typing import Any

from keepgreen import settings as settings_mod
from keepgreen.domain import preferences as prefs
from keepgreen.domain.account import Principal
from keepgreen.gerrit import absent_features_api, account_settings_api
from keepgreen.gerrit.account_details_api import (
    ADMIN_CAPABILITIES,
    EVERYONE_CAPABILITIES,
    NOBODY_CAPABILITIES,
)
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import Conflict, Forbidden, Unprocessable

CAPABILITY_NAMES = {
    "accessDatabase": "Access Database", "administrateServer": "Administrate Server",
    "createAccount": "Create Account", "createGroup": "Create Group",
    "createProject": "Create Project", "emailReviewers": "Email Reviewers",
    "flushCaches": "Flush Caches", "killTask": "Kill Task",
    "maintainServer": "Maintain Server", "modifyAccount": "Modify Account",
    "priority": "Priority", "queryLimit": "Query Limit", "readAs": "Read As",
    "runAs": "Run As", "runGC": "Run Garbage Collection", "streamEvents": "Stream Events",
    "viewAccess": "View Access", "viewAllAccounts": "View All Accounts",
    "viewCaches": "View Caches", "viewConnections": "View Connections",
    "viewPlugins": "View Plugins", "viewQueue": "View Queue",
    "viewSecondaryEmails": "View Secondary Emails",
}
# Settings whose values a reload report must not show.
SECRET_SETTINGS = frozenset({"database"})


def admin(who: Principal, what: str) -> None:
    """Refuse ``what`` to anyone but administrators, who hold every server capability."""
    if not who.is_admin:
        raise Forbidden(f"{what} needs membership in Administrators")


# -- default preferences ------------------------------------------------------------------

def _defaults(kind: str) -> tuple[Any, Any]:
    def get(call: Call) -> Any:
        return account_settings_api.settings(call).site_defaults(kind)

    def put(call: Call) -> Any:
        return account_settings_api.settings(call).set_site_defaults(call.who, kind,
                                                                     call.json())
    get.__name__, put.__name__ = f"get_default_{kind}", f"set_default_{kind}"
    return get, put


GET_GENERAL, PUT_GENERAL = _defaults(prefs.GENERAL)
GET_DIFF, PUT_DIFF = _defaults(prefs.DIFF)
GET_EDIT, PUT_EDIT = _defaults(prefs.EDIT)


# -- capabilities and menus -----------------------------------------------------------------

def list_capabilities(call: Call) -> Any:
    """Every global capability keepgreen knows, by id, as Gerrit's CapabilityInfo."""
    ids = set(ADMIN_CAPABILITIES + EVERYONE_CAPABILITIES + NOBODY_CAPABILITIES)
    ids |= {"priority", "queryLimit"}
    return {cid: {"id": cid, "name": CAPABILITY_NAMES.get(cid, cid)} for cid in sorted(ids)}


def top_menus(call: Call) -> Any:
    return []  # menus beyond the built-in ones come from plugins, and keepgreen has none


# -- summary ----------------------------------------------------------------------------------

def _size(kib: int) -> str:
    """A size in Gerrit's summary form: ``341.06m``."""
    for unit, scale in (("g", 1024 * 1024), ("m", 1024)):
        if kib >= scale:
            return f"{kib / scale:.2f}{unit}"
    return f"{kib:.2f}k"


def _proc_fields(path: str) -> dict[str, str]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, _, value in
            (line.partition(":") for line in lines)}


def _kib(fields: dict[str, str], key: str) -> int | None:
    value = fields.get(key, "").split()
    return int(value[0]) if value and value[0].isdigit() else None


def summary(call: Call) -> Any:
    """The process's own numbers where Gerrit gives the JVM's: ``used`` and ``max`` are the
    server process's resident and peak resident memory, ``total`` and ``free`` the machine's
    memory and what of it is available; keepgreen has no task queue, so no tasks."""
    admin(call.who, "the server summary")
    status = _proc_fields("/proc/self/status")
    meminfo = _proc_fields("/proc/meminfo")
    mem: dict[str, Any] = {}
    for name, source, key in (("total", meminfo, "MemTotal"), ("used", status, "VmRSS"),
                              ("free", meminfo, "MemAvailable"), ("max", status, "VmHWM")):
        kib = _kib(source, key)
        if kib is not None:
            mem[name] = _size(kib)
    try:
        mem["open_files"] = len(os.listdir("/proc/self/fd"))
    except OSError:
        pass
    threads = status.get("Threads", "")
    result: dict[str, Any] = {
        "task_summary": {},
        "mem_summary": mem,
        "thread_summary": {"cpus": os.cpu_count() or 1,
                           "threads": int(threads) if threads.isdigit()
                           else threading.active_count()},
    }
    if call.flag("jvm"):
        result["jvm_summary"] = {
            "vm_vendor": platform.python_implementation(),
            "vm_name": f"{platform.python_implementation()} {platform.python_version()}",
            "vm_version": platform.python_version(),
            "os_name": platform.system(), "os_version": platform.release(),
            "os_arch": platform.machine(), "user": getpass.getuser(),
            "host": socket.gethostname(), "current_working_directory": os.getcwd(),
            "site": str(call.services.settings.site),
        }
    return result


# -- reload and consistency ---------------------------------------------------------------

def reload(call: Call) -> Any:
    """Apply the config project's tip if it has not been applied yet, and compare the site
    file with the running settings: settings from ``keepgreen.toml`` take a restart, so each
    one that differs is listed as rejected."""
    admin(call.who, "reloading the configuration")
    applied: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    siteconf = call.services.siteconf
    if siteconf is not None:
        outcome = siteconf.apply_pending()
        if outcome is not None:
            entry = {"config_key": "config project", "new_value": outcome.sha}
            (applied if outcome.applied else rejected).append(entry)
    running = call.services.settings
    try:
        fresh = settings_mod.load(running.site)
    except settings_mod.SettingsError as exc:
        raise Conflict(f"the site file cannot be read, so nothing of it was reloaded: {exc}"
                       ) from None
    for field in dataclasses.fields(running):
        old, new = getattr(running, field.name), getattr(fresh, field.name)
        if field.name != "site" and old != new:
            secret = field.name in SECRET_SETTINGS
            rejected.append({"config_key": field.name,
                             "old_value": "(hidden)" if secret else str(old),
                             "new_value": "(hidden)" if secret else str(new)})
    return {"applied": applied, "rejected": rejected}


def check_consistency(call: Call) -> Any:
    admin(call.who, "checking consistency")
    data = JsonObject.of(call.json())
    result: dict[str, Any] = {}
    if "check_accounts" in data or "check_account_external_ids" in data:
        data.obj("check_accounts")
        data.obj("check_account_external_ids")
        problems = account_settings_api.emails(call).problems()
        if "check_accounts" in data:
            result["check_accounts_result"] = {"problems": problems}
        if "check_account_external_ids" in data:
            result["check_account_external_ids_result"] = {"problems": problems}
    if "check_groups" in data:
        data.obj("check_groups")
        groups = call.services.accounts.list_groups()
        names = {g.name for g in groups}
        result["check_groups_result"] = {"problems": [
            {"status": "ERROR",
             "message": f"group {g.name!r} is owned by {g.owner!r}, which does not exist"}
            for g in groups if g.owner not in names]}
    return result


def confirm_email(call: Call) -> Any:
    JsonObject.of(call.json()).text("token")
    raise Unprocessable("keepgreen sends no confirmation e-mails, so no token is valid; "
                        "an administrator adds addresses to accounts directly")


_S = ("config", "server")
ROUTES: list[Route] = [
    ("GET", (*_S, "preferences"), GET_GENERAL),
    ("PUT", (*_S, "preferences"), PUT_GENERAL),
    ("GET", (*_S, "preferences.diff"), GET_DIFF),
    ("PUT", (*_S, "preferences.diff"), PUT_DIFF),
    ("GET", (*_S, "preferences.edit"), GET_EDIT),
    ("PUT", (*_S, "preferences.edit"), PUT_EDIT),
    ("GET", (*_S, "capabilities"), list_capabilities),
    ("GET", (*_S, "top-menus"), top_menus),
    ("GET", (*_S, "summary"), summary),
    ("POST", (*_S, "reload"), reload),
    ("POST", (*_S, "check.consistency"), check_consistency),
    ("PUT", (*_S, "email.confirm"), confirm_email),
] + account_settings_api.ROUTES + absent_features_api.ROUTES
