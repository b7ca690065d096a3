"""Queued items kept across a restart, and builds a stopped process left running, against the
real store, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from keepgreen import gating
from keepgreen.services.gating.pipeline_items import QueuedItems
from keepgreen.store import builds as build_store
from keepgreen.store import pipeline_items as store
from keepgreen.store.db import Database

T0 = datetime(2026, 1, 5, 12, 0, 0)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _gate() -> gating.GatingState:
    return gating.initial_state([gating.PipelineConfig("gate", "dependent"),
                                 gating.PipelineConfig("post", "supercedent")])


def _enqueue(state: gating.GatingState, number: int) -> gating.GatingState:
    change = gating.ChangeRef(number, 1, "org/app", approved=True)
    state, _ = gating.step(state, gating.Enqueue("gate", change))
    return state


def _keys(db: Database) -> list[tuple[str, str]]:
    with db.read() as conn:
        return [(i.pipeline, i.key) for i in store.queued_items(conn)]


def test_items_are_recorded_in_queue_order_and_forgotten_when_they_leave(
        db: Database) -> None:
    recorder = QueuedItems(db)
    state = _gate()
    for number in (7, 3, 9):
        state = _enqueue(state, number)
        recorder.settle(state)
    ref = gating.ChangeRef(0, 0, "org/app", ref="refs/heads/main", newrev="ab" * 20)
    state, _ = gating.step(state, gating.Enqueue("post", ref))
    recorder.settle(state)

    assert _keys(db) == [("gate", "7,1"), ("gate", "3,1"), ("gate", "9,1"),
                         ("post", f"refs/heads/main@{'ab' * 20}")]
    with db.read() as conn:
        first = store.queued_items(conn)[0]
    assert (first.project, first.branch, first.queue) == ("org/app", "main", "org/app")

    state, _ = gating.step(state, gating.Dequeue(3, "operator", pipeline="gate"))
    recorder.settle(state)
    assert _keys(db) == [("gate", "7,1"), ("gate", "9,1"),
                         ("post", f"refs/heads/main@{'ab' * 20}")]


def test_a_restarted_recorder_keeps_what_is_queued_again_and_drops_the_rest(
        db: Database) -> None:
    before = QueuedItems(db)
    state = _gate()
    for number in (1, 2, 3):
        state = _enqueue(state, number)
    before.settle(state)

    after = QueuedItems(db)
    loaded = after.load()
    assert [i.key for i in loaded] == ["1,1", "2,1", "3,1"]
    # Enqueued again, but change 2 was abandoned while the server was down.
    after.paused = True
    fresh = _gate()
    for number in (1, 3):
        fresh = _enqueue(fresh, number)
        after.settle(fresh)  # paused: nothing is dropped half way
    assert _keys(db) == [("gate", "1,1"), ("gate", "2,1"), ("gate", "3,1")]
    after.paused = False
    after.settle(fresh)

    with db.read() as conn:
        kept = store.queued_items(conn)
    assert [i.key for i in kept] == ["1,1", "3,1"]
    # The same rows, so the order of entry is the original one.
    assert [i.id for i in kept] == [loaded[0].id, loaded[2].id]


def test_builds_and_buildsets_left_running_are_aborted_once(db: Database) -> None:
    with db.write() as conn:
        build_store.add_buildset(conn, uuid="bs-run", pipeline="gate", project="app",
                                 change_number=1, patch_set=1, ref="refs/changes/01/1/1",
                                 changes="1,1", started=T0)
        build_store.add_buildset(conn, uuid="bs-done", pipeline="gate", project="app",
                                 change_number=2, patch_set=1, ref="refs/changes/02/2/1",
                                 changes="2,1", started=T0)
        build_store.finish_buildset(conn, "bs-done", "SUCCESS", "", T0)
        for uuid, buildset in (("running", "bs-run"), ("done", "bs-done")):
            build_store.add_build(conn, uuid=uuid, pipeline="gate", project="app",
                                  change_number=1, patch_set=1, job="unit", voting=True,
                                  started=T0, buildset=buildset)
        build_store.finish_build(conn, "done", "SUCCESS", "ok", T0, None)

    with db.write() as conn:
        closed = store.abort_unfinished(conn, "the server stopped while this build ran", T0)
    assert closed == (1, 1)
    with db.read() as conn:
        running = build_store.builds_in(conn, "bs-run")[0]
        done = build_store.builds_in(conn, "bs-done")[0]
        aborted_set = build_store.get_buildset(conn, "bs-run")
        kept_set = build_store.get_buildset(conn, "bs-done")
    assert (running.result, running.reason, running.ended) == (
        "ABORTED", "the server stopped while this build ran", T0)
    assert (done.result, done.reason) == ("SUCCESS", "ok")
    assert aborted_set is not None and aborted_set.result == "ABORTED"
    assert aborted_set.message == "the server stopped while this build ran"
    assert kept_set is not None and kept_set.result == "SUCCESS"
    with db.write() as conn:
        assert store.abort_unfinished(conn, "again", T0) == (0, 0)
