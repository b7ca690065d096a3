"""What an account keeps about itself: preferences, watched projects, display name and
status, and its draft comments as a whole.

Only the account itself or an administrator reads or changes them (an administrator holds
Gerrit's ``modifyAccount`` here); anyone else is refused with 403, and an account the caller
cannot find is 404. The site's default preferences are read by anyone and set by
administrators.
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import preferences as prefs
from keepgreen.domain.account import Account, Principal
from keepgreen.services.errors import (
    BadRequest,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)
from keepgreen.services.review.accounts import AccountService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import account_settings as store
from keepgreen.store import review as review_store
from keepgreen.store.db import Database

MAX_WATCHES = 500  # entries in one request
MAX_WATCHES_KEPT = 1000  # watches one account keeps
MAX_FILTER = 1000  # characters in a watch's filter
MAX_PROFILE_TEXT = 255


def editable(accounts: AccountService, caller: Principal, key: str, what: str) -> Account:
    """The account ``key`` names, when ``caller`` may change its ``what``."""
    if caller.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    account = accounts.get(key, caller)
    if caller.account.id != account.id and not caller.is_admin:
        raise Forbidden(f"only the account itself or an administrator may change its {what}")
    return account


def inspected(accounts: AccountService, caller: Principal, key: str, what: str) -> Account:
    """The account ``key`` names, when ``caller`` may see its ``what``."""
    if caller.account is None:
        raise Unauthorized("sign in with your username and HTTP password")
    return accounts.inspect(caller, key, what)


def one_line(value: str, what: str) -> str:
    value = value.strip()
    if len(value) > MAX_PROFILE_TEXT or "\n" in value or "\r" in value:
        raise BadRequest(f"{what} must be one line of at most {MAX_PROFILE_TEXT} characters")
    return value


class AccountSettings:
    def __init__(self, db: Database, accounts: AccountService,
                 projects: ProjectService) -> None:
        self.db = db
        self.accounts = accounts
        self.projects = projects

    # -- preferences ------------------------------------------------------------------------
    def preferences(self, caller: Principal, key: str, kind: str) -> dict[str, Any]:
        account = inspected(self.accounts, caller, key, _what(kind))
        with self.db.read() as conn:
            return prefs.shown(kind, store.site_defaults(conn, kind),
                               store.preferences(conn, account.id, kind))

    def set_preferences(self, caller: Principal, key: str, kind: str,
                        data: dict[str, Any]) -> dict[str, Any]:
        account = editable(self.accounts, caller, key, _what(kind))
        given = _checked(kind, data)
        with self.db.write() as conn:
            stored = {**store.preferences(conn, account.id, kind), **given}
            store.set_preferences(conn, account.id, kind, stored)
            return prefs.shown(kind, store.site_defaults(conn, kind), stored)

    def site_defaults(self, kind: str) -> dict[str, Any]:
        with self.db.read() as conn:
            return prefs.shown(kind, store.site_defaults(conn, kind))

    def set_site_defaults(self, caller: Principal, kind: str,
                          data: dict[str, Any]) -> dict[str, Any]:
        if not caller.is_admin:
            raise Forbidden("setting the site's default preferences needs membership in "
                            "Administrators")
        given = _checked(kind, data)
        with self.db.write() as conn:
            stored = {**store.site_defaults(conn, kind), **given}
            store.set_site_defaults(conn, kind, stored)
        return prefs.shown(kind, stored)

    # -- watched projects -------------------------------------------------------------------
    def watches(self, caller: Principal, key: str) -> list[dict[str, Any]]:
        """The account's watches of projects it may still read, by project name."""
        account = inspected(self.accounts, caller, key, "watched projects")
        return self._watches(account)

    def _watches(self, account: Account) -> list[dict[str, Any]]:
        readable = {p.name for p in self.projects.visible(self.accounts.principal(account))}
        with self.db.read() as conn:
            rows = store.watches(conn, account.id)
        return [_watch_info(row) for row in rows if row["project"] in readable]

    def watch(self, caller: Principal, key: str,
              entries: list[tuple[str, str, dict[str, bool]]]) -> list[dict[str, Any]]:
        """Add or update watches (project, filter, notify flags); a project the account may
        not read is answered as one that does not exist."""
        account = editable(self.accounts, caller, key, "watched projects")
        self._check_watch_keys(entries)
        principal = self.accounts.principal(account)
        for project, _, _ in entries:
            self._readable(project, principal)
        with self.db.write() as conn:
            kept = {(w["project"], w["filter"]) for w in store.watches(conn, account.id)}
            if len(kept | {(p, f) for p, f, _ in entries}) > MAX_WATCHES_KEPT:
                raise BadRequest(f"an account watches at most {MAX_WATCHES_KEPT} projects "
                                 "and filters; delete some first")
            for project, filter_, flags in entries:
                store.put_watch(conn, account.id, project, filter_, flags)
        return self._watches(account)

    def unwatch(self, caller: Principal, key: str, entries: list[tuple[str, str]]) -> None:
        account = editable(self.accounts, caller, key, "watched projects")
        with self.db.write() as conn:
            for project, filter_ in entries:
                store.delete_watch(conn, account.id, project, filter_)

    def _readable(self, name: str, principal: Principal) -> None:
        try:
            self.projects.get(name, principal)
        except NotFound:
            raise Unprocessable(f"project {name!r} not found") from None

    @staticmethod
    def _check_watch_keys(entries: list[tuple[str, str, dict[str, bool]]]) -> None:
        if len(entries) > MAX_WATCHES:
            raise BadRequest(f"at most {MAX_WATCHES} watches can be set in one request")
        seen: set[tuple[str, str]] = set()
        for project, filter_, _ in entries:
            if (project, filter_) in seen:
                raise BadRequest(f"project {project!r} is listed twice with the same filter")
            seen.add((project, filter_))
            if len(filter_) > MAX_FILTER:
                raise BadRequest(f"a watch filter is at most {MAX_FILTER} characters")

    # -- display name and status ------------------------------------------------------------
    def profile(self, account: Account) -> tuple[str, str]:
        """Display name and status message of the account ("" when unset)."""
        with self.db.read() as conn:
            return store.profile(conn, account.id)

    def set_display_name(self, caller: Principal, key: str, value: str) -> str:
        account = editable(self.accounts, caller, key, "display name")
        value = one_line(value, "display_name")
        with self.db.write() as conn:
            store.set_profile(conn, account.id, display_name=value)
        return value

    def set_status(self, caller: Principal, key: str, value: str) -> str:
        account = editable(self.accounts, caller, key, "status")
        value = one_line(value, "status")
        with self.db.write() as conn:
            store.set_profile(conn, account.id, status=value)
        return value

    # -- draft comments ---------------------------------------------------------------------
    def own_account(self, caller: Principal, key: str) -> Account:
        """The account ``key`` names, when it is the caller's own: drafts are private to
        their author, so not even administrators act on anyone else's."""
        if caller.account is None:
            raise Unauthorized("sign in with your username and HTTP password")
        account = self.accounts.get(key, caller)
        if account.id != caller.account.id:
            raise Forbidden("only the author of draft comments may delete them")
        return account

    def changes_with_drafts(self, account: Account) -> list[int]:
        with self.db.read() as conn:
            return store.changes_with_drafts(conn, account.id)

    def delete_drafts(self, account: Account,
                      numbers: list[int]) -> dict[int, list[dict[str, Any]]]:
        """Delete the account's drafts on the changes ``numbers``; the deleted rows, per
        change, as mappings."""
        deleted: dict[int, list[dict[str, Any]]] = {}
        with self.db.write() as conn:
            for number in numbers:
                rows = review_store.comments_of(conn, number, drafts_of=account.id)
                if rows:
                    deleted[number] = [dict(r._mapping) for r in rows]
            store.delete_drafts(conn, account.id, deleted)
        return deleted


def _what(kind: str) -> str:
    return "preferences" if kind == prefs.GENERAL else f"{kind} preferences"


def _checked(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return prefs.checked(kind, data)
    except prefs.PreferenceError as exc:
        raise BadRequest(str(exc)) from None


def _watch_info(row: dict[str, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"project": row["project"]}
    if row["filter"]:
        info["filter"] = row["filter"]
    info.update({name: True for name in store.WATCH_FLAGS if row[name]})
    return info
