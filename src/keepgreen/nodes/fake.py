"""An in-memory provider for tests of whatever drives providers (launcher, scheduler).

It keeps the port's contract (READY nodes from ``create``, idempotent ``delete``, tagged
resources for leak sweeps) without touching the machine, and can be told to fail launches
or to "leak" a resource, so the callers' failure paths are testable with plain values.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from keepgreen.domain.node import Node, NodeState, ResourceId


class FakeLaunchError(RuntimeError):
    """A launch the test asked to fail."""


class FakeProvider:
    def __init__(self, name: str = "fake", labels: Sequence[str] = ("local",)) -> None:
        self.name = name
        self.labels = tuple(labels)
        self.nodes: dict[str, Node] = {}
        self.leaked: set[ResourceId] = set()
        self.fail_next = 0  # how many of the next creates raise
        self.created: list[str] = []
        self.deleted: list[str] = []
        # node id -> why the node failed its build, as a local provider reads it from the
        # node's cgroup (memory) or its disk image (disk).
        self.memory_trouble: dict[str, str] = {}
        self.disk_trouble: dict[str, str] = {}

    def create(self, label: str, node_id: str) -> Node:
        if label not in self.labels:
            raise ValueError(f"provider {self.name!r} has no label {label!r}")
        if node_id in self.nodes:
            raise ValueError(f"node id {node_id!r} is already in use")
        self.created.append(node_id)
        if self.fail_next > 0:
            self.fail_next -= 1
            raise FakeLaunchError(f"node {node_id} failed to start: the test said so")
        now = time.time()
        node = Node(id=node_id, label=label, provider=self.name, state=NodeState.READY,
                    host=f"fake-{node_id}.invalid", host_key=f"ssh-ed25519 FAKE{node_id}",
                    created_at=now, ready_at=now)
        self.nodes[node_id] = node
        return node

    def delete(self, node: Node) -> None:
        self.deleted.append(node.id)
        self.nodes.pop(node.id, None)
        self.leaked = {r for r in self.leaked if r.node_id != node.id}

    def out_of_memory(self, node: Node) -> str | None:
        return self.memory_trouble.get(node.id)

    def out_of_disk(self, node: Node) -> str | None:
        return self.disk_trouble.get(node.id)

    def list_resources(self) -> list[ResourceId]:
        live = {ResourceId("server", node.id, node.id) for node in self.nodes.values()}
        return sorted(live | self.leaked)
