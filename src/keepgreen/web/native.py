"""What every native ``/api/...`` resource checks before it does anything: the path and
query are well formed, the path names an endpoint, the method is one it takes, and a write's
body is JSON. The answer is the refusal to send, or None to go on."""

from __future__ import annotations

from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from keepgreen.gerrit.http import error_response, json_only
from keepgreen.gerrit.request_input import check_request


def path_parts(request: Request, prefix: str) -> list[str]:
    """The decoded path segments after ``prefix``."""
    return [unquote(p) for p in request.url.path[len(prefix):].split("/") if p]


def refusal(request: Request, parts: list[str],
            allowed: tuple[str, ...] | None) -> Response | None:
    """400 for a malformed query or path, 404 for no endpoint, 405 for a method the endpoint
    does not take, 415 for a write whose body is not JSON; None when the request may go on.
    ``check_request`` raises ``BadRequest``, which the caller answers like its own."""
    check_request(request.query_params, segments=parts)
    if allowed is None:
        return error_response(404, f"no API endpoint at {request.url.path}")
    method = "GET" if request.method == "HEAD" else request.method
    if method not in allowed:
        return error_response(405, f"{request.method} is not allowed on {request.url.path}")
    if method != "GET":
        return json_only(request)
    return None
