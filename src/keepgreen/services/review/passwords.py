"""HTTP passwords: argon2id hashes, and a short-lived cache of verified credentials.

Git clients send HTTP Basic credentials with every request of a clone or push, so the
expensive hash check runs once per password and later requests are matched by a keyed
digest held only in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_dummy: list[str] = []  # a hash of a random password, made on first use


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_nothing(password: str) -> bool:
    """Spend the time of a real ``verify`` and fail: for an unknown user, an inactive
    account or one without a password, so none of them answers faster than a wrong
    password would."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_urlsafe(18)))
    verify(_dummy[0], password)
    return False


def generate() -> str:
    """A new random HTTP password, as ``{"generate": true}`` asks for."""
    return secrets.token_urlsafe(18)


class VerifiedCache:
    """Remembers (account, password hash) pairs that verified, for ``ttl`` seconds."""

    def __init__(self, ttl: float = 300.0, size: int = 4096) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._size = size
        self._entries: dict[bytes, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def hit(self, username: str, password: str, stored_hash: str) -> bool:
        with self._lock:
            entry = self._entries.get(self._digest(username, password))
        return bool(entry and entry[0] > time.monotonic()
                    and hmac.compare_digest(entry[1].encode(), stored_hash.encode()))

    def remember(self, username: str, password: str, stored_hash: str) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[self._digest(username, password)] = (
                time.monotonic() + self._ttl, stored_hash)


class RecentSignIns:
    """The principals of (username, password) pairs that signed in within the last ``ttl``
    seconds: a push or a fetch signs in for each of its requests, milliseconds apart, and
    would read the account and its groups every time. ``clear`` (on every change of a
    password, an active flag or a membership, in any process of the site) and the short
    ``ttl`` keep a change from being missed."""

    def __init__(self, ttl: float = 5.0, size: int = 1024) -> None:
        self._key = secrets.token_bytes(32)
        self._ttl = ttl
        self._size = size
        self._entries: dict[bytes, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _digest(self, username: str, password: str) -> bytes:
        return hmac.new(self._key, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def get(self, username: str, password: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(self._digest(username, password))
        return entry[1] if entry is not None and entry[0] > time.monotonic() else None

    def put(self, username: str, password: str, principal: Any) -> None:
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[self._digest(username, password)] = (
                time.monotonic() + self._ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
