"""Accounts, groups and authentication."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from keepgreen.domain.account import (
    ADMINISTRATORS,
    BUILTIN_GROUPS,
    SYSTEM_GROUPS,
    Account,
    Group,
    Principal,
    valid_username,
)
from keepgreen.domain.group_access import may_see
from keepgreen.domain.throttle import LoginThrottle, account_key, client_key
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, TooManyAttempts
from keepgreen.services.review import passwords
from keepgreen.services.review.site_editor import SiteEditor
from keepgreen.siteconf import edits
from keepgreen.siteconf.model import GroupSpec, SiteState
from keepgreen.store import account_settings as settings_store
from keepgreen.store import accounts as store
from keepgreen.store import siteconf as siteconf_store
from keepgreen.store.db import ACCOUNTS, Database


@dataclass(frozen=True)
class NewAccount:
    username: str
    name: str = ""
    email: str | None = None
    http_password: str | None = None
    groups: tuple[str, ...] = ()


class AccountService:
    def __init__(self, db: Database, throttle: LoginThrottle | None = None) -> None:
        self.db = db
        self._verified = passwords.VerifiedCache()
        self._recent = passwords.RecentSignIns()
        db.subscribe(ACCOUNTS, self._recent.clear)  # heard from every process of the site
        self.throttle = throttle if throttle is not None else LoginThrottle()
        # Set on a site run from its config project: groups and memberships are then
        # changed as commits there (sites without one change the store directly).
        self.site: SiteEditor | None = None

    def _site(self, caller: Principal | None) -> SiteEditor | None:
        if caller is None or caller.account is None or self.site is None:
            return None  # the site itself (init, tests of the store) writes directly
        return self.site if self.site.active() else None

    def ensure_builtin_groups(self) -> None:
        with self.db.write() as conn:
            for name in BUILTIN_GROUPS:
                if store.group_by_name(conn, name) is None:
                    store.add_group(conn, name, f"keepgreen built-in group {name}")

    # -- who is asking -------------------------------------------------------------------
    def authenticate(self, username: str, password: str, client: str = "") -> Principal | None:
        """The principal of a username and HTTP password, or None when they do not match.

        An unknown username costs the same password check and gets the same None as a wrong
        password. Failures are counted per account and per ``client`` address; past the
        throttle's limit this raises ``TooManyAttempts`` without checking the password.
        """
        keys = [account_key(username)] + ([client_key(client)] if client else [])
        wait = self.throttle.retry_after(keys)
        if wait:
            raise TooManyAttempts(f"too many failed sign-ins for this account or from this "
                                  f"address; try again in {wait} seconds", wait)
        principal = self._check_password(username, password)
        if principal is None:
            self.throttle.failed(keys)
        else:
            self.throttle.clear(keys[0])
        return principal

    def _check_password(self, username: str, password: str) -> Principal | None:
        recent: Principal | None = self._recent.get(username, password)
        if recent is not None:
            return recent
        with self.db.read() as conn:
            found = store.account_for_sign_in(conn, username)
            account, stored = found if found is not None else (None, None)
            groups = store.group_names_of(conn, account.id) if account else set()
        if account is None or not account.active or not stored:
            passwords.verify_nothing(password)
            return None
        if not self._verified.hit(username, password, stored):
            if not passwords.verify(stored, password):
                return None
            self._verified.remember(username, password, stored)
        principal = Principal.of(account, groups)
        self._recent.put(username, password, principal)
        return principal

    def matching(self, prefix: str, limit: int) -> list[Account]:
        """Active accounts whose username, a word of their name, or email starts with
        ``prefix``."""
        with self.db.read() as conn:
            return store.accounts_matching(conn, prefix, limit)

    def principal(self, account: Account) -> Principal:
        with self.db.read() as conn:
            return Principal.of(account, store.group_names_of(conn, account.id))

    def get(self, key: str, caller: Principal | None = None) -> Account:
        if key == "self":
            if caller is None or caller.account is None:
                raise NotFound("'self' needs an authenticated caller")
            return caller.account
        with self.db.read() as conn:
            if caller is not None and caller.is_anonymous:
                # E-mail addresses are not shown to anonymous callers, so they do not find
                # accounts by one either: that would tell them whose address it is.
                account = (store.account_by_id(conn, int(key)) if key.isdigit() else None
                           ) or store.account_by_username(conn, key)
            else:
                account = store.find_account(conn, key)
        if account is None:
            raise NotFound(f"account {key!r} not found")
        return account

    # -- changes -------------------------------------------------------------------------
    def create(self, caller: Principal | None, new: NewAccount) -> Account:
        """Create an account; only administrators may (``caller`` None means the site itself)."""
        if caller is not None and not caller.is_admin:
            raise Forbidden("creating accounts needs membership in Administrators")
        if not valid_username(new.username):
            raise BadRequest(
                f"username {new.username!r} may only hold letters, digits and '._-@' "
                "and must not start with '-' or '.'")
        for label, value in (("name", new.name), ("email", new.email)):
            if value is not None and (len(value) > 255 or "\n" in value):
                raise BadRequest(f"{label} must be one line of at most 255 characters")
        hashed = passwords.hash_password(new.http_password) if new.http_password else None
        with self.db.write() as conn:
            if store.account_by_username(conn, new.username):
                raise Conflict(f"account {new.username!r} already exists")
            if new.email and settings_store.email_owner(conn, new.email) is not None:
                raise Conflict(f"email {new.email} already belongs to another account")
            groups = []
            for name in new.groups:
                group = store.group_by_name(conn, name)
                if group is None:
                    raise BadRequest(f"group {name!r} does not exist")
                groups.append(group)
            account = store.add_account(conn, new.username, new.name or new.username,
                                        new.email, hashed)
            site = self._site(caller)
            for group in groups:
                if group.name not in SYSTEM_GROUPS and site is None:
                    store.add_member(conn, group.id, account.id)
        joined = [g.name for g in groups if g.name not in SYSTEM_GROUPS]
        if site is not None and caller is not None and joined:
            def join(state: SiteState) -> SiteState:
                for name in joined:
                    state = edits.add_member(state, name, account.username)
                return state
            site.edit(caller, f"Add {account.username} to {', '.join(joined)}", join)
        return account

    def set_http_password(self, caller: Principal, key: str, password: str | None,
                          generate: bool) -> str | None:
        account = self.get(key, caller)
        if caller.account is None or (caller.account.id != account.id and not caller.is_admin):
            raise Forbidden("only the account itself or an administrator may set its password")
        if generate:
            password = passwords.generate()
        with self.db.write() as conn:
            store.set_password_hash(conn, account.id,
                                    passwords.hash_password(password) if password else None)
            # A new (or no) password ends every browser session signed in with the old one.
            store.bump_session_epoch(conn, account.id)
        return password

    def inspect(self, caller: Principal, key: str, what: str) -> Account:
        """The account ``key`` names, when the caller may see its ``what`` (e-mail addresses,
        capabilities, preferences...): only the account itself or an administrator may."""
        account = self.get(key, caller)
        if caller.account is None or (caller.account.id != account.id and not caller.is_admin):
            raise Forbidden(f"only the account itself or an administrator may see its {what}")
        return account

    def set_name(self, caller: Principal, key: str, name: str) -> Account:
        """Set the account's full name; an empty ``name`` deletes it. Only the account itself
        or an administrator may."""
        account = self.get(key, caller)
        if caller.account is None or (caller.account.id != account.id and not caller.is_admin):
            raise Forbidden("only the account itself or an administrator may change its name")
        name = name.strip()
        if len(name) > 255 or "\n" in name or "\r" in name:
            raise BadRequest("name must be one line of at most 255 characters")
        with self.db.write() as conn:
            store.update_account(conn, account.id, name, None)
        return replace(account, name=name)

    def set_active(self, caller: Principal, key: str, active: bool) -> bool:
        """Activate or deactivate an account, as administrators may; False when it already
        was so. Deactivating an account already inactive, or one's own, is a ``Conflict``."""
        if not caller.is_admin:
            raise Forbidden("activating and deactivating accounts needs membership in "
                            "Administrators")
        account = self.get(key, caller)
        if not active and caller.account is not None and caller.account.id == account.id:
            raise Conflict("you cannot deactivate your own account; ask another administrator")
        with self.db.write() as conn:
            changed = store.set_active(conn, account.id, active)
            if changed and not active:
                store.bump_session_epoch(conn, account.id)  # its browser sessions end now
        if not changed and not active:
            raise Conflict(f"account {account.username!r} is already inactive")
        return changed

    def registered_on(self, account: Account) -> datetime | None:
        with self.db.read() as conn:
            return store.registered_on(conn, account.id)

    # -- browser sessions ----------------------------------------------------------------
    def session_epoch(self, account_id: int) -> int | None:
        """The epoch a new session of the account records; None for no such account."""
        with self.db.read() as conn:
            return store.session_epoch(conn, account_id)

    def session_principal(self, account_id: int, epoch: int) -> Principal | None:
        """Who a session cookie of ``epoch`` signs in, or None when that session has ended
        (signed out, password changed, account gone or inactive)."""
        with self.db.read() as conn:
            account = store.account_by_id(conn, account_id)
            if (account is None or not account.active
                    or store.session_epoch(conn, account_id) != epoch):
                return None
            return Principal.of(account, store.group_names_of(conn, account.id))

    def end_sessions(self, account_id: int) -> None:
        """End every browser session of the account, in every browser."""
        with self.db.write() as conn:
            store.bump_session_epoch(conn, account_id)

    def groups_of(self, account: Account) -> list[Group]:
        with self.db.read() as conn:
            names = store.group_names_of(conn, account.id)
            return [g for g in store.all_groups(conn) if g.name in names]

    def create_group(self, caller: Principal | None, name: str, description: str = "",
                     owner: str | None = None, members: tuple[str, ...] = ()) -> Group:
        if caller is not None and not caller.is_admin:
            raise Forbidden("creating groups needs membership in Administrators")
        if not name.strip() or len(name) > 255 or "\n" in name:
            raise BadRequest("a group needs a name of 1 to 255 characters on one line")
        site = self._site(caller)
        if site is not None and caller is not None:
            with self.db.read() as conn:
                if store.group_by_name(conn, name):
                    raise Conflict(f"group {name!r} already exists")
                usernames = []
                for key in members:
                    account = store.find_account(conn, key)
                    if account is None:
                        raise BadRequest(f"account {key!r} not found")
                    usernames.append(account.username)
            spec = GroupSpec(name, description, owner or ADMINISTRATORS,
                             tuple(sorted(set(usernames))))
            site.edit(caller, f"Create group {name}", lambda s: edits.create_group(s, spec))
            return self.get_group(name)
        with self.db.write() as conn:
            if store.group_by_name(conn, name):
                raise Conflict(f"group {name!r} already exists")
            group = store.add_group(conn, name, description, owner or ADMINISTRATORS)
            for key in members:
                account = store.find_account(conn, key)
                if account is None:
                    raise BadRequest(f"account {key!r} not found")
                store.add_member(conn, group.id, account.id)
        return group

    def get_group(self, name: str) -> Group:
        """By name, else by numeric id, as Gerrit resolves a group identifier."""
        with self.db.read() as conn:
            group = store.group_by_name(conn, name)
            if group is None and name.isascii() and name.isdigit() and len(name) < 10:
                group = store.group_by_id(conn, int(name))
        if group is None:
            raise NotFound(f"group {name!r} not found")
        return group

    def list_groups(self) -> list[Group]:
        with self.db.read() as conn:
            return store.all_groups(conn)

    def members(self, name: str) -> list[Account]:
        group = self.get_group(name)
        with self.db.read() as conn:
            return store.members(conn, group.id)

    def add_member(self, caller: Principal | None, group_name: str, key: str) -> Account:
        group = self.get_group(group_name)
        if caller is not None and not may_see(caller, group):
            raise NotFound(f"group {group_name!r} not found")
        if group.name in SYSTEM_GROUPS:
            raise BadRequest(f"membership of {group.name!r} is implied and cannot be edited")
        if caller is not None and not (caller.is_admin or group.owner in caller.groups):
            raise Forbidden(
                f"adding members to {group.name!r} needs membership in its owner group "
                f"{group.owner!r}")
        site = self._site(caller)
        if site is not None and caller is not None:
            member = self.get(key)
            site.edit(caller, f"Add {member.username} to {group.name}",
                      lambda s: edits.add_member(s, group.name, member.username))
            return member
        with self.db.write() as conn:
            account = store.find_account(conn, key)
            if account is None:
                raise NotFound(f"account {key!r} not found")
            store.add_member(conn, group.id, account.id)
        return account

    def remove_member(self, caller: Principal, group_name: str, key: str) -> Account:
        """Take an account out of a group; needs Administrators or the group's owner group."""
        group = self.get_group(group_name)
        if not may_see(caller, group):
            raise NotFound(f"group {group_name!r} not found")
        if group.name in SYSTEM_GROUPS:
            raise BadRequest(f"membership of {group.name!r} is implied and cannot be edited")
        if not (caller.is_admin or group.owner in caller.groups):
            raise Forbidden(
                f"removing members from {group.name!r} needs membership in its owner group "
                f"{group.owner!r}")
        account = self.get(key)
        site = self._site(caller)
        if site is not None:
            site.edit(caller, f"Remove {account.username} from {group.name}",
                      lambda s: edits.remove_member(s, group.name, account.username))
            return account
        with self.db.write() as conn:
            siteconf_store.remove_member(conn, group.id, account.id)
        return account

    def accounts_by_ids(self, ids: set[int]) -> dict[int, Account]:
        with self.db.read() as conn:
            return store.accounts_by_ids(conn, ids)
