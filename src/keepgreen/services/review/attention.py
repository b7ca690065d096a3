"""The attention set of a change: read it, add and remove people by hand, and the helper
the review actions use to apply the automatic rules inside their own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keepgreen.domain import attention as rules
from keepgreen.domain.account import SERVICE_USERS, Account, Principal
from keepgreen.domain.change import NEW, Change
from keepgreen.services.errors import BadRequest, Conflict, NotFound, Unauthorized
from keepgreen.store import accounts as account_store
from keepgreen.store import attention as store
from keepgreen.store import changes as change_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

MAX_REASON = 255


@dataclass(frozen=True)
class Entry:
    account: Account
    in_set: bool
    reason: str
    reason_account: Account | None
    updated: datetime


def party(conn: Connection, change: Change) -> rules.Party:
    """Who the rules may put in ``change``'s attention set, read in ``conn``."""
    sets = change_store.patch_sets_of(conn, [change.number])[change.number]
    current = next((ps for ps in sets if ps.number == change.current_patch_set), None)
    uploader = current.uploader_id if current is not None else change.owner_id
    members = {change.owner_id, uploader} | {
        a for a, _ in change_store.people_of(conn, [change.number])[change.number]}
    groups = account_store.group_names_of_many(conn, members)
    bots = {a for a in members if SERVICE_USERS in groups.get(a, set())}
    return rules.Party(change.owner_id, uploader, frozenset(members), frozenset(bots),
                       change.wip)


def apply(conn: Connection, change: Change, turns: list[rules.Turn], by: int | None,
          now: datetime) -> None:
    store.apply(conn, change.number, turns, by, now)


def clear(conn: Connection, change: Change, why: str, by: int | None,
          now: datetime) -> None:
    store.apply(conn, change.number, rules.cleared(store.holders(conn, change.number), why),
                by, now)


class AttentionService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def entries(self, changes: list[Change]) -> dict[int, list[Entry]]:
        """Each change's attention records (in the set or removed), oldest first."""
        numbers = [c.number for c in changes]
        with self.db.read() as conn:
            rows = store.of(conn, numbers)
            ids = {r.account_id for n in numbers for r in rows[n]} | {
                r.reason_account_id for n in numbers for r in rows[n] if r.reason_account_id}
            accounts = account_store.accounts_by_ids(conn, ids)
        return {n: [Entry(accounts[r.account_id], r.in_set, r.reason,
                          accounts.get(r.reason_account_id) if r.reason_account_id else None,
                          r.updated)
                    for r in rows[n] if r.account_id in accounts] for n in numbers}

    def add(self, who: Principal, change: Change, user: str, reason: str) -> Entry:
        return self._set(who, change, user, reason, True)

    def remove(self, who: Principal, change: Change, user: str, reason: str) -> None:
        self._set(who, change, user, reason, False)

    def _set(self, who: Principal, change: Change, user: str, reason: str,
             add: bool) -> Entry:
        if who.account is None:
            raise Unauthorized("changing the attention set needs you to sign in")
        if not reason.strip():
            raise BadRequest("say why in 'reason'")
        if len(reason) > MAX_REASON:
            raise BadRequest(f"the reason is longer than {MAX_REASON} characters")
        if add and change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}; only open "
                           "changes have an attention set")
        now = utcnow()
        with self.db.write() as conn:
            account = account_store.find_account(conn, user) if user else None
            if account is None:
                raise (BadRequest if add else NotFound)(f"{user!r} is not a registered account")
            people = party(conn, change)
            if add and account.id not in people.members:
                raise BadRequest(f"{account.username} is not the owner, the uploader, a "
                                 f"reviewer or a CC of change {change.number}")
            if add and account.id in people.bots:
                raise BadRequest(f"{account.username} is a service user; bots are never "
                                 "in the attention set")
            store.apply(conn, change.number, [rules.Turn(account.id, add, reason.strip())],
                        who.account.id, now)
            change_store.update_change(conn, change.number, updated=now)
        return Entry(account, add, reason.strip(), who.account, now)
