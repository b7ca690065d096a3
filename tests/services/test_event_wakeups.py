"""Followers of the event log are woken when an event is committed, on both stores: once
per transaction that recorded one, never for one that was rolled back or recorded none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keepgreen.store import events
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_a_committed_event_wakes_each_follower_once(db: Database) -> None:
    woken: list[str] = []
    db.on_event.extend([lambda: woken.append("scheduler"), lambda: woken.append("other")])

    with db.write() as conn:
        events.record(conn, "patchset-created", {"n": 1}, utcnow())
        events.record(conn, "comment-added", {"n": 2}, utcnow())
        assert woken == []  # not before the commit: the follower would not see it yet

    assert woken == ["scheduler", "other"]
    with db.read() as conn:
        assert [t for _, t, _ in events.since(conn)] == ["patchset-created", "comment-added"]


def test_no_wake_up_for_a_rolled_back_event_or_a_write_without_one(db: Database) -> None:
    woken: list[int] = []
    db.on_event.append(lambda: woken.append(1))

    with pytest.raises(RuntimeError), db.write() as conn:
        events.record(conn, "patchset-created", {}, utcnow())
        raise RuntimeError("the rest of the transaction failed")
    # The flag must not stay on the pooled connection for the next transaction either.
    for _ in range(3):
        with db.write() as conn:
            conn.exec_driver_sql("SELECT 1")

    assert woken == []
    with db.read() as conn:
        assert events.since(conn) == []


def test_a_build_request_wakes_the_executors_and_a_result_the_scheduler(db: Database) -> None:
    from keepgreen.store import build_queue
    from keepgreen.store.db import BUILD_REQUESTS, BUILD_RESULTS

    woken: list[str] = []
    db.subscribe(BUILD_REQUESTS, lambda: woken.append("executor"))
    db.subscribe(BUILD_RESULTS, lambda: woken.append("scheduler"))
    with db.write() as conn:
        build_queue.add(conn, uuid="b1", build=1, buildset=1, job="unit", pipeline="check",
                        priority=200, attempt=1, request={}, now=0.0)
    assert woken == ["executor"]
    with db.write() as conn:
        build_queue.claim(conn, "exec", 1, lease=30, now=0.0)
        build_queue.complete(conn, "b1", "exec", {})
    assert woken == ["executor", "scheduler"]


def test_another_process_hears_a_committed_write_through_listen_notify(db: Database) -> None:
    import time

    from keepgreen.store.db import BUILD_REQUESTS, notify
    from keepgreen.store.listener import Listener

    if db.is_sqlite:
        pytest.skip("a site on SQLite runs in one process: nothing to listen to")
    other = Database(db.url)  # the other process's store, with its own subscribers
    heard: list[float] = []
    other.subscribe(BUILD_REQUESTS, lambda: heard.append(time.monotonic()))
    listener = Listener(other, me="another-process")
    listener.start()
    try:
        with db.write() as conn:
            notify(conn, BUILD_REQUESTS)
            conn.exec_driver_sql("SELECT 1")
            time.sleep(0.3)
            assert heard == []  # not before the commit
        sent = time.monotonic()
        deadline = sent + 5
        while not heard and time.monotonic() < deadline:
            time.sleep(0.01)
        assert heard and heard[0] - sent < 1.0  # at once, not at a poll
        own = Listener(other)  # this process's own notes are not heard twice
        own.start()
        with db.write() as conn:
            notify(conn, BUILD_REQUESTS)
        time.sleep(0.5)
        own.stop()
        assert own.heard == 0
    finally:
        listener.stop()
        other.dispose()
