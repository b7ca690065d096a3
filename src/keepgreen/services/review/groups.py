"""A group's settings, members and included groups: who may read and change them, and how
a change is written.

A group hidden from the caller (not visible to all, and the caller neither a member, an
owner nor an administrator) answers ``NotFound`` as if it did not exist; a group the caller
sees but does not own answers ``Forbidden`` to every change. Groups named in a request body
that cannot be found (or are hidden) are ``Unprocessable``, as in Gerrit.

On a site run from its ``config`` project every change is a commit there, made through the
same ``SiteEditor`` as member changes; without one, the edit is applied to the store's
state directly, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from keepgreen.domain.account import (
    BUILTIN_GROUPS,
    SYSTEM_GROUPS,
    Account,
    Group,
    Principal,
)
from keepgreen.domain.group_access import may_manage, may_see
from keepgreen.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unprocessable,
)
from keepgreen.services.review.accounts import AccountService
from keepgreen.siteconf import edits, group_edits
from keepgreen.siteconf.edits import EditRefused
from keepgreen.siteconf.model import SiteState
from keepgreen.store import accounts as store
from keepgreen.store import siteconf as siteconf_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

MAX_NAME = 255
MAX_DESCRIPTION = 4000
MAX_ITEMS = 100  # accounts or groups in one request


def _plain(text: str, what: str, limit: int, one_line: bool = True) -> str:
    if len(text) > limit or (one_line and ("\n" in text or "\r" in text)):
        raise BadRequest(f"{what} must be {'one line of ' if one_line else ''}at most "
                         f"{limit} characters")
    return text


class GroupService:
    """Reads and changes of one group; ``accounts`` finds accounts and knows the site."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.db: Database = accounts.db

    # -- finding -----------------------------------------------------------------------------
    @staticmethod
    def _lookup(conn: Connection, key: str) -> Group | None:
        """By name, else by numeric id, as Gerrit resolves a group identifier."""
        found = store.group_by_name(conn, key)
        if found is None and key.isascii() and key.isdigit() and len(key) < 10:
            found = store.group_by_id(conn, int(key))
        return found

    def find(self, caller: Principal, key: str) -> Group:
        """The group ``key`` names, when the caller may see it; else ``NotFound``."""
        with self.db.read() as conn:
            group = self._lookup(conn, key)
        if group is None or not may_see(caller, group):
            raise NotFound(f"group {key!r} not found")
        return group

    def visible(self, caller: Principal) -> list[Group]:
        with self.db.read() as conn:
            return [g for g in store.all_groups(conn) if may_see(caller, g)]

    def _named(self, caller: Principal, key: str) -> Group:
        """A group named in a request body: 422 when it is unknown or hidden."""
        with self.db.read() as conn:
            group = self._lookup(conn, key)
        if group is None or not may_see(caller, group):
            raise Unprocessable(f"group {key!r} not found")
        return group

    def _owned(self, caller: Principal, key: str, doing: str) -> Group:
        group = self.find(caller, key)
        if not may_manage(caller, group):
            raise Forbidden(f"{doing} {group.name!r} needs membership in its owner group "
                            f"{group.owner!r}")
        if group.name in SYSTEM_GROUPS:
            raise BadRequest(f"{group.name!r} is a system group; its membership is implied "
                             "and it cannot be changed")
        return group

    def owner_of(self, caller: Principal, key: str) -> Group:
        group = self.find(caller, key)
        with self.db.read() as conn:
            owner = store.group_by_name(conn, group.owner)
        if owner is None:
            raise NotFound(f"the owner group {group.owner!r} of {group.name!r} no longer "
                           "exists")
        return owner

    def audit_log(self, caller: Principal, key: str) -> list[object]:
        """Only owners read it. keepgreen keeps no per-group audit records: the history of
        the ``config`` project is the audit trail, so the list is empty."""
        self._owned(caller, key, "reading the audit log of")
        return []

    # -- writing -----------------------------------------------------------------------------
    def _edit(self, caller: Principal, message: str,
              change: Callable[[SiteState], SiteState]) -> None:
        site = self.accounts.site
        if site is not None and caller.account is not None and site.active():
            site.edit(caller, message, change)
            return
        with self.db.write() as conn:
            old = siteconf_store.running_state(conn)
            try:
                new = change(old)
            except EditRefused as exc:
                raise {"conflict": Conflict, "not-found": NotFound}.get(
                    exc.kind, BadRequest)(exc.message) from None
            siteconf_store.apply_state(conn, old, new, utcnow(), frozenset(BUILTIN_GROUPS))

    def rename(self, caller: Principal, key: str, name: str) -> str:
        group = self._owned(caller, key, "renaming")
        name = _plain(name.strip(), "the new name", MAX_NAME)
        if not name:
            raise BadRequest("name is required")
        if name == group.name:
            return name
        if group.name in BUILTIN_GROUPS:
            raise Conflict(f"{group.name!r} is built in and keepgreen knows it by that name; "
                           "it cannot be renamed")
        with self.db.read() as conn:
            if store.group_by_name(conn, name) is not None:
                raise Conflict(f"group {name!r} already exists")
        self._edit(caller, f"Rename group {group.name} to {name}",
                   lambda s: group_edits.rename_group(s, group.name, name))
        return name

    def set_description(self, caller: Principal, key: str, description: str) -> str:
        group = self._owned(caller, key, "describing")
        text = _plain(description.strip(), "description", MAX_DESCRIPTION, one_line=False)
        if text != group.description:
            self._edit(caller, f"Describe group {group.name}",
                       lambda s: group_edits.change_group(s, group.name, description=text))
        return text

    def set_visible_to_all(self, caller: Principal, key: str, visible: bool) -> bool:
        group = self._owned(caller, key, "changing the options of")
        if visible != group.visible_to_all:
            how = "visible to all" if visible else "visible to members and owners only"
            self._edit(caller, f"Make group {group.name} {how}",
                       lambda s: group_edits.change_group(s, group.name,
                                                          visible_to_all=visible))
        return visible

    def set_owner(self, caller: Principal, key: str, owner_key: str) -> Group:
        group = self._owned(caller, key, "changing the owner of")
        if not owner_key.strip():
            raise BadRequest("owner is required")
        owner = self._named(caller, owner_key)
        if owner.name in SYSTEM_GROUPS:
            raise BadRequest(f"membership of {owner.name!r} is implied; it cannot own a group")
        if owner.name != group.owner:
            self._edit(caller, f"Make {owner.name} the owner of group {group.name}",
                       lambda s: group_edits.change_group(s, group.name, owner=owner.name))
        return owner

    # -- members -----------------------------------------------------------------------------
    def member(self, caller: Principal, key: str, account_key: str) -> Account:
        group = self.find(caller, key)
        account = self.accounts.get(account_key, caller)
        with self.db.read() as conn:
            members = store.members(conn, group.id)
        if all(m.id != account.id for m in members):
            raise NotFound(f"account {account_key!r} is not a member of {group.name!r}")
        return account

    def _accounts(self, caller: Principal, keys: list[str]) -> list[Account]:
        if not keys:
            raise BadRequest("name at least one account in members")
        if len(keys) > MAX_ITEMS:
            raise BadRequest(f"at most {MAX_ITEMS} accounts at once")
        found: list[Account] = []
        with self.db.read() as conn:
            for key in keys:
                account = store.find_account(conn, key)
                if account is None:
                    raise Unprocessable(f"account {key!r} not found")
                if account not in found:
                    found.append(account)
        return found

    def add_members(self, caller: Principal, key: str, keys: list[str]) -> list[Account]:
        group = self._owned(caller, key, "adding members to")
        found = self._accounts(caller, keys)
        for account in found:
            if not account.active:
                raise Unprocessable(f"account {account.username!r} is inactive")
        with self.db.read() as conn:
            present = {m.id for m in store.members(conn, group.id)}
        new = [a.username for a in found if a.id not in present]
        if new:
            def add(state: SiteState) -> SiteState:
                for username in new:
                    state = edits.add_member(state, group.name, username)
                return state
            self._edit(caller, f"Add {', '.join(new)} to {group.name}", add)
        return found

    def remove_members(self, caller: Principal, key: str, keys: list[str]) -> None:
        group = self._owned(caller, key, "removing members from")
        found = self._accounts(caller, keys)
        with self.db.read() as conn:
            present = {m.id for m in store.members(conn, group.id)}
        gone = [a.username for a in found if a.id in present]
        if gone:
            def remove(state: SiteState) -> SiteState:
                for username in gone:
                    state = edits.remove_member(state, group.name, username)
                return state
            self._edit(caller, f"Remove {', '.join(gone)} from {group.name}", remove)

    # -- included groups ---------------------------------------------------------------------
    def included(self, caller: Principal, key: str) -> list[Group]:
        """The groups directly included in the group that the caller may see, by name."""
        group = self.find(caller, key)
        with self.db.read() as conn:
            return [g for g in store.included_groups(conn, group.id) if may_see(caller, g)]

    def included_one(self, caller: Principal, key: str, sub_key: str) -> Group:
        group = self.find(caller, key)
        sub = self.find(caller, sub_key)
        with self.db.read() as conn:
            if sub.id not in {g.id for g in store.included_groups(conn, group.id)}:
                raise NotFound(f"group {sub.name!r} is not included in {group.name!r}")
        return sub

    def _groups(self, caller: Principal, keys: list[str]) -> list[Group]:
        if not keys:
            raise BadRequest("name at least one group in groups")
        if len(keys) > MAX_ITEMS:
            raise BadRequest(f"at most {MAX_ITEMS} groups at once")
        found: list[Group] = []
        for key in keys:
            sub = self._named(caller, key)
            if sub not in found:
                found.append(sub)
        return found

    def include(self, caller: Principal, key: str, keys: list[str],
                in_url: bool = False) -> list[tuple[Group, bool]]:
        """Include the groups ``keys`` name; each with whether it is newly included."""
        group = self._owned(caller, key, "including groups in")
        if in_url:
            subs = [self.find(caller, k) for k in keys]
        else:
            subs = self._groups(caller, keys)
        for sub in subs:
            if sub.name in SYSTEM_GROUPS:
                raise BadRequest(f"membership of {sub.name!r} is implied; it cannot be "
                                 "included in a group")
            if sub.id == group.id:
                raise BadRequest(f"group {group.name!r} cannot include itself")
        with self.db.read() as conn:
            present = {g.name for g in store.included_groups(conn, group.id)}
        new = [s.name for s in subs if s.name not in present]
        if new:
            self._edit(caller, f"Include {', '.join(new)} in {group.name}",
                       lambda s: group_edits.set_includes(
                           s, group.name, {*s.groups[group.name].includes, *new}
                           if group.name in s.groups else set(new)))
        return [(s, s.name in new) for s in subs]

    def exclude(self, caller: Principal, key: str, keys: list[str],
                in_url: bool = False) -> None:
        group = self._owned(caller, key, "removing included groups from")
        with self.db.read() as conn:
            present = {g.name for g in store.included_groups(conn, group.id)}
        if in_url:
            subs = [self.find(caller, k) for k in keys]
            for sub in subs:
                if sub.name not in present:
                    raise NotFound(f"group {sub.name!r} is not included in {group.name!r}")
        else:
            subs = self._groups(caller, keys)
        gone = {s.name for s in subs if s.name in present}
        if gone:
            self._edit(caller, f"Stop including {', '.join(sorted(gone))} in {group.name}",
                       lambda s: group_edits.set_includes(
                           s, group.name, set(s.groups[group.name].includes) - gone
                           if group.name in s.groups else set()))
