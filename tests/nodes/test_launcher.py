"""The launcher with an in-memory provider, on SQLite and PostgreSQL: requests are served,
spares kept, quotas respected with a reason, failures retried, nodes freed and leaks swept."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from keepgreen.domain.node import NodeState, ResourceId
from keepgreen.nodes.fake import FakeProvider
from keepgreen.nodes.local import LocalProvider
from keepgreen.nodes.pool import CHECK_PRIORITY, GATE_PRIORITY, LabelConfig
from keepgreen.nodes.preflight import problems
from keepgreen.services.errors import Conflict
from keepgreen.services.nodes.launcher import Launcher
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider("fake", labels=("local",))


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(db: Database, fake: FakeProvider, clock: Clock, *, min_ready: int = 0,
         max_servers: int = 4) -> Launcher:
    return Launcher(db, {"fake": fake}, [LabelConfig("local", ("fake",), min_ready)],
                    max_servers={"fake": max_servers}, clock=clock)


def states(launcher: Launcher) -> list[str]:
    return sorted(s.node.state.value for s in launcher.nodes())


def test_a_request_is_fulfilled_and_accepted(db: Database, fake: FakeProvider,
                                             clock: Clock) -> None:
    launcher = make(db, fake, clock)
    request_id = launcher.request(["local", "local"], CHECK_PRIORITY, "check/job1")

    launcher.step()

    request = launcher.get_request(request_id)
    assert request.state is RequestState.FULFILLED and request.reason == ""
    assert len(request.node_ids) == 2 and set(request.node_ids) == set(fake.nodes)
    nodes = launcher.accept(request_id)
    assert [n.id for n in nodes] == list(request.node_ids)
    assert all(n.state is NodeState.IN_USE for n in nodes)
    assert nodes[0].host == f"fake-{nodes[0].id}.invalid"
    assert nodes[0].host_key.startswith("ssh-ed25519 ")


def test_accepting_an_unfulfilled_request_says_why(db: Database, fake: FakeProvider,
                                                   clock: Clock) -> None:
    launcher = make(db, fake, clock, max_servers=0)
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")
    launcher.step()

    with pytest.raises(Conflict, match="is requested: .*max-servers 0"):
        launcher.accept(request_id)


def test_min_ready_keeps_spare_nodes_ready(db: Database, fake: FakeProvider,
                                           clock: Clock) -> None:
    launcher = make(db, fake, clock, min_ready=2)

    launcher.step()
    assert states(launcher) == ["ready", "ready"]

    request_id = launcher.request(["local"], GATE_PRIORITY, "gate/job1")
    launcher.step()

    # A spare was handed out at once, and a new one was started to replace it.
    request = launcher.get_request(request_id)
    assert request.state is RequestState.FULFILLED
    assert len(fake.created) == 3
    spares = [s for s in launcher.nodes() if s.request_id is None]
    assert [s.node.state for s in spares] == [NodeState.READY, NodeState.READY]


def test_max_servers_is_respected_and_the_request_says_why_it_waits(
        db: Database, fake: FakeProvider, clock: Clock) -> None:
    launcher = make(db, fake, clock, max_servers=2)
    first = launcher.request(["local", "local"], CHECK_PRIORITY, "check/job1")
    second = launcher.request(["local"], CHECK_PRIORITY, "check/job2")

    launcher.step()

    assert len(fake.nodes) == 2
    assert launcher.get_request(first).state is RequestState.FULFILLED
    waiting = launcher.get_request(second)
    assert waiting.state is RequestState.REQUESTED
    assert waiting.reason == "waiting for label local: provider fake is at max-servers 2"

    launcher.release([n.id for n in launcher.accept(first)])
    launcher.step()

    assert launcher.get_request(second).state is RequestState.FULFILLED
    assert launcher.get_request(second).reason == ""
    assert len(fake.nodes) == 1


def test_a_failed_launch_is_retried(db: Database, fake: FakeProvider, clock: Clock) -> None:
    launcher = make(db, fake, clock)
    fake.fail_next = 2
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")

    launcher.step()

    request = launcher.get_request(request_id)
    assert request.state is RequestState.FULFILLED and request.failures == 2
    assert len(fake.created) == 3
    # The failed nodes were cleaned up through the provider and forgotten.
    assert [s.node.id for s in launcher.nodes()] == list(request.node_ids)


def test_three_failed_launches_fail_the_request_with_node_failure(
        db: Database, fake: FakeProvider, clock: Clock) -> None:
    launcher = make(db, fake, clock)
    fake.fail_next = 5
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")

    launcher.step()

    request = launcher.get_request(request_id)
    assert request.state is RequestState.FAILED
    assert request.reason.startswith("NODE_FAILURE: 3 launches of label local failed")
    assert "the test said so" in request.reason
    assert len(fake.created) == 3
    assert launcher.nodes() == [] and fake.nodes == {}


def test_released_nodes_are_deleted(db: Database, fake: FakeProvider, clock: Clock) -> None:
    launcher = make(db, fake, clock)
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")
    launcher.step()
    node = launcher.accept(request_id)[0]

    launcher.release([node.id])
    assert states(launcher) == ["used"]
    launcher.step()

    assert fake.deleted == [node.id] and launcher.nodes() == []


def test_a_held_node_is_kept_until_it_expires(db: Database, fake: FakeProvider,
                                              clock: Clock) -> None:
    launcher = make(db, fake, clock)
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")
    launcher.step()
    node = launcher.accept(request_id)[0]

    launcher.release([node.id], hold_until=clock.now + timedelta(hours=24))
    clock.now += timedelta(hours=23)
    launcher.step()
    assert states(launcher) == ["hold"] and fake.deleted == []

    clock.now += timedelta(hours=1)
    launcher.step()
    assert launcher.nodes() == [] and fake.deleted == [node.id]


def test_sweep_removes_an_unknown_resource_only_on_the_second_pass(
        db: Database, fake: FakeProvider, clock: Clock) -> None:
    launcher = make(db, fake, clock)
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")
    launcher.step()
    leak = ResourceId("server", "ghost", "ghost")
    fake.leaked.add(leak)

    assert launcher.sweep() == []
    assert leak in fake.list_resources()

    assert launcher.sweep() == [leak]
    assert leak not in fake.list_resources()
    # The store's own node was never touched.
    assert list(launcher.get_request(request_id).node_ids) == list(fake.nodes)


def test_a_restart_cleans_up_launches_that_were_in_flight(
        db: Database, fake: FakeProvider, clock: Clock) -> None:
    from keepgreen.store import nodes as store

    request_id = Launcher(db, {"fake": fake}, [LabelConfig("local", ("fake",))],
                          clock=clock).request(["local"], CHECK_PRIORITY, "check/job1")
    with db.write() as conn:  # as a crashed launcher leaves it
        store.add_node(conn, "half", "local", "fake", request_id)
        store.set_node_state(conn, "half", NodeState.BUILDING)

    launcher = make(db, fake, clock)
    launcher.resume()
    launcher.step()

    request = launcher.get_request(request_id)
    assert request.state is RequestState.FULFILLED and request.failures == 0
    assert "half" in fake.deleted and "half" not in request.node_ids


def test_a_provider_that_cannot_make_nodes_fails_the_request_at_once_saying_why(
        db: Database, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A machine without the node tools: PATH holds only an empty folder.
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    local = LocalProvider(tmp_path / "nodes")
    launcher = Launcher(db, {"local": local}, [LabelConfig("local", ("local",))],
                        clock=clock)
    request_id = launcher.request(["local"], CHECK_PRIORITY, "check/job1")
    launcher.step()
    request = launcher.get_request(request_id)
    assert request.state is RequestState.FAILED
    assert request.reason.startswith("NODE_FAILURE: provider local cannot make nodes on "
                                     "this machine: ")
    assert "unshare is missing: run `apt-get install -y util-linux`" in request.reason
    assert "ip is missing: run `apt-get install -y iproute2`" in request.reason
    assert request.failures == 1  # not retried: nothing a retry could change
    assert not (tmp_path / "nodes").exists() or not any((tmp_path / "nodes").iterdir())


def test_node_problems_name_each_missing_tool_with_its_fix(tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    for tool in ("unshare", "nsenter", "setpriv", "mount", "ip", "ssh-keygen"):
        (tmp_path / "bin" / tool).symlink_to(f"/usr/bin/{tool}" if tool != "ip"
                                             else "/usr/sbin/ip")
    not_root = [] if os.geteuid() == 0 else [problems("")[0]]
    assert problems(str(tmp_path / "bin")) == [
        *not_root, "ssh is missing: run `apt-get install -y openssh-client`"]
    assert problems(os.environ["PATH"] + ":/usr/sbin") == not_root
