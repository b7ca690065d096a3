"""``PUT /a/api/builds/{uuid}/logs/{attempt}``: an executor on another machine sends the
logs folder of a build attempt, as a gzip-compressed tar (``services.gating.build_logs``).

Who asks, whether the build exists and whether the attempt's logs are already here are
settled from the headers before a byte of the body is read. The body may be as large as a
push (``max_push_bytes``), so the HTTP edge leaves it to this endpoint (``handles``), which
streams it to a file beside the target, counting as it goes: a declared or a chunked body
past the limit is answered 413 and the connection closed. The answer is plain JSON like
the rest of ``/api/builds``: the build, the attempt and the log folder on the server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from keepgreen.gerrit.http import error_response, service_error_response
from keepgreen.gerrit.request_input import check_request, whole_number
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import ServiceError
from keepgreen.services.gating.build_logs import BuildLogs, discard
from keepgreen.web.edge import size_text

log = logging.getLogger(__name__)

PREFIX = "/a/api/builds/"
ARCHIVE = "logs.tar.gz"


def parse_upload_path(raw_path: str) -> tuple[str, str] | None:
    """The build uuid and attempt of an upload path (raw, undecoded), else None."""
    path = raw_path.split("?", 1)[0]
    if not path.startswith(PREFIX):
        return None
    parts = [unquote(p) for p in path[len(PREFIX):].split("/")]
    if len(parts) != 3 or parts[1] != "logs" or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[2]


class LogUpload:
    """Answers ``/a/api/builds/...``; only the log upload lives there."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.limit: int = services.settings.max_push_bytes
        self.logs = BuildLogs(services.db, Path(services.settings.site) / "builds")
        # Only its ``who`` is used, so credentials are checked exactly like the REST API's.
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith(PREFIX)

    @staticmethod
    def unlimited(raw_path: str) -> bool:
        """Whether the edge leaves this request's body to the endpoint."""
        return parse_upload_path(raw_path) is not None

    async def __call__(self, request: Request) -> Response:
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        found = parse_upload_path(raw)
        if found is None:
            return _closing(error_response(
                404, f"no API endpoint at {request.url.path}; build logs are sent with "
                     "PUT /a/api/builds/{uuid}/logs/{attempt}"))
        if request.method != "PUT":
            return _closing(error_response(405, f"{request.method} is not allowed on "
                                                f"{request.url.path}; use PUT"))
        uuid, attempt_text = found
        try:
            check_request(request.query_params, segments=found)
            attempt = whole_number(attempt_text, "the attempt", 1)
            who = await run_in_threadpool(self._auth.who, request, False)
            target = await run_in_threadpool(self.logs.target, who, uuid, attempt)
        except ServiceError as exc:
            return _closing(service_error_response(exc))
        declared = request.headers.get("content-length", "").strip()
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
            return self._too_large()
        scratch = await run_in_threadpool(self.logs.scratch)
        try:
            if not await self._receive(request, scratch / ARCHIVE):
                discard(scratch)
                return self._too_large()
        except ClientDisconnect:
            discard(scratch)
            return _closing(error_response(400, "the client went away before the whole "
                                                "archive was sent"))
        except BaseException:
            discard(scratch)
            raise
        try:
            placed = await run_in_threadpool(self.logs.install, scratch / ARCHIVE, scratch,
                                             target)
        except ServiceError as exc:
            return service_error_response(exc)
        except OSError as exc:  # the server's disk, not the archive: a full disk, say
            log.exception("the logs of build %s could not be stored", uuid)
            return error_response(500, f"the server could not store the logs: "
                                       f"{exc.strerror or exc}")
        return JSONResponse({"build": uuid, "attempt": attempt, "log_dir": str(placed)},
                            status_code=201)

    async def _receive(self, request: Request, into: Path) -> bool:
        """Stream the body to ``into``; False as soon as it passes the limit."""
        read = 0
        with open(into, "wb") as out:
            async for chunk in request.stream():
                read += len(chunk)
                if read > self.limit:
                    return False
                if chunk:
                    await run_in_threadpool(out.write, chunk)
        return True

    def _too_large(self) -> Response:
        return _closing(error_response(
            413, f"the log archive is larger than {size_text(self.limit)}, the server's "
                 "limit (setting max_push_bytes)"))


def _closing(response: Response) -> Response:
    # Whatever is left of a body nobody reads is not drained: the connection closes.
    response.headers["Connection"] = "close"
    return response
