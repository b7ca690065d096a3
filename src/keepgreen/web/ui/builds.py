"""The build page: one build's job, change, node, timings, result, live log, log files,
artifacts, and the ssh command of a held node.

``/build/{uuid}`` is visible to exactly those who may see the build's change, as
``/api/builds/{uuid}`` is; the browser's session decides who that is. The live log follows
``/build/{uuid}/log``, the same server-sent events as ``/api/builds/{uuid}/log`` behind the
session's visibility check, which also takes ``?after=N`` (the last line the page has) so a
page that reconnects on its own resumes where it stopped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from keepgreen.domain.account import Principal
from keepgreen.store.builds import BuildRecord
from keepgreen.web.builds import JOB_OUTPUT, BuildsWeb
from keepgreen.web.ui.router import Ui, route

MAX_LISTED_FILES = 500


@dataclass(frozen=True)
class LogFile:
    name: str
    size: int


@dataclass(frozen=True)
class NodeInfo:
    name: str
    label: str
    provider: str
    node_id: str


def visible_build(services: Any, uuid: str, who: Principal) -> BuildRecord:
    """The build if ``who`` may see it, by the API's own rule (``BuildsWeb.visible``)."""
    return BuildsWeb(services).visible(who, uuid)


def log_files(root: Path | None) -> list[LogFile]:
    """Files under the build's log folder that the log server would serve (links that lead
    out of the folder are left out), by path; at most ``MAX_LISTED_FILES``."""
    if root is None or not root.is_dir():
        return []
    real_root = root.resolve()
    found: list[LogFile] = []
    for dirpath, dirnames, filenames in os.walk(real_root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            real = path.resolve()
            if not real.is_relative_to(real_root) or not real.is_file():
                continue
            found.append(LogFile(path.relative_to(real_root).as_posix(), real.stat().st_size))
            if len(found) >= MAX_LISTED_FILES:
                return found
    return found


def _attempt_file(root: Path | None, *parts: str) -> Path | None:
    # The log folder is <attempt>/work/logs; the attempt's other records sit beside it.
    if root is None:
        return None
    return root.parent.parent.joinpath(*parts)


def _json_file(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def nodes_of(root: Path | None) -> list[NodeInfo]:
    """The nodes the build ran on, from its attempt's inventory."""
    inventory = _json_file(_attempt_file(root, "ansible", "inventory.yaml"))
    hosts = inventory.get("all", {}).get("hosts", {}) if isinstance(inventory, dict) else {}
    found = []
    for name, values in sorted(hosts.items()) if isinstance(hosts, dict) else []:
        pool = values.get("nodepool", {}) if isinstance(values, dict) else {}
        found.append(NodeInfo(name, str(pool.get("label", "")), str(pool.get("provider", "")),
                              str(pool.get("host_id", ""))))
    return found


def artifacts_of(root: Path | None, log_url: str | None) -> list[dict[str, str]]:
    """Artifacts the job returned with ``zuul_return`` (``zuul.artifacts``), each with a
    name and a URL; relative URLs are relative to the build's logs, as in Zuul."""
    results = _json_file(_attempt_file(root, "work", "results.json"))
    data = results.get("data", {}) if isinstance(results, dict) else {}
    zuul = data.get("zuul", {}) if isinstance(data, dict) else {}
    listed = zuul.get("artifacts", []) if isinstance(zuul, dict) else []
    found = []
    for artifact in listed if isinstance(listed, list) else []:
        if not isinstance(artifact, dict) or not artifact.get("url"):
            continue
        url = str(artifact["url"])
        if "://" not in url and not url.startswith("/") and log_url:
            url = log_url + url
        if not url.startswith(("http://", "https://", "/")):
            continue  # never a javascript: or data: link on our page
        found.append({"name": str(artifact.get("name") or url), "url": url})
    return found


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


async def build_page(ui: Ui, request: Request, uuid: str) -> Response:
    who = await ui.who(request)
    api = BuildsWeb(ui.services)

    def load() -> dict[str, Any]:
        build = visible_build(ui.services, uuid, who)
        # Branch updates and timer builds (post, periodic) have no change.
        change = (ui.services.changes.resolve(str(build.change_number), who)
                  if build.change_number else None)
        root = api.log_root(build)
        fields = api.json_of(build, request)
        return {"build": build, "change": change, "api": fields,
                "files": log_files(root), "nodes": nodes_of(root),
                "artifacts": artifacts_of(root, fields.get("log_url")),
                "held": api.held_node(build.uuid),
                "duration": _seconds(build.started, build.ended)}

    context = await run_in_threadpool(load)
    return await ui.render(request, "build.html", job_output=JOB_OUTPUT, **context)


async def build_log(ui: Ui, request: Request, uuid: str) -> Response:
    """The live log as server-sent events, resuming after ``Last-Event-ID`` or ``?after``."""
    who = await ui.who(request)
    build = await run_in_threadpool(visible_build, ui.services, uuid, who)
    start = 0
    for value in (request.headers.get("last-event-id"), request.query_params.get("after")):
        try:
            start = max(start, int(value or 0))
        except ValueError:
            pass
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    if request.method == "HEAD":
        return Response(media_type="text/event-stream", headers=headers)
    api = BuildsWeb(ui.services)
    return StreamingResponse(api.follow(build, start), media_type="text/event-stream",
                             headers=headers)


ROUTES = [
    route("GET", r"/build/(?P<uuid>[0-9A-Za-z_-]+)", build_page),
    route("GET", r"/build/(?P<uuid>[0-9A-Za-z_-]+)/log", build_log),
]
