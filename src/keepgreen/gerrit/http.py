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
from keepgreen.services.errors import BadRequest, ServiceError, Unauthorized

JSON_TYPE = "application/json; charset=UTF-8"
MAGIC_PREFIX = ")]}'\n"
MAX_BODY = 10 * 1024 * 1024


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
    return error_response(exc.status, exc.message, challenge=isinstance(exc, Unauthorized))


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
    if len(body) > MAX_BODY:
        raise BadRequest("request body is larger than 10 MiB")
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
