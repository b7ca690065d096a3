"""The live status page: every pipeline and queue as Zuul users know it.

``/status`` is the whole page; ``/status/fragment`` is its body alone, which the page polls
with htmx every two seconds, so it updates without a reload (and stays readable without
JavaScript: a reload shows the same thing). ``?project=`` and ``?change=`` filter it and stay
in the URL. The data is ``Scheduler.status()`` (the same document as ``GET /api/status``);
items of changes the viewer may not see are left out here, before anything is drawn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.services.errors import ServiceError
from keepgreen.web.ui.router import Ui, route

POLL_SECONDS = 2


@dataclass
class JobView:
    """One job of an item, with what its progress bar needs."""

    name: str
    uuid: str | None
    url: str | None
    result: str | None
    voting: bool
    state: str  # a result code, RUNNING or WAITING: the colour class
    percent: int | None  # progress against the estimate; None when there is none
    remaining: float | None  # seconds until the estimated end
    elapsed: float | None
    estimated: float | None
    waiting: str | None


@dataclass
class ItemView:
    """One queue item; ``branch`` is true when it is off the queue's main line (a failing
    item the items behind it no longer build on), ``after`` names the item it sits behind."""

    data: dict[str, Any]
    jobs: list[JobView]
    branch: bool
    after: str | None
    match: bool
    age: float
    remaining: float | None = None


@dataclass
class QueueView:
    name: str
    window: int | None
    projects: list[str]
    items: list[ItemView] = field(default_factory=list)


@dataclass
class PipelineView:
    name: str
    manager: str
    description: str
    queues: list[QueueView]
    total: int


def status_document(services: Any) -> dict[str, Any]:
    """The scheduler's status; an empty one (no pipelines) before it can give any."""
    status = getattr(services.scheduler, "status", None)
    if status is None:
        return {"generated_at": time.time(), "pipelines": []}
    document: dict[str, Any] = status()
    return document


def _job(job: dict[str, Any]) -> JobView:
    result = job.get("result")
    elapsed, estimated = job.get("elapsed"), job.get("estimated")
    started = job.get("started_at") is not None
    percent = remaining = None
    if result:
        state = str(result)
        percent = 100
    elif started:
        state = "RUNNING"
        if estimated and elapsed is not None:
            # A build past its estimate shows "almost done" rather than a full bar.
            percent = min(99, int(100 * elapsed / estimated))
            remaining = max(0.0, estimated - elapsed)
    else:
        state = "WAITING"
    return JobView(job["name"], job.get("uuid"), job.get("url"), result,
                   bool(job.get("voting", True)), state, percent, remaining, elapsed,
                   estimated, job.get("waiting"))


def _main_line(items: list[dict[str, Any]]) -> set[str]:
    """The ids on the queue's main line: the last item and everything it builds on."""
    if not items:
        return set()
    by_id = {i["id"]: i for i in items}
    line: set[str] = set()
    current: dict[str, Any] | None = items[-1]
    while current is not None and current["id"] not in line:
        line.add(current["id"])
        ahead = current.get("item_ahead")
        current = by_id.get(ahead) if ahead else None
    return line


def _matches(item: dict[str, Any], project: str, change: str) -> bool:
    if project and project not in item.get("project", ""):
        return False
    if change:
        wanted = change.strip()
        if wanted not in (str(item.get("change")), item.get("id")):
            return False
    return True


def status_view(document: dict[str, Any], visible: Callable[[int], bool], project: str = "",
                change: str = "", now: float | None = None) -> list[PipelineView]:
    """What the page draws: pipelines and queues with only the items ``visible`` allows;
    with a filter, only the queues holding a matching item (the others in such a queue
    stay, since they decide what the match is tested on)."""
    if now is None:
        now = float(document.get("generated_at") or time.time())
    filtering = bool(project or change)
    pipelines: list[PipelineView] = []
    for pipeline in document.get("pipelines", []):
        queues: list[QueueView] = []
        total = 0
        for queue in pipeline.get("queues", []):
            items = [i for i in queue.get("items", []) if visible(int(i["change"]))]
            if not items:
                continue
            matched = {i["id"] for i in items if _matches(i, project, change)}
            if filtering and not matched:
                continue
            line = _main_line(items)
            view = QueueView(queue.get("name") or "", queue.get("window"),
                             list(queue.get("projects", [])))
            for item in items:
                jobs = [_job(j) for j in item.get("jobs", [])]
                remaining = [j.remaining for j in jobs if j.remaining is not None]
                view.items.append(ItemView(
                    item, jobs, branch=item["id"] not in line, after=item.get("item_ahead"),
                    match=filtering and item["id"] in matched,
                    age=max(0.0, now - float(item.get("enqueued_at") or now)),
                    remaining=max(remaining) if remaining else None))
            total += len(view.items)
            queues.append(view)
        if filtering and not queues:
            continue
        pipelines.append(PipelineView(pipeline["name"], pipeline.get("manager", ""),
                                      pipeline.get("description", ""), queues, total))
    return pipelines


def duration(seconds: float | None) -> str:
    """A short human duration: 45 s, 3 min, 1 h 20 min."""
    if seconds is None:
        return ""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _visibility(services: Any, who: Principal) -> Callable[[int], bool]:
    """Whether ``who`` may see a change, asked once per change number."""
    known: dict[int, bool] = {}

    def visible(number: int) -> bool:
        if number not in known:
            try:
                services.changes.resolve(str(number), who)
                known[number] = True
            except ServiceError:
                known[number] = False
        return known[number]

    return visible


async def _context(ui: Ui, request: Request) -> dict[str, Any]:
    who = await ui.who(request)
    project = request.query_params.get("project", "").strip()
    change = request.query_params.get("change", "").strip()

    def load() -> tuple[dict[str, Any], list[PipelineView]]:
        document = status_document(ui.services)
        return document, status_view(document, _visibility(ui.services, who), project,
                                     change)

    document, pipelines = await run_in_threadpool(load)
    query = request.url.query
    return {"pipelines": pipelines, "project": project, "change": change,
            "generated_at": document.get("generated_at"), "duration": duration,
            "updated": time.strftime("%H:%M:%S UTC",
                                     time.gmtime(document.get("generated_at") or time.time())),
            "fragment_url": "/status/fragment" + (f"?{query}" if query else ""),
            "poll_seconds": POLL_SECONDS}


async def status_page(ui: Ui, request: Request) -> Response:
    return await ui.render(request, "status.html", **await _context(ui, request))


async def status_fragment(ui: Ui, request: Request) -> Response:
    response = await ui.render(request, "status_body.html", **await _context(ui, request))
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTES = [
    route("GET", r"/status", status_page),
    route("GET", r"/status/fragment", status_fragment),
]
