"""Several launchers sharing one node pool through the store, on SQLite and PostgreSQL:
passes take turns under the pool lock, a launch goes to a launcher serving its provider, a
node is deleted by the launcher that launched it, a dead launcher's launches and spares are
taken over, and a provider nobody serves fails its requests with that reason.

Each launcher has provider objects of its own, as each process has; the in-memory provider
records what it was asked to do.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from keepgreen.domain.node import NodeState
from keepgreen.nodes.fake import FakeProvider
from keepgreen.nodes.pool import CHECK_PRIORITY, LabelConfig
from keepgreen.services.nodes.launcher import Launcher
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState
from tests.nodes.test_launcher import Clock


@pytest.fixture
def db(migrated_db: Database) -> Database:
    return migrated_db


def launcher(db: Database, name: str, serves: list[str], *, min_ready: int = 0,
             lease: float = 30.0, clock: Clock | None = None,
             labels: list[LabelConfig] | None = None) -> tuple[Launcher, dict[str, FakeProvider]]:
    providers = {p: FakeProvider(p, labels=("local", "west-only")) for p in ("east", "west")}
    configs = labels or [LabelConfig("local", ("east", "west"), min_ready)]
    made = Launcher(db, providers, configs, max_servers={"east": 3, "west": 3}, name=name,
                    serves=serves, lease=lease, **({"clock": clock} if clock else {}))
    return made, providers


def test_two_launchers_share_the_requests_and_each_node_has_one_launcher(
        db: Database) -> None:
    a, a_providers = launcher(db, "launcher-a", ["east"])
    b, b_providers = launcher(db, "launcher-b", ["west"])
    requests = [a.request(["local"], CHECK_PRIORITY, f"build-{i}") for i in range(6)]

    stop = threading.Event()

    def run(which: Launcher) -> None:
        while not stop.is_set():
            which.step()
            time.sleep(0.01)

    threads = [threading.Thread(target=run, args=(x,)) for x in (a, b)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = [a.get_request(r) for r in requests]
            if all(r.state is RequestState.FULFILLED for r in found):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"requests not fulfilled: {[(r.state, r.reason) for r in found]}")
        launched = {s.node.id: s for s in a.nodes()}
        east, west = a_providers["east"], b_providers["west"]
        # Each node was launched once, by the launcher serving its provider; the launchers'
        # copies of the providers they do not serve were never asked for anything.
        assert sorted(east.created + west.created) == sorted(launched)
        assert east.created and west.created  # six nodes over two providers of three
        assert not a_providers["west"].created and not b_providers["east"].created
        assert {s.launcher for s in launched.values() if s.node.provider == "east"} == {
            "launcher-a"}
        assert {s.launcher for s in launched.values() if s.node.provider == "west"} == {
            "launcher-b"}
        for request_id in requests:
            nodes = b.accept(request_id)  # any process may take and give back nodes
            b.release([n.id for n in nodes])
        deadline = time.monotonic() + 30
        while a.nodes() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert a.nodes() == []
    assert sorted(east.deleted) == sorted(east.created)  # each deleted by its own launcher
    assert sorted(west.deleted) == sorted(west.created)
    assert not a_providers["west"].deleted and not b_providers["east"].deleted


def test_a_dead_launchers_spares_and_launches_are_taken_over(db: Database) -> None:
    east_only = [LabelConfig("local", ("east",), 2)]
    a, a_providers = launcher(db, "launcher-a", ["east"], lease=0.5, labels=east_only)
    a.step()
    spares = {s.node.id for s in a.nodes()}
    assert len(spares) == 2 and {s.launcher for s in a.nodes()} == {"launcher-a"}
    b, b_providers = launcher(db, "launcher-b", ["east"], lease=0.5, labels=east_only)
    b.step()
    assert {s.node.id for s in b.nodes()} == spares  # a is alive: its spares stay its own
    assert not b_providers["east"].created

    time.sleep(0.8)  # a stopped beating: it is dead now
    b.step()
    left = {s.node.id: s for s in b.nodes()}
    assert not spares & set(left)  # a's spares were failed and deleted, by b
    assert sorted(b_providers["east"].deleted) == sorted(spares)
    assert len(left) == 2 and {s.launcher for s in left.values()} == {"launcher-b"}
    assert all(s.node.state is NodeState.READY for s in left.values())


def test_a_provider_no_launcher_serves_fails_its_requests_with_that_reason(
        db: Database) -> None:
    clock = Clock()
    a, a_providers = launcher(db, "launcher-a", ["east"], clock=clock,
                              labels=[LabelConfig("west-only", ("west",))])
    request_id = a.request(["west-only"], CHECK_PRIORITY, "build-1")
    for _ in range(8):  # a launch left for a lease, then failed: three times
        a.step()
        clock.now += timedelta(seconds=31)
    found = a.get_request(request_id)
    assert found.state is RequestState.FAILED
    assert "no running launcher serves provider west" in found.reason, found.reason
    assert not a_providers["west"].created
