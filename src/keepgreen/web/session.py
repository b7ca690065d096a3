"""Browser sessions and CSRF protection for the web UI.

A signed cookie carries the account id, an expiry and the account's session epoch; it is
``HttpOnly`` and ``SameSite=Lax`` (``Secure`` when the site's canonical URL is https). The
epoch lives in the store and is raised when the account signs out or its password changes,
so every session signed before that, in any browser, stops working on its next request.

Every form and every htmx request carries a CSRF token that must match a second signed
cookie (the "signed double submit" pattern), so a page on another site cannot post on a
signed-in user's behalf even with the session cookie attached. Keys come from the
site's secret (``secrets/site.key``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.services.review.accounts import AccountService

SESSION_COOKIE = "keepgreen_session"
CSRF_COOKIE = "keepgreen_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_AGE = 12 * 3600


@dataclass(frozen=True)
class Session:
    account_id: int
    expires: float
    epoch: int


class Sessions:
    """Signs, reads and ends browser sessions; checks CSRF tokens."""

    def __init__(self, key: bytes, accounts: AccountService, secure: bool) -> None:
        self._key = hashlib.sha256(b"keepgreen web session\0" + key).digest()
        self.accounts = accounts
        self.secure = secure

    # -- sessions ------------------------------------------------------------------------
    def principal(self, request: Request) -> Principal:
        """Who the browser is signed in as; anonymous without a valid, unexpired session."""
        session = self._read(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            return Principal.anonymous()
        principal = self.accounts.session_principal(session.account_id, session.epoch)
        return principal or Principal.anonymous()

    def start(self, response: Response, principal: Principal) -> None:
        assert principal.account is not None
        epoch = self.accounts.session_epoch(principal.account.id) or 0
        body = json.dumps({"a": principal.account.id, "e": int(time.time()) + MAX_AGE,
                           "g": epoch, "n": secrets.token_hex(8)}).encode()
        value = _b64(body) + "." + _b64(self._sign(b"session", body))
        response.set_cookie(SESSION_COOKIE, value, max_age=MAX_AGE, httponly=True,
                            samesite="lax", secure=self.secure, path="/")
        # A new session gets a new CSRF secret, so a token seen before sign-in is useless.
        self._set_csrf(response, secrets.token_hex(16))

    def end(self, response: Response) -> None:
        """Clear this browser's cookies (``AccountService.end_sessions`` ends the rest)."""
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self.secure)
        response.delete_cookie(CSRF_COOKIE, path="/", httponly=True, samesite="lax",
                               secure=self.secure)

    def _read(self, value: str) -> Session | None:
        body_text, _, signature = value.partition(".")
        try:
            body = _unb64(body_text)
            if not hmac.compare_digest(_unb64(signature), self._sign(b"session", body)):
                return None
            data = json.loads(body)
            session = Session(int(data["a"]), float(data["e"]), int(data["g"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    # -- CSRF ----------------------------------------------------------------------------
    def csrf_token(self, request: Request) -> str:
        """The token forms must send back. A browser without a CSRF cookie yet gets a new
        secret, which ``finish`` then sets on the response."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if len(nonce) != 32 or not _is_hex(nonce):
            nonce = getattr(request.state, "new_csrf_nonce", None) or secrets.token_hex(16)
            request.state.new_csrf_nonce = nonce
        return _b64(self._sign(b"csrf", nonce.encode()))

    def finish(self, request: Request, response: Response) -> None:
        """Set the CSRF cookie a token was just made for (see ``csrf_token``)."""
        nonce = getattr(request.state, "new_csrf_nonce", None)
        if nonce and CSRF_COOKIE not in response.headers.get("set-cookie", ""):
            self._set_csrf(response, nonce)

    def check_csrf(self, request: Request, sent: str | None) -> bool:
        """Whether ``sent`` (form field or header) is the token for this browser's cookie."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if not sent or not nonce:
            return False
        expected = _b64(self._sign(b"csrf", nonce.encode()))
        return hmac.compare_digest(sent.encode(), expected.encode())

    def _set_csrf(self, response: Response, nonce: str) -> None:
        response.set_cookie(CSRF_COOKIE, nonce, max_age=MAX_AGE, httponly=True,
                            samesite="lax", secure=self.secure, path="/")

    def _sign(self, purpose: bytes, body: bytes) -> bytes:
        return hmac.new(self._key, purpose + b"\0" + body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
