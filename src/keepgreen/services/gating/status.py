"""The live status of every pipeline: queues, items, jobs, and why each item waits or fails.

``snapshot`` turns one ``GatingState`` (an immutable value, so reading the scheduler's
``state`` once from any thread is safe) into the plain JSON that ``GET /api/status`` and
``Scheduler.status()`` answer with. Facts the core does not hold come from the store: change
subjects and owners, build uuids (``build_uuids``, the core's build id to the recorded uuid)
and each job's estimated duration (the median of its recent successful builds).
"""

from __future__ import annotations

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
from keepgreen.store import live_status
from keepgreen.store.db import Database

NEEDED_FAILING = "a change it needs is failing"


def snapshot(state: gating.GatingState, db: Database, build_uuids: Mapping[int, str], *,
             project: str | None = None, visible: Callable[[int], bool] | None = None,
             now: float | None = None) -> dict[str, Any]:
    """The status document (contract: docs/gating.md, "Status"). ``project`` keeps only
    queues holding an item of that project; ``visible`` (change number -> may the caller see
    it) leaves out items the caller may not see."""
    return shown(document(state, db, build_uuids, now=now), project=project, visible=visible)


def document(state: gating.GatingState, db: Database, build_uuids: Mapping[int, str], *,
             now: float | None = None) -> dict[str, Any]:
    """The whole status document, every item in it (``shown`` cuts it for a caller)."""
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
            by_id = {item.id: item for item in queue.items}
            queues.append({
                "name": queue.name,
                "window": queue.window or None,
                "projects": sorted({i.change.project for i in queue.items}),
                "items": [_item(item, queue, by_id, changes, owners, estimates, build_uuids,
                                now, semaphores)
                          for item in queue.items],
            })
        config = pipeline.config
        pipelines.append({"name": pipeline.name, "manager": config.manager,
                          "description": getattr(config, "description", None) or "",
                          "queues": queues})
    return {"generated_at": now, "pipelines": pipelines}


def shown(whole: Mapping[str, Any], *, project: str | None = None,
          visible: Callable[[int], bool] | None = None) -> dict[str, Any]:
    """The part of a whole status ``document`` a caller gets: queues holding an item of
    ``project`` (when given), without the items of changes the caller may not see, and
    without naming those changes anywhere (an item behind a hidden one is shown behind the
    nearest one ahead the caller sees)."""
    pipelines = []
    for pipeline in whole["pipelines"]:
        queues = []
        for queue in pipeline["queues"]:
            items = [item for item in queue["items"]
                     if visible is None or visible(item["change"])]
            if project is not None and not any(i["project"] == project for i in items):
                continue
            keys = {item["id"] for item in items}
            hidden = {i["id"]: i["item_ahead"] for i in queue["items"] if i["id"] not in keys}
            aheads = {item["id"]: _shown_ahead(item["item_ahead"], hidden) for item in items}
            queues.append({**queue, "projects": sorted({i["project"] for i in items}),
                           "items": [{**item, "item_ahead": aheads[item["id"]],
                                      "items_behind": [k for k, a in aheads.items()
                                                       if a == item["id"]],
                                      "waiting": _redact(item["waiting"] or "", visible)
                                      or None}
                                     for item in items]})
        pipelines.append({**pipeline, "queues": queues})
    return {"generated_at": whole["generated_at"], "pipelines": pipelines}


class Publisher:
    """Shares the whole document through the store, for processes that serve web requests
    without running the scheduler (``stored``): when the state changed, at most every
    ``least`` seconds, and every ``most`` seconds anyway (running jobs' times move)."""

    def __init__(self, db: Database, least: float = 0.5, most: float = 5.0) -> None:
        self.db = db
        self.least = least
        self.most = most
        self._state: gating.GatingState | None = None
        self._written = 0.0

    def publish(self, state: gating.GatingState, build_uuids: Mapping[int, str]) -> None:
        now = time.time()
        age = now - self._written
        if age < self.least or (state is self._state and age < self.most):
            return
        whole = document(state, self.db, build_uuids, now=now)
        with self.db.write() as conn:
            live_status.put(conn, whole, now)
        self._state, self._written = state, now


def stored(db: Database, *, project: str | None = None,
           visible: Callable[[int], bool] | None = None) -> dict[str, Any]:
    """The status as the leading scheduler last shared it, cut for the caller (an empty
    document before any scheduler wrote one)."""
    with db.read() as conn:
        whole = live_status.get(conn)
    if whole is None:
        return {"generated_at": time.time(), "pipelines": []}
    return shown(whole, project=project, visible=visible)


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


def _shown_ahead(ahead: str | None, hidden: Mapping[str, str | None]) -> str | None:
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
