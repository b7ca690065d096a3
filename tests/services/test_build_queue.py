"""Builds handed to executors through the database, against the real store, once on SQLite
and once on PostgreSQL: claims, leases, lost executors, cancels, pause and drain.

The executor under the worker is a stand-in with the real one's calls (``run_build``,
``cancel``, ``abort``, ``nodes``, ``settings``); the real executor runs builds under the
worker in the end-to-end tests (tests/e2e/test_executors.py and every pipeline test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from keepgreen.executor import model as ex
from keepgreen.executor import wire
from keepgreen.services.gating.executor_worker import TAKEN_AWAY, ExecutorWorker
from keepgreen.services.gating.running import BuildRunner, FailingEarly, Finished
from keepgreen.store import build_queue as queue
from keepgreen.store.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def _request(uuid: str, *, attempts: int = 3, job: str = "unit") -> dict[str, Any]:
    return wire.dump_request(ex.BuildRequest(
        uuid=uuid, job=ex.JobSpec(name=job, run=(), attempts=attempts),
        item=ex.Item(ex.Project("org/app"))))


def _add(db: Database, uuid: str, *, pipeline: str = "check", priority: int = 200,
         build: int = 1, attempts: int = 3) -> None:
    with db.write() as conn:
        queue.add(conn, uuid=uuid, build=build, buildset=7, job="unit", pipeline=pipeline,
                  priority=priority, attempt=1, request=_request(uuid, attempts=attempts),
                  now=time.time())


def _runner(db: Database, released: list[list[str]] | None = None) -> BuildRunner:
    return BuildRunner(db, SimpleNamespace(), SimpleNamespace(),  # type: ignore[arg-type]
                       release_nodes=(released.append if released is not None
                                      else lambda ids: None))


def _drain(runner: BuildRunner) -> list[Finished | FailingEarly]:
    found = []
    while not runner.results.empty():
        found.append(runner.results.get_nowait())
    return found


# --- the queue ------------------------------------------------------------------------------


def test_claims_take_gate_builds_first_then_the_oldest(db: Database) -> None:
    _add(db, "check-1", priority=200)
    _add(db, "check-2", priority=200)
    _add(db, "gate-1", pipeline="gate", priority=100)
    with db.write() as conn:
        first = queue.claim(conn, "a", 2, lease=30, now=time.time())
        second = queue.claim(conn, "b", 5, lease=30, now=time.time())
    assert [b.uuid for b in first] == ["gate-1", "check-1"]
    assert [b.uuid for b in second] == ["check-2"]
    assert {b.owner for b in first} == {"a"} and second[0].owner == "b"


def test_executors_claiming_at_once_never_take_the_same_build(db: Database) -> None:
    for n in range(40):
        _add(db, f"b{n}", build=n)
    taken: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    go = threading.Barrier(3)

    def take(owner: str) -> None:
        go.wait()
        while True:
            with db.write() as conn:
                got = queue.claim(conn, owner, 3, lease=30, now=time.time())
            if not got:
                return
            taken[owner].extend(b.uuid for b in got)

    threads = [threading.Thread(target=take, args=(o,)) for o in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    everything = [u for got in taken.values() for u in got]
    assert sorted(everything) == sorted(f"b{n}" for n in range(40))  # each exactly once
    assert len(set(everything)) == 40


def test_only_the_owner_completes_a_build(db: Database) -> None:
    _add(db, "b1")
    with db.write() as conn:
        queue.claim(conn, "a", 1, lease=30, now=time.time())
        assert not queue.complete(conn, "b1", "b", {"result": "SUCCESS"})
        assert queue.complete(conn, "b1", "a", {"result": "SUCCESS"})
        assert not queue.complete(conn, "b1", "a", {"result": "FAILURE"})  # once
        found = queue.get(conn, "b1")
    assert found is not None and found.state == queue.COMPLETED
    assert found.result == {"result": "SUCCESS"}


def test_renewal_reports_cancels_and_builds_taken_away(db: Database) -> None:
    _add(db, "b1")
    _add(db, "b2")
    now = time.time()
    with db.write() as conn:
        queue.claim(conn, "a", 2, lease=30, now=now)
        queue.cancel(conn, "b1", "superseded by patch set 2")
        answers = queue.renew(conn, "a", ["b1", "b2"], lease=30, now=now + 10)
        assert answers == {"b1": "superseded by patch set 2", "b2": None}
        assert queue.get(conn, "b2").lease_until == pytest.approx(now + 40)  # type: ignore[union-attr]
        assert queue.renew(conn, "other", ["b1", "b2"], lease=30, now=now) == {}


# --- the scheduler's side -------------------------------------------------------------------


def test_a_lost_build_is_handed_out_again_as_its_next_attempt(db: Database) -> None:
    released: list[list[str]] = []
    runner = _runner(db, released)
    _add(db, "b1", attempts=3)
    now = time.time()
    with db.write() as conn:
        queue.claim(conn, "dead", 1, lease=5, now=now)
        queue.set_nodes(conn, "b1", "dead", ["0000000042"])
    runner.collect(now + 1)
    assert _drain(runner) == [] and released == []  # its lease has not run out yet
    runner.collect(now + 6)
    with db.read() as conn:
        found = queue.get(conn, "b1")
    assert found is not None and found.state == queue.REQUESTED and found.owner is None
    assert found.attempt == 2 and wire.load_request(found.request).attempt == 2
    assert released == [["0000000042"]]  # the dead executor's node goes back to the pool
    with db.write() as conn:  # the dead one comes back: what it writes is dropped
        assert not queue.complete(conn, "b1", "dead", {"result": "SUCCESS"})
        again = queue.claim(conn, "alive", 1, lease=5, now=now + 7)
    assert [b.attempt for b in again] == [2]


def test_a_build_lost_on_its_last_attempt_ends_with_retry_limit(db: Database) -> None:
    runner = _runner(db)
    _add(db, "b1", attempts=1, build=5)
    now = time.time()
    with db.write() as conn:
        queue.claim(conn, "dead", 1, lease=5, now=now)
    runner.collect(now + 6)
    runner.collect(now + 6)
    news = _drain(runner)
    assert len(news) == 1 and isinstance(news[0], Finished)
    assert news[0].build == 5 and news[0].result == "RETRY_LIMIT"
    assert "executor (dead) was lost during attempt 1 of 1" in news[0].reason
    with db.read() as conn:
        assert queue.get(conn, "b1") is None  # taken: the row is gone


def test_cancelling_a_waiting_build_ends_it_aborted_at_once(db: Database) -> None:
    runner = _runner(db)
    _add(db, "b1", build=3)
    assert runner.cancel("b1", "the change was abandoned")
    assert not runner.cancel("nope", "no such build")
    runner.collect()
    news = _drain(runner)
    assert [(n.build, n.result) for n in news if isinstance(n, Finished)] == [(3, "ABORTED")]
    assert "cancelled: the change was abandoned" in news[0].reason  # type: ignore[union-attr]
    with db.write() as conn:
        assert queue.claim(conn, "a", 5, lease=30, now=time.time()) == []


def test_an_early_failure_is_reported_once_and_then_the_result(db: Database) -> None:
    runner = _runner(db)
    _add(db, "b1", build=9)
    with db.write() as conn:
        queue.claim(conn, "a", 1, lease=30, now=time.time())
        queue.early_failure(conn, "b1", "a", "task 'run tests' failed")
    runner.collect()
    runner.collect()
    assert _drain(runner) == [FailingEarly(9, "b1", "task 'run tests' failed")]


def test_a_new_scheduler_drops_the_requests_of_the_last_one(db: Database) -> None:
    _add(db, "b1")
    _add(db, "b2")
    runner = _runner(db)
    runner.clear()
    with db.read() as conn:
        assert queue.counts(conn) == {}


# --- the executor's side --------------------------------------------------------------------


class StandInExecutor:
    """The calls the worker makes of ``executor.runner.Executor``; a build runs until
    ``release`` is set for it or it is cancelled."""

    def __init__(self, root: Path) -> None:
        self.settings = SimpleNamespace(builds_root=root)
        self.nodes = None
        self.release: dict[str, threading.Event] = {}
        self.cancelled: dict[str, str] = {}
        self.concurrent = 0
        self.most = 0
        self.ran: list[str] = []
        self._lock = threading.Lock()

    def gate(self, uuid: str) -> threading.Event:
        with self._lock:
            return self.release.setdefault(uuid, threading.Event())

    def run_build(self, request: ex.BuildRequest, on_line: Any = None, *,
                  on_early_failure: Any = None) -> ex.BuildResult:
        with self._lock:
            self.concurrent += 1
            self.most = max(self.most, self.concurrent)
            self.ran.append(request.uuid)
        started = time.time()
        try:
            self.gate(request.uuid).wait(20)
        finally:
            with self._lock:
                self.concurrent -= 1
        if request.uuid in self.cancelled:
            return ex.BuildResult(request.uuid, request.job.name, ex.Result.ABORTED,
                                  f"cancelled: {self.cancelled[request.uuid]}", started,
                                  time.time())
        return ex.BuildResult(request.uuid, request.job.name, ex.Result.SUCCESS,
                              f"attempt {request.attempt}", started, time.time(),
                              stages=(("run", 0.1),))

    def cancel(self, uuid: str, reason: str) -> bool:
        self.cancelled[uuid] = reason
        self.gate(uuid).set()
        return True

    def abort(self) -> None:
        for event in list(self.release.values()):
            event.set()


def _until(check: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def worker(db: Database, tmp_path: Path) -> Iterator[tuple[ExecutorWorker, StandInExecutor]]:
    stand_in = StandInExecutor(tmp_path)
    found = ExecutorWorker(db, lambda: stand_in, name="exec-1", capacity=2, lease=3)
    found.start()
    yield found, stand_in
    found.stop()


def test_an_executor_runs_at_most_its_capacity_and_reports_each_build(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    runner = _runner(db)
    for n in range(5):
        _add(db, f"b{n}", build=n)
    executor.wake()
    _until(lambda: len(stand_in.ran) == 2)
    time.sleep(0.6)  # a poll later it still holds two: it is full
    assert len(stand_in.ran) == 2 and stand_in.most == 2
    for n in range(5):
        stand_in.gate(f"b{n}").set()
    finished: list[Finished | FailingEarly] = []

    def all_in() -> bool:
        runner.collect()
        finished.extend(_drain(runner))
        return len(finished) == 5

    _until(all_in)
    assert sorted(n.build for n in finished) == [0, 1, 2, 3, 4]
    assert {n.result for n in finished} == {"SUCCESS"}  # type: ignore[union-attr]
    assert stand_in.most == 2
    with db.read() as conn:
        (row,) = queue.all_executors(conn)
    assert row.name == "exec-1" and row.capacity == 2


def test_a_cancelled_build_is_stopped_on_its_executor(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    runner = _runner(db)
    runner.wake_executors = executor.wake
    _add(db, "b1", build=1)
    executor.wake()
    _until(lambda: stand_in.ran == ["b1"])
    assert runner.cancel("b1", "a change ahead failed")
    _until(lambda: "b1" in stand_in.cancelled)
    assert stand_in.cancelled["b1"] == "a change ahead failed"

    def done() -> bool:
        runner.collect()
        return not runner.results.empty()

    _until(done)
    (news,) = _drain(runner)
    assert isinstance(news, Finished) and news.result == "ABORTED"


def test_a_build_taken_away_is_stopped_and_its_result_dropped(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    _add(db, "b1", build=1)
    executor.wake()
    _until(lambda: stand_in.ran == ["b1"])
    with db.write() as conn:  # as if its lease ran out and another executor took it
        found = queue.get(conn, "b1")
        assert found is not None
        queue.requeue(conn, found, found.request)
        queue.claim(conn, "exec-2", 1, lease=30, now=time.time())
    _until(lambda: stand_in.cancelled.get("b1") == TAKEN_AWAY, timeout=10)
    _until(lambda: not executor.running)
    with db.read() as conn:
        found = queue.get(conn, "b1")
    assert found is not None and found.owner == "exec-2" and found.state == queue.RUNNING


def test_a_paused_executor_takes_nothing_until_resumed(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    with db.write() as conn:
        assert queue.set_flags(conn, "exec-1", paused=True) == 1
    _until(lambda: executor.paused, timeout=5)
    _add(db, "b1")
    executor.wake()
    time.sleep(1.2)
    assert stand_in.ran == []
    with db.write() as conn:
        queue.set_flags(conn, None, paused=False)
    _until(lambda: stand_in.ran == ["b1"], timeout=5)
    stand_in.gate("b1").set()


def test_a_graceful_executor_finishes_its_builds_then_stops(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    _add(db, "b1", build=1)
    executor.wake()
    _until(lambda: stand_in.ran == ["b1"])
    with db.write() as conn:
        queue.set_flags(conn, "exec-1", graceful=True)
    _until(lambda: executor.graceful, timeout=5)
    _add(db, "b2", build=2)
    executor.wake()
    time.sleep(0.6)
    stand_in.gate("b1").set()
    executor.wait()
    assert stand_in.ran == ["b1"]  # b2 waits for another executor
    with db.read() as conn:
        assert queue.get(conn, "b1").state == queue.COMPLETED  # type: ignore[union-attr]
        assert queue.get(conn, "b2").state == queue.REQUESTED  # type: ignore[union-attr]


class InstantExecutor(StandInExecutor):
    """Every build ends as soon as it starts."""

    def gate(self, uuid: str) -> threading.Event:
        done = threading.Event()
        done.set()
        return done


def test_fifty_builds_spread_over_two_executors_each_run_once(db: Database,
                                                              tmp_path: Path) -> None:
    stand_ins = [InstantExecutor(tmp_path / "a"), InstantExecutor(tmp_path / "b")]
    workers = [ExecutorWorker(db, lambda s=s: s, name=f"exec-{n}", capacity=3, lease=3)
               for n, s in enumerate(stand_ins)]
    for w in workers:
        w.start()
    try:
        runner = _runner(db)
        for n in range(50):
            _add(db, f"b{n}", build=n)
        for w in workers:
            w.wake()
        finished: list[Finished | FailingEarly] = []

        def all_in() -> bool:
            runner.collect()
            finished.extend(_drain(runner))
            return len(finished) >= 50

        _until(all_in, timeout=60)
    finally:
        for w in workers:
            w.stop()
    ran = [u for s in stand_ins for u in s.ran]
    assert sorted(ran) == sorted(f"b{n}" for n in range(50))  # each once, none twice
    assert all(s.ran for s in stand_ins), [len(s.ran) for s in stand_ins]  # both took some
    assert sorted(n.build for n in finished) == list(range(50))


def test_an_executor_short_of_disk_takes_nothing_until_there_is_room(
        db: Database, worker: tuple[ExecutorWorker, StandInExecutor]) -> None:
    executor, stand_in = worker
    stand_in.settings.builds_root.mkdir(parents=True, exist_ok=True)
    executor.min_free_disk = 1 << 62  # more than any disk has
    _until(lambda: "below" in executor.busy, timeout=5)
    _add(db, "b1")
    executor.wake()
    time.sleep(1.2)
    assert stand_in.ran == []
    with db.read() as conn:
        (row,) = queue.all_executors(conn)
    assert row.free_disk > 0  # what it advertises
    executor.min_free_disk = 0
    _until(lambda: stand_in.ran == ["b1"], timeout=5)
    stand_in.gate("b1").set()
