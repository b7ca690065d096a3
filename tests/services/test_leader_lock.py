"""One leader per site: the lock on SQLite (a file lock beside the database) and on
PostgreSQL (a session advisory lock), and the leadership loop around it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from keepgreen.services.leadership import Leadership
from keepgreen.store.db import Database
from keepgreen.store.leader import LOCK_KEY, LeaderLock


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def test_only_one_holds_the_lock_until_it_lets_go(db: Database) -> None:
    other = Database(db.url)
    try:
        first, second = LeaderLock(db), LeaderLock(other)
        assert first.try_acquire() and first.alive()
        assert not second.try_acquire()
        first.release()
        assert not first.held
        assert second.try_acquire()
        assert not first.try_acquire()
        second.release()
    finally:
        other.dispose()


def test_a_standby_takes_over_when_the_leader_lets_go(db: Database) -> None:
    other = Database(db.url)
    events: list[str] = []
    try:
        leader = Leadership(LeaderLock(db), lambda: events.append("a leads"),
                            lambda: events.append("a resigns"), retry_seconds=0.1)
        standby = Leadership(LeaderLock(other), lambda: events.append("b leads"),
                             lambda: events.append("b resigns"), retry_seconds=0.1)
        assert leader.start() is True
        assert standby.start() is False
        time.sleep(0.3)
        assert events == ["a leads"]
        leader.stop()
        deadline = time.monotonic() + 5
        while not standby.leading and time.monotonic() < deadline:
            time.sleep(0.05)
        assert events == ["a leads", "a resigns", "b leads"]
        standby.stop()
        assert events[-1] == "b resigns"
    finally:
        other.dispose()


def test_a_leader_whose_connection_is_cut_stops_leading(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("a file lock has no connection to lose")
    events: list[str] = []
    leader = Leadership(LeaderLock(db), lambda: events.append("leads"),
                        lambda: events.append("resigns"), retry_seconds=0.1)
    assert leader.start()
    with db.engine.connect() as conn:  # as if the network dropped the lock's connection
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks "
                          "WHERE locktype = 'advisory' AND objid = :low"),
                     {"low": LOCK_KEY & 0xFFFFFFFF})
        conn.commit()
    deadline = time.monotonic() + 5
    while leader.leading and time.monotonic() < deadline:
        time.sleep(0.05)
    assert events == ["leads", "resigns"] and not leader.leading
    leader.stop()
    assert events == ["leads", "resigns"]  # resigned once
