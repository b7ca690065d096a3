"""Accounts' SSH public keys: added, listed and deleted by their owner (or an
administrator), and matched when someone signs in to the SSH port."""

from __future__ import annotations

import base64

from keepgreen.domain import ssh_key
from keepgreen.domain.account import Principal
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.accounts import AccountService
from keepgreen.store import accounts as account_store
from keepgreen.store import ssh_keys as store
from keepgreen.store.db import Database
from keepgreen.store.ssh_keys import StoredKey

# Enough for every machine a person works from; a bound keeps sign-in lookups cheap.
MAX_KEYS = 50


class SshKeyService:
    def __init__(self, db: Database, accounts: AccountService) -> None:
        self.db = db
        self.accounts = accounts

    def _owner(self, caller: Principal, key: str) -> int:
        if caller.account is None:
            raise Unauthorized("SSH keys need you to sign in")
        account = self.accounts.get(key, caller)
        if account.id != caller.account.id and not caller.is_admin:
            raise Forbidden("only the account itself or an administrator may see or change "
                            "its SSH keys")
        return account.id

    def list(self, caller: Principal, account: str) -> list[StoredKey]:
        account_id = self._owner(caller, account)
        with self.db.read() as conn:
            return store.keys_of(conn, account_id)

    def get(self, caller: Principal, account: str, seq: int) -> StoredKey:
        for stored in self.list(caller, account):
            if stored.seq == seq:
                return stored
        raise NotFound(f"SSH key {seq} not found")

    def add(self, caller: Principal, account: str, text: str) -> StoredKey:
        account_id = self._owner(caller, account)
        try:
            key = ssh_key.parse(text)
        except ssh_key.KeyProblem as exc:
            raise BadRequest(str(exc)) from None
        with self.db.write() as conn:
            existing = store.keys_of(conn, account_id)
            if any(k.key.encoded_key == key.encoded_key for k in existing):
                raise Conflict("this SSH key is already added to the account")
            if len(existing) >= MAX_KEYS:
                raise BadRequest(f"an account holds at most {MAX_KEYS} SSH keys; delete one "
                                 "first")
            return store.add_key(conn, account_id, key)

    def delete(self, caller: Principal, account: str, seq: int) -> None:
        account_id = self._owner(caller, account)
        with self.db.write() as conn:
            if not store.delete_key(conn, account_id, seq):
                raise NotFound(f"SSH key {seq} not found")

    def sign_in(self, username: str, blob: bytes) -> Principal | None:
        """Who signs in as ``username`` with the public key ``blob``; None when the account
        does not exist, is inactive or does not hold that key."""
        with self.db.read() as conn:
            account = store.key_holder(conn, username, base64.b64encode(blob).decode())
            if account is None:
                return None
            return Principal.of(account, account_store.group_names_of(conn, account.id))
