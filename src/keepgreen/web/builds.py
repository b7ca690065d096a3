"""keepgreen's native build API and log server: ``/api/builds``, ``/logs/{uuid}/``, and the
live job output as server-sent events.

This is keepgreen's own API, not Gerrit's, so answers are plain JSON (no ``)]}'`` prefix).
A build is visible to whoever can see its change; credentials are HTTP Basic as elsewhere.
Log files come from jobs under review, so they are served as ``text/plain`` with
``nosniff`` and every path is confined to the build's log folder.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from keepgreen.domain.account import Principal
from keepgreen.gerrit.http import error_response, service_error_response
from keepgreen.gerrit.request_input import check_request, whole_number
from keepgreen.gerrit.router import Router
from keepgreen.services.errors import HiddenFromAnonymous, NotFound, ServiceError
from keepgreen.store import nodes as node_store
from keepgreen.store.builds import BuildRecord, build_record
from keepgreen.store.schema import builds
from keepgreen.web.session import SESSION_COOKIE, Sessions

MAX_LOG_BYTES = 10 * 1024 * 1024
POLL_SECONDS = 0.2
# Proxies close idle connections; a comment line every so often keeps a quiet stream open.
KEEPALIVE_SECONDS = 15.0
JOB_OUTPUT = "job-output.txt"
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000


def iso(when: datetime | None) -> str | None:
    """The store keeps naive UTC; the API says so explicitly."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _record(r: Any) -> BuildRecord:
    return build_record(r)


