"""Webhooks as plain rules: which URLs a remote may have, how a body is signed, and when a
failed delivery is tried again. Standard library only."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_URL = 2048
MAX_TRIES = 10
MAX_INTERVAL = 3600
SIGNATURE_HEADER = "X-Keepgreen-Signature-256"


@dataclass(frozen=True)
class Remote:
    """One webhook of a project: where events go and which."""

    project: str
    name: str
    url: str
    events: tuple[str, ...] = ()  # empty: every event type
    secret: str = ""
    max_tries: int = 5
    retry_interval: int = 30
    owner_id: int = 0
    id: int = 0

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook's address, or None: http or https, a host, no
    credentials in it, at most ``MAX_URL`` characters."""
    if len(url) > MAX_URL:
        return f"url must be at most {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return f"url {url[:80]!r} is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "url must be an http:// or https:// URL with a host"
    if parts.username or parts.password:
        return "url must not carry credentials; use the secret to sign deliveries"
    if port == 0:
        return "url has no usable port"
    return None


def is_public(address: str) -> bool:
    """Whether an address is on the public internet (not loopback, private, link-local,
    multicast, reserved or unspecified), where a webhook may deliver by default."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def signature(secret: str, body: bytes) -> str:
    """The value of ``SIGNATURE_HEADER``: HMAC-SHA256 of the body with the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(tries: int, interval: int) -> int:
    """Seconds to wait after the ``tries``-th failed try: ``interval``, then doubling,
    at most an hour."""
    return int(min(MAX_INTERVAL, interval * 2 ** max(0, tries - 1)))
