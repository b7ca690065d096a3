"""The live status of every pipeline: queues, items, jobs, and why each item waits or fails.

``snapshot`` turns one ``GatingState`` (an immutable value, so reading the scheduler's
``state`` once from any thread is safe) into the plain JSON that ``GET /api/status`` and
``Scheduler.status()`` answer with. Facts the core does not hold come from the store: change
subjects and owners, build uuids (``build_uuids``, the core's build id to the recorded uuid)
and each job's estimated duration (the median of its recent successful builds).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from keepgreen import gating
from keepgreen.gating.buildset import COMPLETED, BuildSet
from keepgreen.gating.semaphores import SemaphorePool
from keepgreen.store import accounts as account_store
from keepgreen.store import builds as build_store
from keepgreen.store import changes as change_store
from keepgreen.store.db import Database

NEEDED_FAILING = "a change it needs is failing"


def snapshot(state: gating.GatingState, db: Database, build_uuids: Mapping[int, str], *,
             project: str | None = None, visible: Callable[[int], bool] | None = None,
             now: float | None = None) -> dict[str, Any]:
    """The status document (contract: docs/gating.md, "Status"). ``project`` keeps only
    queues holding an item of that project; ``visible`` (change number -> may the caller see
    it) leaves out items the caller may not see."""
    now = time.time() if now is None else now
    numbers = sorted({item.change.number for p in state.pipelines for _, item in p.items()})
    jobs = sorted({build.job for p in state.pipelines for _, item in p.items()
                   if item.buildset is not None for build in item.buildset.builds}
                  | {job.name for p in state.pipelines for _, item in p.items()
                     if item.buildset is not None for job in item.buildset.jobs.jobs})
    with db.read() as conn:
        changes = {c.number: c for c in change_store.changes_by_numbers(conn, numbers)}
        owners: dict[int, str] = {}
        for owner_id in sorted({c.owner_id for c in changes.values()}):
            account = account_store.account_by_id(conn, owner_id)
            if account is not None:
                owners[owner_id] = account.username
        estimates = build_store.estimated_durations(conn, jobs) if jobs else {}
    semaphores = SemaphorePool.of(state.semaphore_holders())
    pipelines = []
    for pipeline in state.pipelines:
        queues = []
        for queue in pipeline.queues:
            items = [item for item in queue.items
                     if visible is None or visible(item.change.number)]
            if project is not None and not any(i.change.project == project for i in items):
                continue
            # Neighbours the caller may not see are skipped over, so no key of theirs shows.
            shown = {item.id for item in items}
            hidden = {item.id: item.ahead for item in queue.items if item.id not in shown}
            items = [dataclasses.replace(item, ahead=_shown_ahead(item.ahead, hidden))
                     for item in items]
            by_id = {item.id: item for item in items}
            queues.append({
                "name": queue.name,
                "window": queue.window or None,
                "projects": sorted({i.change.project for i in items}),
                "items": [_item(dataclasses.replace(item, reason=_redact(item.reason, visible)),
                                queue, by_id, changes, owners, estimates, build_uuids, now,
                                semaphores)
                          for item in items],
            })
        config = pipeline.config
        pipelines.append({"name": pipeline.name, "manager": config.manager,
                          "description": getattr(config, "description", None) or "",
                          "queues": queues})
    return {"generated_at": now, "pipelines": pipelines}


_KEY = re.compile(r"\b(\d+),(\d+)\b")  # a change and patch set, "12,3"
_NUMBERS = re.compile(r"\((\d+(?:, \d+)*)\)")  # "(12, 14)" of the changes an item needs
HIDDEN = "a change you cannot see"


def _redact(reason: str, visible: Callable[[int], bool] | None) -> str:
    """``reason`` with the changes the caller may not see left unnamed."""
    if visible is None or not reason:
        return reason
    shown = visible
    reason = _KEY.sub(lambda m: m[0] if shown(int(m[1])) else HIDDEN, reason)
    return _NUMBERS.sub(lambda m: "(" + ", ".join(
        n if shown(int(n)) else HIDDEN for n in m[1].split(", ")) + ")", reason)


def _shown_ahead(ahead: int | None, hidden: Mapping[int, int | None]) -> int | None:
    while ahead is not None and ahead in hidden:
        ahead = hidden[ahead]
    return ahead


def _item(item: gating.Item, queue: gating.ChangeQueue, by_id: dict[int, gating.Item],
          changes: Mapping[int, Any], owners: Mapping[int, str], estimates: Mapping[str, float],
          build_uuids: Mapping[int, str], now: float,
          semaphores: SemaphorePool) -> dict[str, Any]:
    ref = item.change
    change = changes.get(ref.number)
    ahead = by_id.get(item.ahead) if item.ahead is not None else None
    buildset = item.buildset
    failing = bool(buildset is not None and buildset.failing_reasons()) or item.reason.startswith(
        NEEDED_FAILING)
    return {
        "id": ref.key, "change": ref.number, "patchset": ref.patchset,
        "project": ref.project, "branch": ref.branch,
        "subject": change.subject if change is not None else "",
        "owner": owners.get(change.owner_id) if change is not None else None,
        "url": f"/c/{ref.project}/+/{ref.number}",
        "live": item.live, "active": buildset is not None,
        "enqueued_at": item.enqueued_at,
        "item_ahead": ahead.change.key if ahead is not None else None,
        "items_behind": [i.change.key for i in by_id.values() if i.ahead == item.id],
        "failing": failing,
        "waiting": item.reason or None,
        "jobs": (_jobs(buildset, estimates, build_uuids, now, semaphores)
                 if item.live else []),
    }


def _jobs(buildset: BuildSet | None, estimates: Mapping[str, float],
          build_uuids: Mapping[int, str], now: float,
          semaphores: SemaphorePool) -> list[dict[str, Any]]:
    if buildset is None:
        return []
    waits = {}
    for job in buildset.next_jobs()[0]:
        locked = semaphores.wait_reason(job.name, job.semaphores)
        if locked:
            waits[job.name] = locked.replace(f"job {job.name} waits", "waiting", 1)
    for job in buildset.jobs.jobs:
        pending = [d.name for d in job.dependencies
                   if buildset.jobs.get(d.name) is not None
                   and not ((b := buildset.latest(d.name)) is not None and b.final)]
        if pending:
            waits[job.name] = f"waiting for {', '.join(pending)}"
    result = []
    for job in buildset.jobs.jobs:
        build = buildset.latest(job.name)
        started = build.started_at if build is not None else None
        if build is None or started is None:
            elapsed = None
        elif build.state == COMPLETED and build.finished_at is not None:
            elapsed = build.finished_at - started
        else:
            elapsed = max(0.0, now - started)
        build_uuid = build_uuids.get(build.id) if build is not None else None
        waiting = None
        if build is None:
            waiting = waits.get(job.name, "waiting for a node")
        elif started is None:
            waiting = "waiting for a node"
        result.append({
            "name": job.name, "uuid": build_uuid,
            "result": build.result if build is not None else None,
            "voting": job.voting, "started_at": started, "elapsed": elapsed,
            "estimated": estimates.get(job.name),
            "url": f"/build/{build_uuid}" if build_uuid else None,
            "waiting": waiting,
        })
    return result
