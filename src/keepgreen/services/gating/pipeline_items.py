"""Queued items that survive a restart of the server (Zuul keeps its queues too).

``QueuedItems.settle`` keeps the store's ``pipeline_items`` equal to the live items of the
gate state: after every step of the core, items that entered are written (in queue order, so
the row ids follow the order they entered) and items that left are deleted. On start, the
scheduler reads what the stopped process left (``load``) and enqueues each item again, in
the same pipeline and order, with ``restored_enqueue``: a change that is no longer open, a
patch set that is no longer current, a change that lost its approvals while the server was
down, or a pipeline that is gone is skipped, and the log says why. The builds the stopped
process was running are lost; the re-enqueued items run theirs from the start.

Replayed items skip the pipeline's trigger and ``require`` (a gate item's check vote was
reset to 0 when its jobs started), like Zuul's re-enqueue; a pipeline that submits still
requires the change's human approvals, so the gate never merges what reviewers withdrew.
"""

from __future__ import annotations

import logging

from keepgreen import gating
from keepgreen.domain.change import NEW
from keepgreen.git.repos import Repos
from keepgreen.services.gating.gate import approval_problem
from keepgreen.services.gating.layout import SiteLayout
from keepgreen.services.gating.needs import NeedsService, NotEnqueueable
from keepgreen.services.gating.triggering import Triggering
from keepgreen.services.review.submit import SubmitService
from keepgreen.store import changes as change_store
from keepgreen.store import pipeline_items as item_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from keepgreen.store.pipeline_items import StoredItem

log = logging.getLogger(__name__)


def item_key(change: gating.ChangeRef) -> str:
    """The stored key of an item's change (``StoredItem.key``)."""
    if change.is_ref:
        return f"{change.ref}@{change.newrev}"
    return f"{change.number},{change.patchset}"


class QueuedItems:
    """Used only from the scheduler's loop thread (and its start, before the loop runs)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows: dict[tuple[str, str], int] = {}
        self.paused = False

    def load(self) -> list[StoredItem]:
        """The items recorded by the previous process, in the order they entered. They stay
        recorded until a ``settle`` finds them gone from the gate state."""
        with self.db.read() as conn:
            items = item_store.queued_items(conn)
        self._rows = {(i.pipeline, i.key): i.id for i in items}
        return items

    def settle(self, state: gating.GatingState) -> None:
        """Record the live items of ``state`` that entered, forget those that left. A store
        error is logged and the difference is tried again at the next step."""
        if self.paused:
            return
        current: dict[tuple[str, str], tuple[str, gating.Item]] = {}
        for pipeline in state.pipelines:
            for queue, item in pipeline.items():
                if item.live:
                    current.setdefault((pipeline.name, item_key(item.change)),
                                       (queue.name, item))
        entered = [(key, where) for key, where in current.items() if key not in self._rows]
        left = [key for key in self._rows if key not in current]
        if not entered and not left:
            return
        try:
            with self.db.write() as conn:
                item_store.remove_items(conn, [self._rows[key] for key in left])
                added: dict[tuple[str, str], int] = {}
                for key, (queue_name, item) in entered:
                    change = item.change
                    added[key] = item_store.add_item(
                        conn, pipeline=key[0], queue=queue_name, project=change.project,
                        branch=change.branch, change_number=change.number,
                        patch_set=change.patchset, ref=change.ref, newrev=change.newrev,
                        enqueued=utcnow())
        except Exception:  # noqa: BLE001 - a lost record must not stop the gate
            log.exception("cannot record the queued items of the pipelines")
            return
        for key in left:
            del self._rows[key]
        self._rows.update(added)


def restored_enqueue(stored: StoredItem, site: SiteLayout, triggering: Triggering,
                     submit: SubmitService, repos: Repos) -> tuple[gating.Enqueue | None, str]:
    """The Enqueue event that puts ``stored`` back into its pipeline, or None and why not."""
    definition = site.pipeline(stored.pipeline)
    if definition is None:
        return None, f"the pipeline {stored.pipeline} no longer exists"
    if not stored.change_number:
        if not stored.ref or not stored.newrev or not repos.exists(stored.project):
            return None, f"project {stored.project} no longer exists"
        return gating.Enqueue(stored.pipeline, gating.ChangeRef(
            0, 0, stored.project, stored.branch, ref=stored.ref, newrev=stored.newrev)), ""
    with submit.db.read() as conn:
        change = change_store.change_by_number(conn, stored.change_number)
    if change is None:
        return None, f"change {stored.change_number} no longer exists"
    if change.status != NEW:
        return None, f"the change is {change.status.lower()}"
    if change.current_patch_set != stored.patch_set:
        return None, (f"patch set {stored.patch_set} is outdated (the current one is "
                      f"{change.current_patch_set})")
    if definition.submits:
        problem = approval_problem(submit, change)
        if problem is not None:
            return None, problem
    dependent = definition.manager == "dependent"
    needs = NeedsService(submit, lambda c: triggering.accepts(definition, c) is None)
    try:
        return needs.enqueue(definition.name, change, approved=dependent,
                             evaluate=dependent), ""
    except NotEnqueueable as exc:
        return None, str(exc)
