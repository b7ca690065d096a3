"""Failed sign-ins counted in a sliding window, per account and per client address.

``LoginThrottle`` is told of each failure under one or more keys (``account:alice``,
``client:198.51.100.7``). Once an account key has ``max_failures`` failures younger than
``window`` seconds, or an address key ``address_max_failures`` (many people may share one
address behind a proxy, so it gets a larger allowance that still stops a sweep across
accounts), ``retry_after`` names the seconds until the oldest of them ages out, and the
caller refuses the attempt without checking the password at all. The clock is injected, so
tests move time instead of waiting for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable


def account_key(username: str) -> str:
    return "account:" + username.casefold()


def client_key(address: str) -> str:
    return "client:" + address


class LoginThrottle:
    """Thread-safe failure counts; ``max_failures`` of 0 or less turns the throttle off."""

    def __init__(self, max_failures: int = 10, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000,
                 address_max_failures: int | None = None) -> None:
        self.max_failures = max_failures
        self.address_max_failures = (address_max_failures if address_max_failures is not None
                                     else max_failures * 10)
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds until an attempt under ``keys`` is allowed again; 0 means now."""
        if self.max_failures <= 0:
            return 0
        now = self._clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                limit = self._limit(key)
                if limit > 0 and len(times) >= limit:
                    oldest = times[len(times) - limit]
                    wait = max(wait, oldest + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: Iterable[str]) -> None:
        if self.max_failures <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._forget_expired(now)
            if len(self._failures) >= self._max_keys:
                # Flooded with distinct keys: forget the oldest half rather than grow.
                for key in list(self._failures)[: self._max_keys // 2]:
                    del self._failures[key]
            for key in keys:
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while len(times) > max(self._limit(key), 1):
                    times.popleft()

    def _limit(self, key: str) -> int:
        return self.address_max_failures if key.startswith("client:") else self.max_failures

    def __len__(self) -> int:
        """How many keys have failures on record (bounded by ``max_keys``)."""
        return len(self._failures)

    def clear(self, key: str) -> None:
        """Forget ``key``'s failures (its account just signed in with the right password)."""
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def _forget_expired(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
