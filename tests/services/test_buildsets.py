"""Buildset records, operator commands and the status document against the real store, once
on SQLite and once on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from keepgreen import gating
from keepgreen.services.gating.buildsets import BuildsetRecorder
from keepgreen.services.gating.operator import OperatorClient, parse_change
from keepgreen.services.gating.status import Publisher, snapshot, stored
from keepgreen.store import builds as store
from keepgreen.store.db import Database

T0 = datetime(2026, 1, 5, 12, 0, 0)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _buildset(conn: object, uuid: str, *, project: str = "app", pipeline: str = "gate",
              change: int = 1, minutes: int = 0) -> None:
    store.add_buildset(conn, uuid=uuid, pipeline=pipeline, project=project,  # type: ignore[arg-type]
                       change_number=change, patch_set=1,
                       ref=f"refs/changes/0{change}/{change}/1", changes=f"{change},1",
                       started=T0 + timedelta(minutes=minutes))


def test_buildset_keeps_its_builds_and_first_result(db: Database) -> None:
    with db.write() as conn:
        _buildset(conn, "bs1")
        store.add_build(conn, uuid="b1", pipeline="gate", project="app", change_number=1,
                        patch_set=1, job="unit", voting=True, started=T0, buildset="bs1")
        store.add_build(conn, uuid="b2", pipeline="gate", project="app", change_number=1,
                        patch_set=1, job="lint", voting=True, started=T0)
    with db.read() as conn:
        running = store.get_buildset(conn, "bs1")
    assert running is not None and running.result is None and running.changes == "1,1"
    with db.write() as conn:
        store.finish_buildset(conn, "bs1", "FAILURE", "job unit failed", T0 + timedelta(1))
        # A late second outcome does not overwrite the reported one.
        store.finish_buildset(conn, "bs1", "ABORTED", "late", T0 + timedelta(2))
    with db.read() as conn:
        done = store.get_buildset(conn, "bs1")
        builds = store.builds_in(conn, "bs1")
    assert done is not None and (done.result, done.message) == ("FAILURE", "job unit failed")
    assert [b.uuid for b in builds] == ["b1"] and builds[0].buildset == "bs1"


def test_buildsets_filter_newest_first(db: Database) -> None:
    with db.write() as conn:
        _buildset(conn, "old", change=1, minutes=0)
        _buildset(conn, "new", change=2, minutes=5)
        _buildset(conn, "other", project="lib", pipeline="check", change=3, minutes=9)
        store.finish_buildset(conn, "old", "SUCCESS", "", T0)
    with db.read() as conn:
        def uuids(**filters: object) -> list[str]:
            query = store.buildsets_query(**filters)  # type: ignore[arg-type]
            return [store.buildset_record(r).uuid for r in conn.execute(query)]

        assert uuids() == ["other", "new", "old"]
        assert uuids(project="app") == ["new", "old"]
        assert uuids(pipeline="check") == ["other"]
        assert uuids(change_number=2) == ["new"]
        assert uuids(result="success") == ["old"]
        assert uuids(result="running") == ["other", "new"]


def test_estimate_is_median_of_recent_successes(db: Database) -> None:
    with db.write() as conn:
        for n, (seconds, result) in enumerate([(10, "SUCCESS"), (30, "SUCCESS"),
                                               (20, "SUCCESS"), (500, "FAILURE")]):
            uuid = f"u{n}"
            store.add_build(conn, uuid=uuid, pipeline="gate", project="app", change_number=1,
                            patch_set=1, job="unit", voting=True,
                            started=T0 + timedelta(hours=n))
            store.finish_build(conn, uuid, result, "", T0 + timedelta(hours=n, seconds=seconds),
                               None)
    with db.read() as conn:
        assert store.estimated_durations(conn, ["unit", "lint"]) == {"unit": 20.0}


def test_operator_commands_are_taken_in_order_once_also_after_restart(
        db: Database, database_url: str) -> None:
    client = OperatorClient(db)
    first = client.request("enqueue", "gate", [(1, 1)], project="app", requested_by="ops")
    second = client.request("promote", "gate", [(2, 1), (1, 1)], requested_by="ops")
    reopened = Database(database_url)  # another process, as after a restart
    try:
        with reopened.read() as conn:
            pending = store.pending_management_events(conn)
        assert [(e.id, e.kind, e.changes) for e in pending] == [
            (first, "enqueue", ((1, 1),)), (second, "promote", ((2, 1), (1, 1)))]
        with reopened.write() as conn:
            assert store.finish_management_event(conn, first, T0, None)
            assert not store.finish_management_event(conn, first, T0, "again")
        with reopened.read() as conn:
            assert [e.id for e in store.pending_management_events(conn)] == [second]
            taken = store.get_management_event(conn, first)
        assert taken is not None and taken.done == T0 and taken.error is None
    finally:
        reopened.dispose()


def test_a_command_nobody_takes_is_withdrawn(db: Database) -> None:
    client = OperatorClient(db)
    event_id = client.request("dequeue", "gate", [(3, 1)], requested_by="ops")
    assert client.wait(event_id, timeout=0.3) is None
    with db.read() as conn:
        assert store.pending_management_events(conn) == []


def test_change_argument_is_number_comma_patchset() -> None:
    assert parse_change("12,3") == (12, 3)
    for bad in ("12", "a,b", "0,1", "12,"):
        with pytest.raises(ValueError, match="NUMBER,PATCHSET"):
            parse_change(bad)


def _gate_with_two_items(job: gating.Job | None = None
                         ) -> tuple[gating.GatingState, list[gating.Action]]:
    state = gating.initial_state([gating.PipelineConfig("gate", "dependent")], now=100.0)
    actions: list[gating.Action] = []
    for number in (1, 2):
        state, out = gating.step(state, gating.Enqueue(
            "gate", gating.ChangeRef(number, 1, "app", approved=True)))
        actions += out
    graph = gating.JobGraph((job or gating.Job("unit"),))
    for action in [a for a in actions if isinstance(a, gating.RequestMerge)]:
        state, out = gating.step(state, gating.MergeCompleted(action.buildset, jobs=graph))
        actions += out
    return state, actions


def test_status_shows_queue_order_jobs_and_estimates(db: Database) -> None:
    state, actions = _gate_with_two_items()
    starts = [a for a in actions if isinstance(a, gating.StartBuild)]
    state, _ = gating.step(state, gating.Tick(110.0))
    state, _ = gating.step(state, gating.BuildStarted(starts[0].build))
    with db.write() as conn:
        store.add_build(conn, uuid="prev", pipeline="gate", project="app", change_number=9,
                        patch_set=1, job="unit", voting=True, started=T0)
        store.finish_build(conn, "prev", "SUCCESS", "", T0 + timedelta(seconds=42), None)
    status = snapshot(state, db, {starts[0].build: "abc"}, now=130.0)
    (gate,) = status["pipelines"]
    assert (gate["name"], gate["manager"]) == ("gate", "dependent")
    (queue,) = gate["queues"]
    assert queue["name"] == "app" and queue["window"] == 20 and queue["projects"] == ["app"]
    first, second = queue["items"]
    assert (first["id"], first["item_ahead"], first["items_behind"]) == ("1,1", None, ["2,1"])
    assert (second["id"], second["item_ahead"], second["items_behind"]) == ("2,1", "1,1", [])
    assert first["active"] and first["live"] and not first["failing"]
    (job,) = first["jobs"]
    assert job == {"name": "unit", "uuid": "abc", "result": None, "voting": True,
                   "started_at": 110.0, "elapsed": 20.0, "estimated": 42.0,
                   "url": "/build/abc", "waiting": None}
    assert second["jobs"][0]["waiting"] == "waiting for a node"
    assert snapshot(state, db, {}, project="other")["pipelines"][0]["queues"] == []


def test_status_shows_a_job_waiting_for_its_semaphore(db: Database) -> None:
    deploy = gating.Job("deploy", semaphores=(gating.Semaphore("prod", 1),))
    state, actions = _gate_with_two_items(deploy)
    starts = [a for a in actions if isinstance(a, gating.StartBuild)]
    assert [a.item for a in starts] == [starts[0].item]  # only the first item's deploy
    first, second = snapshot(state, db, {}, now=130.0)["pipelines"][0]["queues"][0]["items"]
    assert first["jobs"][0]["waiting"] == "waiting for a node"
    assert second["jobs"][0]["waiting"] == "waiting for semaphore prod (1 of 1 held)"
    assert second["waiting"] == "job deploy waits for semaphore prod (1 of 1 held)"


def test_status_names_no_neighbour_the_caller_may_not_see(db: Database) -> None:
    state, _ = _gate_with_two_items()
    state, _ = gating.step(state, gating.Enqueue(
        "gate", gating.ChangeRef(3, 1, "app", approved=True)))
    # Change 2 is private to someone else: 1 and 3 are shown as neighbours.
    status = snapshot(state, db, {}, visible=lambda number: number != 2)
    first, third = status["pipelines"][0]["queues"][0]["items"]
    assert (first["id"], first["item_ahead"], first["items_behind"]) == ("1,1", None, ["3,1"])
    assert (third["id"], third["item_ahead"], third["items_behind"]) == ("3,1", "1,1", [])
    assert "2,1" not in str(status)


def test_a_process_that_does_not_lead_shows_the_status_the_leader_shared(
        db: Database) -> None:
    assert stored(db)["pipelines"] == []  # no scheduler wrote one yet
    state, _ = _gate_with_two_items()
    state, _ = gating.step(state, gating.Enqueue(
        "gate", gating.ChangeRef(3, 1, "app", approved=True)))
    publisher = Publisher(db, least=0.0)
    publisher.publish(state, {})
    hidden = stored(db, visible=lambda number: number != 2)
    assert hidden["pipelines"] == snapshot(state, db, {}, visible=lambda number: number != 2,
                                           now=hidden["generated_at"])["pipelines"]
    assert "2,1" not in str(hidden)
    assert stored(db, project="other")["pipelines"][0]["queues"] == []
    # The same state is not written again until ``most`` seconds have passed.
    written = stored(db)["generated_at"]
    publisher.publish(state, {})
    assert stored(db)["generated_at"] == written


def test_status_says_why_an_item_fails(db: Database) -> None:
    state, actions = _gate_with_two_items()
    starts = [a for a in actions if isinstance(a, gating.StartBuild)]
    # The second item fails while the head still runs: it stays until it reaches the head.
    state, _ = gating.step(state, gating.BuildCompleted(starts[1].build, "FAILURE"))
    head, failing = snapshot(state, db, {})["pipelines"][0]["queues"][0]["items"]
    assert not head["failing"] and head["waiting"] is None
    assert failing["failing"] and failing["jobs"][0]["result"] == "FAILURE"
    assert failing["waiting"].startswith("failing: job unit failed (FAILURE); reported when "
                                         "it reaches the head")


def test_recorder_closes_buildsets_the_core_dropped(db: Database) -> None:
    recorder = BuildsetRecorder(db)
    state, actions = _gate_with_two_items()
    merges = [a for a in actions if isinstance(a, gating.RequestMerge)]
    for action in merges:
        recorder.merged(action, gating.MergeCompleted(action.buildset))
    starts = [a for a in actions if isinstance(a, gating.StartBuild)]
    state, out = gating.step(state, gating.BuildCompleted(starts[0].build, "FAILURE"))
    for action in out:
        if isinstance(action, gating.Report):
            recorder.reported(action)
    recorder.settle(state)  # item 2 was reset (re-tested without 1): its buildset is gone
    with db.read() as conn:
        rows = [store.buildset_record(r) for r in conn.execute(store.buildsets_query())]
    by_change = {r.change_number: r for r in rows}
    assert (by_change[1].result, by_change[1].changes) == ("FAILURE", "1,1")
    assert (by_change[2].result, by_change[2].changes) == ("ABORTED", "1,1 2,1")
