"""What every Gerrit REST answer shares: the ``)]}'`` prefix, JSON conventions, errors,
timestamps, and who the caller is."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.gerrit.request_input import decode_json
from keepgreen.services.errors import BadRequest, ServiceError, TooManyAttempts, Unauthorized

JSON_TYPE = "application/json; charset=UTF-8"
MAGIC_PREFIX = ")]}'\n"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# AccountInfo fields anonymous callers do not see.
PRIVATE_ACCOUNT_FIELDS = ("email", "secondary_emails")


def timestamp(when: datetime | None) -> str | None:
    """Gerrit's timestamp form: UTC, space-separated, nanoseconds."""
    if when is None:
        return None
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond:06d}000"


def json_response(data: Any, status: int = 200) -> Response:
    body = MAGIC_PREFIX + json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return Response(body + "\n", status_code=status, media_type=None,
                    headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-cache, no-store"})


def error_response(status: int, message: str, challenge: bool = False) -> Response:
    headers = {"Content-Type": "text/plain; charset=UTF-8"}
    if challenge:
        headers["WWW-Authenticate"] = 'Basic realm="keepgreen"'
    return Response(message.rstrip() + "\n", status_code=status, headers=headers)


def service_error_response(exc: ServiceError) -> Response:
    response = error_response(exc.status, exc.message, challenge=isinstance(exc, Unauthorized))
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def json_only(request: Request) -> Response | None:
    """415 unless a write's body is JSON (or absent, without a Content-Type).

    Browsers send other origins' form posts (urlencoded, multipart, text/plain) with any
    HTTP Basic credentials they hold for this site, but never ``application/json``; so a
    write that is not cookie-authenticated must say it is JSON. Gerrit's clients send
    bodiless writes (submit, abandon) without a Content-Type, which stay accepted.
    """
    content_type = request.headers.get("content-type")
    if content_type is None:
        declared = request.headers.get("content-length", "0").strip()
        if declared in ("", "0") and "transfer-encoding" not in request.headers:
            return None
        return error_response(415, "a request body must be sent as application/json")
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        return error_response(415, f"a request body must be sent as application/json, "
                                   f"not {media or 'an empty Content-Type'}")
    return None


def plain_text_or_json(request: Request) -> Response | None:
    """``json_only``, also letting a ``text/plain`` body through when no browser sent it
    from another site: browsers name the page's origin (``Origin``, ``Sec-Fetch-Site``) on
    every cross-site write, and the clients that send Gerrit raw text bodies (an SSH key
    pasted with curl) send neither."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "text/plain":
        return json_only(request)
    fetch_site = request.headers.get("sec-fetch-site", "none").lower()
    if "origin" in request.headers or fetch_site not in ("none", "same-origin"):
        return error_response(415, "a text/plain body is not accepted from a web page; "
                                   "send it as a JSON string with application/json")
    return None


def redact(data: Any, who: Principal) -> Any:
    """``data`` without the e-mail addresses of accounts, unless the caller is signed in."""
    if not who.is_anonymous:
        return data
    if isinstance(data, list):
        return [redact(item, who) for item in data]
    if isinstance(data, dict):
        is_account = "_account_id" in data
        return {key: redact(value, who) for key, value in data.items()
                if not (is_account and key in PRIVATE_ACCOUNT_FIELDS)}
    return data


def no_content() -> Response:
    return Response(status_code=204)


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def parse_json(body: bytes) -> dict[str, Any]:
    """A request body as a JSON object; an empty body counts as ``{}``."""
    data = decode_json(body)
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def split_path(raw_path: str) -> list[str]:
    """Path segments, each percent-decoded on its own so ``org%2Fapp`` stays one segment."""
    return [unquote(s) for s in raw_path.split("/")]


@dataclass(frozen=True)
class Call:
    """One REST call: who makes it, the path segments after the prefix, and the request."""

    request: Request
    who: Principal
    segments: list[str]
    authenticated_prefix: bool
    body: bytes
    services: Any

    def json(self) -> dict[str, Any]:
        return parse_json(self.body)

    @property
    def base_url(self) -> str:
        return str(self.services.base_url(self.request))

    def query_all(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def flag(self, name: str) -> bool:
        return name in self.request.query_params
