"""An account's e-mail addresses and external ids.

An account has at most one preferred address (``accounts.email``) and any number of others.
keepgreen sends no e-mail, so it cannot confirm that someone owns an address; letting people
claim addresses themselves would let them pose as others (account lookup by address, author
matching). So only administrators add addresses, which count as confirmed at once, as
Gerrit's ``no_confirmation`` does; the account itself may delete its addresses and choose
among them which one is preferred.

External ids are Gerrit's ``username:NAME`` (the sign-in name, which is never deleted) and
``mailto:ADDRESS`` for each address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keepgreen.domain.account import Account, Principal
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from keepgreen.services.review.account_settings import editable, inspected
from keepgreen.services.review.accounts import AccountService
from keepgreen.store import account_settings as store
from keepgreen.store.db import Database

MAX_EMAIL = 255
USERNAME_SCHEME = "username:"
MAILTO_SCHEME = "mailto:"


@dataclass(frozen=True)
class Emails:
    preferred: str | None
    others: tuple[str, ...]

    def all(self) -> list[str]:
        return ([self.preferred] if self.preferred else []) + list(self.others)

    def find(self, email: str) -> str | None:
        """The address as stored, for ``email`` in any case or ``preferred``."""
        if email == "preferred":
            return self.preferred
        return next((e for e in self.all() if e.lower() == email.lower()), None)


def check_email(email: str) -> str:
    local, at, domain = email.partition("@")
    if (not at or not local or not domain or "@" in domain or len(email) > MAX_EMAIL
            or any(c.isspace() or c in "<>,;\"" or ord(c) < 32 for c in email)):
        raise BadRequest(f"{email[:80]!r} is not a valid e-mail address")
    return email


class AccountEmails:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self.db = db
        self.accounts = accounts

    def emails(self, caller: Principal, key: str) -> tuple[Account, Emails]:
        account = inspected(self.accounts, caller, key, "e-mail addresses")
        return account, self.of(account)

    def of(self, account: Account) -> Emails:
        with self.db.read() as conn:
            return Emails(store.preferred_email(conn, account.id),
                          tuple(store.secondary_emails(conn, account.id)))

    def add(self, caller: Principal, key: str, email: str, preferred: bool) -> tuple[bool, bool]:
        """Add ``email`` to the account; (added, now preferred). Only administrators may:
        keepgreen has no mail to confirm an address with."""
        account = editable(self.accounts, caller, key, "e-mail addresses")
        if not caller.is_admin:
            raise Forbidden("keepgreen sends no confirmation e-mail, so only an administrator "
                            "can add an address to an account")
        check_email(email)
        with self.db.write() as conn:
            owner = store.email_owner(conn, email)
            current = store.preferred_email(conn, account.id)
            if owner == account.id:
                return False, bool(current and current.lower() == email.lower())
            if owner is not None:
                raise Conflict(f"{email} is already in use by another account")
            if current is None or preferred:
                if current is not None:
                    store.add_secondary_email(conn, account.id, current)
                store.set_preferred_email(conn, account.id, email)
                return True, True
            store.add_secondary_email(conn, account.id, email)
        return True, False

    def delete(self, caller: Principal, key: str, email: str) -> None:
        account = editable(self.accounts, caller, key, "e-mail addresses")
        with self.db.write() as conn:
            self._remove(conn, account, email)

    def _remove(self, conn: Any, account: Account, email: str) -> None:
        current = store.preferred_email(conn, account.id)
        if email == "preferred" or (current and current.lower() == email.lower()):
            if current is None:
                raise NotFound(f"account {account.username!r} has no preferred e-mail address")
            store.set_preferred_email(conn, account.id, None)
        elif not store.remove_secondary_email(conn, account.id, email):
            raise NotFound(f"account {account.username!r} has no e-mail address {email!r}")

    def set_preferred(self, caller: Principal, key: str, email: str) -> bool:
        """Make one of the account's addresses its preferred one; False if it already was."""
        account = editable(self.accounts, caller, key, "e-mail addresses")
        with self.db.write() as conn:
            current = store.preferred_email(conn, account.id)
            if email == "preferred" or (current and current.lower() == email.lower()):
                if current is None:
                    raise NotFound(f"account {account.username!r} has no preferred e-mail "
                                   "address")
                return False
            stored = next((e for e in store.secondary_emails(conn, account.id)
                           if e.lower() == email.lower()), None)
            if stored is None:
                raise NotFound(f"account {account.username!r} has no e-mail address "
                               f"{email!r}")
            store.remove_secondary_email(conn, account.id, stored)
            if current is not None:
                store.add_secondary_email(conn, account.id, current)
            store.set_preferred_email(conn, account.id, stored)
        return True

    def problems(self) -> list[dict[str, str]]:
        """ConsistencyProblemInfo entries for addresses held by more than one account."""
        with self.db.read() as conn:
            held = store.all_emails(conn)
        owners: dict[str, set[int]] = {}
        for account_id, email, _ in held:
            owners.setdefault(email.lower(), set()).add(account_id)
        return [{"status": "ERROR",
                 "message": f"e-mail address {email!r} belongs to several accounts: "
                            + ", ".join(str(a) for a in sorted(ids))}
                for email, ids in sorted(owners.items()) if len(ids) > 1]

    # -- external ids ---------------------------------------------------------------------
    def external_ids(self, caller: Principal, key: str) -> list[dict[str, Any]]:
        account = inspected(self.accounts, caller, key, "external ids")
        return external_id_infos(account, self.of(account), deletable=True)

    def delete_external_ids(self, caller: Principal, key: str, ids: list[str]) -> None:
        """Delete ``mailto:`` ids (and so those addresses); every id is checked before any
        is deleted, and the ``username:`` id is never deleted."""
        account = editable(self.accounts, caller, key, "external ids")
        emails = self.of(account)
        addresses = []
        for identity in ids:
            if identity.startswith(USERNAME_SCHEME) and \
                    identity[len(USERNAME_SCHEME):] == account.username:
                raise Conflict(f"{identity} is how the account signs in and cannot be deleted")
            found = (emails.find(identity[len(MAILTO_SCHEME):])
                     if identity.startswith(MAILTO_SCHEME) else None)
            if found is None or identity[len(MAILTO_SCHEME):] == "preferred":
                raise Unprocessable(f"external id {identity!r} does not exist")
            addresses.append(found)
        with self.db.write() as conn:
            for address in dict.fromkeys(addresses):
                self._remove(conn, account, address)


def external_id_infos(account: Account, emails: Emails,
                      deletable: bool = False) -> list[dict[str, Any]]:
    """AccountExternalIdInfo entries: the username, then each address."""
    infos: list[dict[str, Any]] = [{"identity": USERNAME_SCHEME + account.username,
                                    "trusted": True}]
    for email in emails.all():
        info: dict[str, Any] = {"identity": MAILTO_SCHEME + email, "email_address": email,
                                "trusted": True}
        if deletable:
            info["can_delete"] = True
        infos.append(info)
    return infos
