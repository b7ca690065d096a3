"""Buildset records: what the scheduler tested for each item, kept in the store.

The gate core names build sets by small integer ids that start again with every process; the
recorder gives each one a uuid when its speculative merge is done (``merged``), which its
builds carry, and records the outcome when the item is reported (``reported``). A build set
the core dropped without a report (its item was re-tested on a new state, or left the queue
unreported) is closed as ``ABORTED`` by ``settle``. A buildset that was running when the
process stopped is closed as ``ABORTED`` when the scheduler starts again
(``store.pipeline_items.abort_unfinished``).
"""

from __future__ import annotations

import logging
import uuid

from keepgreen import gating
from keepgreen.domain.refs import patch_set_ref
from keepgreen.gating import pipeline as kinds
from keepgreen.gating.change import keys
from keepgreen.store import builds as build_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

ABORTED = "ABORTED"
# Buildset results by report kind (Zuul's names where it has one).
RESULTS = {
    kinds.SUCCESS: "SUCCESS",
    kinds.FAILURE: "FAILURE",
    kinds.MERGE_CONFLICT: "MERGE_CONFLICT",
    kinds.CONFIG_ERROR: "CONFIG_ERROR",
    kinds.NO_JOBS: "NO_JOBS",
    kinds.DEQUEUE: "DEQUEUED",
    kinds.MERGE_FAILURE: "MERGE_FAILURE",
    kinds.SUPERSEDED: "SUPERSEDED",
}


class BuildsetRecorder:
    """Used only from the scheduler's loop thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._uuids: dict[int, str] = {}

    def uuid_of(self, buildset: int) -> str | None:
        """The recorded uuid of the core's build set ``buildset``, if it was recorded."""
        return self._uuids.get(buildset)

    def merged(self, action: gating.RequestMerge, done: gating.MergeCompleted) -> None:
        """The speculative state of ``action`` is prepared (or failed to be): the buildset
        starts now. ``ref`` is the item's patch set ref."""
        change = action.change
        record = uuid.uuid4().hex
        try:
            with self.db.write() as conn:
                build_store.add_buildset(
                    conn, uuid=record, pipeline=action.pipeline, project=change.project,
                    change_number=change.number, patch_set=change.patchset,
                    ref=patch_set_ref(change.number, change.patchset),
                    changes=keys(action.changes), started=utcnow())
        except Exception:  # noqa: BLE001 - a lost record must not stop the gate
            log.exception("cannot record the buildset of %s in %s", change, action.pipeline)
            return
        self._uuids[action.buildset] = record

    def reported(self, action: gating.Report) -> None:
        """The item of ``action.buildset`` was reported: record its outcome."""
        if action.buildset is None or action.kind == kinds.START:
            return
        record = self._uuids.pop(action.buildset, None)
        if record is None:
            return
        first_line = action.message.strip().splitlines()[0] if action.message.strip() else ""
        self._finish(record, RESULTS.get(action.kind, action.kind.upper()), first_line)

    def settle(self, state: gating.GatingState) -> None:
        """Close the buildsets the core no longer holds and never reported."""
        for buildset, record in list(self._uuids.items()):
            if state.find_buildset(buildset) is None:
                del self._uuids[buildset]
                self._finish(record, ABORTED, "Re-tested on a new speculative state, or "
                                              "the item left the pipeline unreported.")

    def _finish(self, record: str, result: str, message: str) -> None:
        try:
            with self.db.write() as conn:
                build_store.finish_buildset(conn, record, result, message, utcnow())
        except Exception:  # noqa: BLE001 - a lost record must not stop the gate
            log.exception("cannot record the result of buildset %s", record)
