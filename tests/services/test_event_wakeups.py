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