class BuildsWeb:
    """Answers ``/api/builds...`` and ``/logs/...``; mount it in front of the Gerrit router."""

    def __init__(self, services: Any, sessions: Sessions | None = None) -> None:
        self.services = services
        # A signed-in browser reads logs with its session; scripts use HTTP Basic.
        self.sessions = sessions
        # Only its ``who`` is used, so credentials are checked exactly like the REST API's.
        self._auth = Router(services, [])

    @staticmethod
    def handles(path: str) -> bool:
        return path in ("/api/builds", "/api/builds/") or path.startswith(
            ("/api/builds/", "/logs/"))

    async def __call__(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return error_response(405, f"{request.method} is not allowed on "
                                       f"{request.url.path}")
        raw = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        # Segments are decoded one by one so an encoded "/" or ".." is seen for what it is.
        parts = [unquote(p) for p in raw.split("?", 1)[0].split("/")[1:]]
        try:
            check_request(request.query_params, segments=parts)
            if parts[0] == "api":
                rest = parts[2:]
                if rest in ([], [""]):
                    return await run_in_threadpool(self._list, request)
                if len(rest) == 1 or (len(rest) == 2 and rest[1] == ""):
                    build = await run_in_threadpool(self._visible_build, request, rest[0])
                    held = await run_in_threadpool(self.held_node, build.uuid)
                    return JSONResponse({**self.json_of(build, request), "held": held})
                if len(rest) == 2 and rest[1] == "log":
                    build = await run_in_threadpool(self._visible_build, request, rest[0])
                    return self._stream(request, build)
                return error_response(404, f"no API endpoint at {request.url.path}")
            if len(parts) < 2 or not parts[1]:
                return error_response(404, "name a build: /logs/{uuid}/")
            build = await run_in_threadpool(self._visible_build, request, parts[1])
            if len(parts) == 2:
                return RedirectResponse(f"/logs/{quote(build.uuid)}/", status_code=301)
            return await run_in_threadpool(self._serve_log, request, build, parts[2:])
        except HiddenFromAnonymous as exc:
            return error_response(404, exc.not_found)
        except ServiceError as exc:
            return service_error_response(exc)

    # -- records and visibility ---------------------------------------------------------

    def _who(self, request: Request) -> Principal:
        if (self.sessions is not None and "authorization" not in request.headers
                and SESSION_COOKIE in request.cookies):
            return self.sessions.principal(request)
        return self._auth.who(request, False)

    def _visible_build(self, request: Request, uuid: str) -> BuildRecord:
        return self.visible(self._who(request), uuid)

    def visible(self, who: Principal, uuid: str) -> BuildRecord:
        """The build if ``who`` may see its change (or, for a branch or timer build, its
        project); otherwise "not found", saying nothing about what the caller may not see."""
        with self.services.db.read() as conn:
            row = conn.execute(select(builds).where(builds.c.uuid == uuid)).first()
        if row is None:
            raise NotFound(f"build {uuid} not found")
        build = _record(row)
        try:
            if build.change_number == 0:
                # A branch update or timer build has no change: visible with its project.
                self.services.projects.get(build.project, who)
            else:
                self.services.changes.resolve(str(build.change_number), who)
        except (NotFound, HiddenFromAnonymous):
            # Say nothing about the change of a build the caller may not see.
            raise NotFound(f"build {uuid} not found") from None
        return build

    def _list(self, request: Request) -> Response:
        who = self._who(request)
        q = request.query_params
        query = select(builds)
        for name, column in (("project", builds.c.project), ("job", builds.c.job),
                             ("pipeline", builds.c.pipeline)):
            if q.get(name):
                query = query.where(column == q[name])
        if q.get("change"):
            # Resolving first gives the caller the same 404 as the change itself would.
            change = self.services.changes.resolve(q["change"], who)
            query = query.where(builds.c.change_number == change.number)
        if q.get("patchset"):
            query = query.where(builds.c.patch_set == whole_number(q["patchset"], "patchset"))
        if q.get("result"):
            query = query.where(builds.c.result.is_(None) if q["result"].lower() == "running"
                                else builds.c.result == q["result"].upper())
        limit = whole_number(q.get("limit", str(DEFAULT_LIMIT)), "limit", 1, MAX_LIMIT)
        query = query.order_by(builds.c.started.desc(), builds.c.uuid.desc())
        # Visibility is per change, so filter in pages until ``limit`` visible builds are found.
        seen: dict[tuple[int, str], bool] = {}
        found: list[BuildRecord] = []
        offset, page = 0, max(limit, 100)
        while len(found) < limit:
            with self.services.db.read() as conn:
                rows = [_record(r) for r in conn.execute(query.offset(offset).limit(page))]
            for build in rows:
                key = (build.change_number, build.project if build.change_number == 0 else "")
                if key not in seen:
                    seen[key] = self._can_see(build.change_number, build.project, who)
                if seen[key]:
                    found.append(build)
            if len(rows) < page:
                break
            offset += page
        return JSONResponse([self.json_of(b, request) for b in found[:limit]])

    def _can_see(self, number: int, project: str, who: Principal) -> bool:
        try:
            if number == 0:  # a ref item's build: visible with its project
                self.services.projects.get(project, who)
            else:
                self.services.changes.resolve(str(number), who)
        except ServiceError:
            return False
        return True

    def json_of(self, build: BuildRecord, request: Request) -> dict[str, Any]:
        base = self.services.base_url(request)
        has_logs = build.result is None or build.log_dir is not None
        duration = ((build.ended - build.started).total_seconds()
                    if build.ended is not None else None)
        return {
            "uuid": build.uuid, "pipeline": build.pipeline, "project": build.project,
            "change": build.change_number, "patchset": build.patch_set, "job": build.job,
            "result": build.result, "reason": build.reason, "voting": build.voting,
            "start_time": iso(build.started), "end_time": iso(build.ended),
            "duration": duration,
            "log_url": f"{base}logs/{build.uuid}/" if has_logs else None,
            "stream_url": f"{base}api/builds/{build.uuid}/log",
            "buildset": build.buildset,
            # keepgreen's own: where the time went (waiting for nodes, setup, each
            # step and playbook), in order, once the build has ended.
            "stages": [{"name": name, "seconds": seconds} for name, seconds in build.stages],
        }

    def held_node(self, uuid: str) -> dict[str, str] | None:
        """The node an autohold request keeps for this build: how to reach it, and until
        when (the first one, for a multi-node build)."""
        with self.services.db.read() as conn:
            holds = node_store.holds_of_build(conn, uuid)
        if not holds:
            return None
        return {"ssh": holds[0].ssh, "expires": iso(holds[0].expires) or ""}

    def log_root(self, build: BuildRecord) -> Path | None:
        """The build's log folder: the recorded one once finished, else the newest attempt's
        (the executor writes ``<uuid>/<attempt>/work/logs`` and records it only at the end)."""
        if build.log_dir:
            return Path(build.log_dir)
        attempts = Path(self.services.settings.site) / "builds" / build.uuid
        try:
            numbered = [p for p in attempts.iterdir() if p.name.isdigit()]
        except OSError:
            return None
        if not numbered:
            return None
        return max(numbered, key=lambda p: int(p.name)) / "work" / "logs"

    # -- log files ----------------------------------------------------------------------

    def _serve_log(self, request: Request, build: BuildRecord, parts: list[str]) -> Response:
        root = self.log_root(build)
        missing = error_response(404, f"no such log file for build {build.uuid}")
        if root is None or not root.is_dir():
            return missing
        # "..", empty segments (an absolute path after the prefix) and NULs never name a file.
        rel = parts[:-1] if parts[-1] == "" else parts
        if any(p in ("", ".", "..") or "\0" in p or "/" in p for p in rel):
            return missing
        real_root = root.resolve()
        target = real_root.joinpath(*rel).resolve()
        # Resolving follows symlinks, so one pointing outside the folder lands here too.
        if not target.is_relative_to(real_root) or not target.exists():
            return missing
        if target.is_dir():
            if parts[-1] != "":
                return RedirectResponse(request.url.path + "/", status_code=301)
            return self._listing(request, build, real_root, target)
        size = target.stat().st_size
        with open(target, "rb") as fh:
            body = fh.read(MAX_LOG_BYTES)
        if size > MAX_LOG_BYTES:
            body += (f"\n[keepgreen: log truncated: showing the first {MAX_LOG_BYTES} of "
                     f"{size} bytes]\n").encode()
        return Response(body, media_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})

    def _listing(self, request: Request, build: BuildRecord, root: Path,
                 folder: Path) -> Response:
        files: list[dict[str, Any]] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                real = path.resolve()
                # Hide what could not be served anyway: links leading out of the folder.
                if not real.is_relative_to(root) or not real.is_file():
                    continue
                rel = path.relative_to(folder).as_posix()
                files.append({"name": rel, "size": real.stat().st_size})
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"build": build.uuid, "files": files})
        title = f"Logs of {build.job} ({build.uuid})"
        items = "".join(
            f'<li><a href="{html.escape(quote(f["name"]))}">{html.escape(f["name"])}</a> '
            f'({f["size"]} bytes)</li>' for f in files)
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}"
                f"</h1><p>{html.escape(build.project)} change {build.change_number},"
                f" patch set {build.patch_set}: {html.escape(build.result or 'running')}</p>"
                f"<ul>{items}</ul></body></html>")
        return HTMLResponse(body)

    # -- live output --------------------------------------------------------------------

    def _stream(self, request: Request, build: BuildRecord) -> Response:
        try:
            # Event ids are line numbers, so the browser's reconnect resumes after the last.
            start = max(0, int(request.headers.get("last-event-id", "0") or 0))
        except ValueError:
            start = 0
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if request.method == "HEAD":
            # A stream has no end to wait for while the build runs; HEAD gets headers only.
            return Response(media_type="text/event-stream", headers=headers)
        return StreamingResponse(self.follow(build, start), media_type="text/event-stream",
                                 headers=headers)

    def _current(self, uuid: str) -> BuildRecord | None:
        with self.services.db.read() as conn:
            row = conn.execute(select(builds).where(builds.c.uuid == uuid)).first()
        return None if row is None else _record(row)

    async def follow(self, build: BuildRecord, skip: int) -> AsyncIterator[str]:
        path: Path | None = None
        offset = line_no = 0
        partial = b""
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        yield "retry: 1000\n\n"
        while True:
            # The build's state is read before the file so lines written before it finished
            # are all sent before ``end``.
            current = await run_in_threadpool(self._current, build.uuid) or build
            root = await run_in_threadpool(self.log_root, current)
            new_path = root / JOB_OUTPUT if root is not None else None
            if new_path != path:
                if path is not None and line_no:
                    # A retried build writes a new file; numbering starts again with it.
                    yield "event: reset\ndata: new attempt\n\n"
                    skip = 0
                path, offset, line_no, partial = new_path, 0, 0, b""
            chunk = await run_in_threadpool(_read_from, path, offset)
            offset += len(chunk)
            lines = (partial + chunk).split(b"\n")
            partial = lines.pop()
            if current.result is not None and partial:
                lines.append(partial)  # The last line of a finished file has no newline.
                partial = b""
            out: list[str] = []
            for raw in lines:
                line_no += 1
                if line_no > skip:
                    out.append(_event(line_no, raw.decode("utf-8", errors="replace")))
            if out:
                quiet_since = loop.time()
                yield "".join(out)
            if current.result is not None:
                data = json.dumps({"result": current.result, "reason": current.reason})
                yield f"event: end\ndata: {data}\n\n"
                return
            if loop.time() - quiet_since > KEEPALIVE_SECONDS:
                quiet_since = loop.time()
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL_SECONDS)


def _read_from(path: Path | None, offset: int) -> bytes:
    if path is None:
        return b""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(MAX_LOG_BYTES)
    except OSError:
        return b""  # Not written yet: the next poll looks again.


def _event(number: int, text: str) -> str:
    # SSE ends a data line at CR or LF; each piece gets its own "data:" so none is lost.
    pieces = text.rstrip("\r").split("\r")
    return f"id: {number}\n" + "".join(f"data: {p}\n" for p in pieces) + "\n"

