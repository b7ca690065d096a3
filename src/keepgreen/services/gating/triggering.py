"""Which pipelines a review event (or a timer) enqueues into, as gate-core events.

For every event of the review event log ``Triggering.events_for`` answers the gate core's
events, in order:

* Zuul's housekeeping first: a new patch set takes older patch sets out of every pipeline,
  an abandon takes the change out, and a change in a pipeline that submits (the gate) that
  no longer meets Gerrit's submit requirements (an approval was removed) leaves it;
* then, for every pipeline of the site layout whose trigger matches the event (see
  ``keepgreen.gating.triggers``) and whose ``require``/``reject`` the change meets, an
  ``Enqueue``: a change item (with the changes it needs, ``services.needs``) or, for
  ``ref-updated`` and timers, a ref item of the project's branch at its new commit.

An item is enqueued only where its project has jobs for that pipeline (in its own
configuration at the tested commit or in ``config``'s project stanzas), or where that
configuration is broken, so the owner hears about the error. Pipelines that submit also
need Gerrit's submit requirements (apart from Verified, which the gate itself grants): the
gate never spends nodes on a change humans have not approved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from keepgreen import gating
from keepgreen.domain.change import NEW, Change
from keepgreen.domain.refs import ZERO
from keepgreen.gating.cron import CronTime
from keepgreen.gating.events import ABANDONED, APPROVAL_LOST, NEW_PATCHSET
from keepgreen.gating.triggers import ChangeFacts, ReviewEvent, Vote
from keepgreen.services.gating.gate import approval_problem
from keepgreen.services.gating.layout import ConfigSource, PipelineDef, SiteLayout, runs_in
from keepgreen.services.gating.needs import NeedsService, NotEnqueueable
from keepgreen.services.review.submit import SubmitService
from keepgreen.store import changes as change_store
from keepgreen.store import projects as project_store

log = logging.getLogger(__name__)

# Who caused an event, by event type's field (Gerrit's stream-events names).
_ACTORS = ("author", "uploader", "submitter", "restorer", "abandoner", "changer", "editor",
           "adder")


def review_event(type_: str, payload: dict[str, Any]) -> ReviewEvent | None:
    """The trigger's view of an event payload; None for events without a project."""
    username = next((str(payload[k].get("username", "")) for k in _ACTORS
                     if isinstance(payload.get(k), dict)), "")
    if type_ == "ref-updated":
        update = payload.get("refUpdate")
        if not isinstance(update, dict) or "project" not in update:
            return None
        ref = str(update.get("refName", ""))
        return ReviewEvent(type_, str(update["project"]),
                           branch=ref.removeprefix("refs/heads/")
                           if ref.startswith("refs/heads/") else None,
                           ref=ref, oldrev=update.get("oldRev"), newrev=update.get("newRev"),
                           username=username)
    change, ps = payload.get("change"), payload.get("patchSet")
    if not isinstance(change, dict) or "number" not in change:
        return None
    approvals = tuple(Vote(str(a.get("type", "")), _int(a.get("value")), username)
                      for a in payload.get("approvals") or () if isinstance(a, dict))
    return ReviewEvent(type_, str(change.get("project", payload.get("project", ""))),
                       branch=str(change.get("branch", "")) or None,
                       ref=str(ps.get("ref")) if isinstance(ps, dict) else None,
                       change=int(change["number"]),
                       patchset=int(ps["number"]) if isinstance(ps, dict) else None,
                       comment=str(payload.get("comment") or ""), approvals=approvals,
                       username=username)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


