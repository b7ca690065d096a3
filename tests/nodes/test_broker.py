"""Builds' node requests through the running launcher service: gate before check when the
pool is full, and the build's log says what it waits for."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, NodeState
from keepgreen.executor.model import BuildRequest, Item, JobSpec, NodeSpec, Project
from keepgreen.nodes.fake import FakeProvider
from keepgreen.nodes.siteconfig import NodeDefaults
from keepgreen.services.nodes.broker import PoolNodes, priority_of, ssh_command
from keepgreen.services.nodes.pool_service import LauncherService
from keepgreen.store.db import Database


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider("local", labels=("local",))


@pytest.fixture
def service(database_url: str, tmp_path: Path, fake: FakeProvider) -> Iterator[LauncherService]:
    db = Database(database_url)
    db.migrate()
    launcher = LauncherService(db, tmp_path, NodeDefaults(max_servers=1, memory_bytes=0),
                               tick=0.05, make_provider=lambda config: fake)
    launcher.start()
    yield launcher
    launcher.stop()
    db.dispose()


def request(uuid: str, pipeline: str) -> BuildRequest:
    job = JobSpec(name="unit", run=(), nodes=(NodeSpec("node", "local"),))
    return BuildRequest(uuid=uuid, job=job, item=Item(Project("p", Path("/nonexistent"))),
                        pipeline=pipeline)


def test_priorities() -> None:
    assert priority_of("gate") < priority_of("check") < priority_of("post")


def test_gate_is_served_before_check_when_max_servers_is_1(service: LauncherService) -> None:
    nodes = PoolNodes(service)
    first = nodes.acquire(request("first", "check"), lambda line: None)
    served: list[str] = []
    said: dict[str, list[str]] = {"check": [], "gate": []}

    def wait(uuid: str, pipeline: str) -> None:
        got = nodes.acquire(request(uuid, pipeline), said[pipeline].append)
        served.append(pipeline)
        nodes.release(request(uuid, pipeline), got, None)

    check = threading.Thread(target=wait, args=("c", "check"))
    check.start()
    while not said["check"][1:]:
        threading.Event().wait(0.05)
    gate = threading.Thread(target=wait, args=("g", "gate"))
    gate.start()
    while not said["gate"][1:]:
        threading.Event().wait(0.05)
    nodes.release(request("first", "check"), first, None)
    check.join(30)
    gate.join(30)
    assert served == ["gate", "check"]
    assert said["check"][1] == ("[executor] waiting for nodes: waiting for label local: "
                                "provider local is at max-servers 1")


def test_a_node_that_ran_out_of_memory_or_disk_says_so(service: LauncherService,
                                                       fake: FakeProvider) -> None:
    nodes = PoolNodes(service)
    got = nodes.acquire(request("full", "check"), lambda line: None)
    node = got["node"]
    assert nodes.trouble(got) is None
    fake.disk_trouble[node.id] = f"node {node.id} ran out of disk space (limit 64 MiB)"
    assert nodes.trouble(got) == f"node {node.id} ran out of disk space (limit 64 MiB)"
    fake.memory_trouble[node.id] = f"node {node.id} ran out of memory (limit 64 MiB)"
    assert nodes.trouble(got) == f"node {node.id} ran out of memory (limit 64 MiB)"
    nodes.release(request("full", "check"), got, None)


def test_a_held_kubernetes_node_is_entered_with_kubectl() -> None:
    attributes = (("context", "ci-admin"), ("namespace", "keepgreen-k1"), ("pod", "node"),
                  ("token", "t0k3n"))
    pod = Node(id="k1", label="pod", provider="cluster", state=NodeState.HOLD, host="",
               connection_type="kubectl", attributes=attributes)
    assert ssh_command(pod) == ("kubectl --context ci-admin --namespace keepgreen-k1 exec -it "
                                "node -- /bin/sh")
    space = Node(id="k2", label="ns", provider="cluster", state=NodeState.HOLD, host="",
                 connection_type="namespace", attributes=(("namespace", "keepgreen-k2"),))
    assert ssh_command(space) == "kubectl --namespace keepgreen-k2 get all"
