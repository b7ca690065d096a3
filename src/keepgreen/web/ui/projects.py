"""Project pages: the list of projects with a search box, and one project's page with its
branches, recent changes, jobs with their recent results, and clone URLs.

A job's chart is inline SVG drawn here, one bar per recent build: its height is the build's
duration, its colour the result; the success rate is written beside it. Only builds of
changes the viewer may see count.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from keepgreen.domain.account import Principal
from keepgreen.store import changes as change_store
from keepgreen.store.builds import BuildRecord, build_record
from keepgreen.store.schema import builds
from keepgreen.web.ui.router import Ui, route

RECENT_BUILDS = 400
BUILDS_PER_JOB = 20
RECENT_CHANGES = 15
CHART_WIDTH, CHART_HEIGHT = 240, 40
# CSS classes of the bars (static/status.css); the page's policy allows no inline styles.
COLOURS = {"SUCCESS": "success", None: "running"}
FAILED = "failure"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    uuid: str


@dataclass(frozen=True)
class JobSummary:
    name: str
    runs: int
    successes: int
    last: BuildRecord
    median: float | None
    bars: tuple[Bar, ...]

    @property
    def success_rate(self) -> int | None:
        finished = self.runs
        return None if not finished else round(100 * self.successes / finished)


def chart(history: list[BuildRecord]) -> tuple[Bar, ...]:
    """Bars for ``history`` (oldest first): height by duration, colour by result."""
    durations = [(b.ended - b.started).total_seconds() if b.ended else 0.0 for b in history]
    longest = max(durations, default=0.0) or 1.0
    slot = CHART_WIDTH / max(len(history), 1)
    bars = []
    for i, (build, seconds) in enumerate(zip(history, durations, strict=True)):
        height = max(2.0, (CHART_HEIGHT - 2) * seconds / longest)
        colour = COLOURS.get(build.result, FAILED if build.result not in ("SKIPPED", "ABORTED")
                             else "skipped")
        label = (f"{build.result or 'running'} in {int(seconds)} s, change "
                 f"{build.change_number},{build.patch_set}")
        bars.append(Bar(round(i * slot + 1, 1), round(CHART_HEIGHT - height, 1),
                        round(max(slot - 2, 1), 1), round(height, 1), colour, label,
                        build.uuid))
    return tuple(bars)


def job_summaries(records: list[BuildRecord]) -> list[JobSummary]:
    """Per job (by name), its last ``BUILDS_PER_JOB`` builds; ``records`` newest first."""
    by_job: dict[str, list[BuildRecord]] = defaultdict(list)
    for build in records:
        if len(by_job[build.job]) < BUILDS_PER_JOB:
            by_job[build.job].append(build)
    summaries = []
    for name in sorted(by_job):
        recent = by_job[name]
        finished = [b for b in recent if b.result is not None]
        ok = [(b.ended - b.started).total_seconds() for b in finished
              if b.result == "SUCCESS" and b.ended is not None]
        ok.sort()
        median = ok[len(ok) // 2] if ok else None
        summaries.append(JobSummary(name, len(finished),
                                    sum(1 for b in finished if b.result == "SUCCESS"),
                                    recent[0], median, chart(list(reversed(recent)))))
    return summaries


def _visible_builds(services: Any, project: str, who: Principal) -> list[BuildRecord]:
    with services.db.read() as conn:
        rows = conn.execute(select(builds).where(builds.c.project == project)
                            .order_by(builds.c.started.desc()).limit(RECENT_BUILDS)).all()
        records = [build_record(r) for r in rows]
        changes = change_store.changes_by_numbers(conn, sorted({b.change_number
                                                                for b in records}))
    seen = {c.number for c in changes if services.changes.can_see(c, who)}
    return [b for b in records if b.change_number in seen]


async def project_list(ui: Ui, request: Request) -> Response:
    who = await ui.who(request)
    search = request.query_params.get("q", "").strip()
    projects = await run_in_threadpool(ui.services.projects.visible, who)
    shown = [p for p in projects if search.lower() in p.name.lower()
             or search.lower() in (p.description or "").lower()]
    return await ui.render(request, "repos.html", projects=shown, total=len(projects),
                           search=search)


async def project_page(ui: Ui, request: Request, name: str) -> Response:
    who = await ui.who(request)

    def load() -> dict[str, Any]:
        project = ui.services.projects.get(name, who)
        branches = ui.services.projects.branches(project)
        changes, _ = ui.services.changes.query(f"project:{name}", who, RECENT_CHANGES, 0)
        records = _visible_builds(ui.services, name, who)
        return {"project": project, "branches": branches, "changes": changes,
                "jobs": job_summaries(records)}

    context = await run_in_threadpool(load)
    return await ui.render(request, "repos_project.html", chart_width=CHART_WIDTH,
                           chart_height=CHART_HEIGHT, **context)


ROUTES = [
    route("GET", r"/admin/repos/?", project_list),
    route("GET", r"/admin/repos/(?P<name>.+?)/?", project_page),
]