class Triggering:
    def __init__(self, submit: SubmitService, source: ConfigSource, ci_account: str) -> None:
        self.submit = submit
        self.db = submit.db
        self.source = source
        self.ci_account = ci_account

    # -- review events --------------------------------------------------------------------

    def events_for(self, site: SiteLayout, state: gating.GatingState, type_: str,
                   payload: dict[str, Any], *, running_jobs: bool) -> list[gating.Event]:
        event = review_event(type_, payload)
        if event is None:
            return []
        change = self._change(event.change) if event.change is not None else None
        out: list[gating.Event] = []
        if type_ == "patchset-created" and event.change and event.patchset:
            out.append(gating.Dequeue(event.change, NEW_PATCHSET, patchset=event.patchset))
        if type_ in ("change-abandoned", "change-deleted") and event.change:
            out.append(gating.Dequeue(event.change, ABANDONED))
        if type_ == "comment-added" and change is not None and change.status == NEW:
            out += self._lost_approvals(site, state, change)
        facts = self.facts(change, event.patchset) if change is not None else None
        matched = [d for d in site.pipelines if d.rules.trigger_for(event, facts)]
        if matched and not running_jobs:
            log.info("%s not enqueued in %s: running jobs is turned off (KEEPGREEN_RUN_JOBS=0)",
                     _what(event), ", ".join(d.name for d in matched))
            return out
        for definition in matched:
            if change is not None:
                enqueue = self._change_item(site, definition, change, facts)
            else:
                enqueue = self._ref_item(site, definition, event)
            if enqueue is not None:
                out.append(enqueue)
        return out

    def _lost_approvals(self, site: SiteLayout, state: gating.GatingState,
                        change: Change) -> Iterable[gating.Event]:
        for definition in site.pipelines:
            pipeline = state.pipeline(definition.name)
            if not definition.submits or pipeline is None:
                continue
            if not pipeline.live_items(change.number):
                continue
            # The CI account's own votes (Verified changes while gating) do not count here.
            lost = approval_problem(self.submit, change)
            if lost is not None:
                log.info("%s: change %s leaves: %s", definition.name, change.number, lost)
                yield gating.Dequeue(change.number, APPROVAL_LOST, pipeline=definition.name)

    def facts(self, change: Change, patchset: int | None = None) -> ChangeFacts:
        facts = self.submit.facts(change)
        return ChangeFacts(
            open=change.status == NEW,
            current_patchset=patchset is None or patchset == change.current_patch_set,
            votes=tuple(Vote(v.label, v.value, v.username) for v in facts.votes),
            wip=change.wip, status=change.status)

    def accepts(self, definition: PipelineDef, change: Change) -> str | None:
        """Why ``change`` may not enter ``definition``'s pipeline; None when it may."""
        problem = definition.rules.problem(self.facts(change))
        if problem is None and definition.submits:
            problem = approval_problem(self.submit, change)
        return problem

    def _change_item(self, site: SiteLayout, definition: PipelineDef, change: Change,
                     facts: ChangeFacts | None) -> gating.Enqueue | None:
        key = f"change {change.number},{change.current_patch_set}"
        with self.db.read() as conn:
            current = change_store.current_patch_sets(conn, [change.number]).get(
                change.number, [])
        if not current:
            return None
        layout = self.source.item_layout(site, change.project, change.branch, current[0].sha)
        broken = any(e.project == change.project for e in layout.errors)
        if not broken and not runs_in(layout, change.project, change.branch, definition.name):
            log.info("%s not enqueued in %s: project %s has no jobs there", key,
                     definition.name, change.project)
            return None
        problem = self.accepts(definition, change)
        if problem is not None:
            log.info("%s not enqueued in %s: %s", key, definition.name, problem)
            return None
        dependent = definition.manager == "dependent"
        needs = NeedsService(self.submit, lambda c: self.accepts(definition, c) is None)
        try:
            return needs.enqueue(definition.name, change, approved=dependent,
                                 evaluate=dependent)
        except NotEnqueueable as exc:
            log.info("%s not enqueued in %s: %s", key, definition.name, exc)
            return None

    def _ref_item(self, site: SiteLayout, definition: PipelineDef,
                  event: ReviewEvent) -> gating.Enqueue | None:
        if not event.ref or not event.newrev or event.newrev == ZERO:
            return None  # a deleted ref has nothing to test
        branch = event.branch or event.ref
        return self.ref_enqueue(site, definition, event.project, branch, event.ref,
                                event.newrev)

    def ref_enqueue(self, site: SiteLayout, definition: PipelineDef, project: str, branch: str,
                    ref: str, newrev: str) -> gating.Enqueue | None:
        layout = self.source.item_layout(site, project, branch, newrev)
        if not runs_in(layout, project, branch, definition.name):
            log.debug("%s %s: no jobs in %s", project, ref, definition.name)
            return None
        return gating.Enqueue(definition.name, gating.ChangeRef(
            0, 0, project, branch, ref=ref, newrev=newrev))

    # -- timers ---------------------------------------------------------------------------

    def timer_events(self, site: SiteLayout, after: datetime, until: datetime) -> list[
            gating.Event]:
        """Ref items for every project branch with jobs in a pipeline whose timer fired in
        the whole minutes of (``after``, ``until``]; a pipeline fires once per pass."""
        fired = [d for d in site.pipelines if d.rules.timers and any(
            spec.matches(minute) for spec in d.rules.timers for minute in _minutes(after,
                                                                                    until))]
        if not fired:
            return []
        with self.db.read() as conn:
            projects = [p.name for p in project_store.all_projects(conn)]
        out: list[gating.Event] = []
        for project in projects:
            if not self.source.repos.exists(project):
                continue
            for ref, sha in self.source.repos.refs(project, "refs/heads/"):
                for definition in fired:
                    enqueue = self.ref_enqueue(site, definition, project,
                                               ref.removeprefix("refs/heads/"), ref, sha)
                    if enqueue is not None:
                        log.info("%s: timer fired for %s %s", definition.name, project, ref)
                        out.append(enqueue)
        return out

    def _change(self, number: int) -> Change | None:
        with self.db.read() as conn:
            return change_store.change_by_number(conn, number)


def _minutes(after: datetime, until: datetime) -> list[CronTime]:
    """The whole minutes in (``after``, ``until``], at most a day of them (a long pause does
    not fire a backlog)."""
    start = max(after, until - timedelta(days=1)).replace(second=0, microsecond=0)
    minute = start + timedelta(minutes=1)
    found = []
    while minute <= until:
        found.append(CronTime(minute.minute, minute.hour, minute.day, minute.month,
                              minute.weekday()))
        minute += timedelta(minutes=1)
    return found


def _what(event: ReviewEvent) -> str:
    if event.change is not None:
        return f"change {event.change},{event.patchset or '?'}"
    return f"{event.project} {event.ref}"
