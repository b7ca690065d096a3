"""Accounts' SSH public keys in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from keepgreen.domain.account import Account
from keepgreen.domain.ssh_key import PublicKey
from keepgreen.store.clock import utcnow
from keepgreen.store.schema import account_ssh_keys, accounts


@dataclass(frozen=True)
class StoredKey:
    seq: int
    key: PublicKey
    valid: bool
    created: datetime


def keys_of(conn: Connection, account_id: int) -> list[StoredKey]:
    rows = conn.execute(select(account_ssh_keys)
                        .where(account_ssh_keys.c.account_id == account_id)
                        .order_by(account_ssh_keys.c.seq))
    return [StoredKey(r.seq, PublicKey(r.algorithm, r.encoded_key, r.comment), r.valid,
                      r.created) for r in rows]


def add_key(conn: Connection, account_id: int, key: PublicKey) -> StoredKey:
    """Store ``key`` under the account's next sequence number (numbers are never reused
    while a higher one exists, as in Gerrit)."""
    highest = conn.execute(select(func.max(account_ssh_keys.c.seq))
                           .where(account_ssh_keys.c.account_id == account_id)).scalar()
    seq = (highest or 0) + 1
    now = utcnow()
    conn.execute(insert(account_ssh_keys).values(
        account_id=account_id, seq=seq, algorithm=key.algorithm,
        encoded_key=key.encoded_key, comment=key.comment, valid=True, created=now))
    return StoredKey(seq, key, True, now)


def delete_key(conn: Connection, account_id: int, seq: int) -> bool:
    result = conn.execute(delete(account_ssh_keys).where(
        account_ssh_keys.c.account_id == account_id, account_ssh_keys.c.seq == seq))
    return bool(result.rowcount)


def key_holder(conn: Connection, username: str, encoded_key: str) -> Account | None:
    """The active account ``username`` if it holds the valid key ``encoded_key``."""
    row = conn.execute(
        select(accounts).join(account_ssh_keys, account_ssh_keys.c.account_id == accounts.c.id)
        .where(accounts.c.username == username, accounts.c.active.is_(True),
               account_ssh_keys.c.encoded_key == encoded_key,
               account_ssh_keys.c.valid.is_(True))).first()
    if row is None:
        return None
    return Account(row.id, row.username, row.name, row.email, row.active)
