"""How a node is reached survives the store, on SQLite and PostgreSQL: ssh nodes as before,
Kubernetes pods and namespaces with their connection type and attributes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config

from keepgreen.domain.node import Node, NodeState
from keepgreen.store import nodes as store
from keepgreen.store.db import MIGRATIONS, Database

NOW = datetime(2026, 12, 7, 12, 0)
CREATED = NOW.replace(tzinfo=UTC).timestamp()  # add_node records the launch decision


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


def launched(db: Database, node: Node) -> Node:
    with db.write() as conn:
        store.add_node(conn, node.id, node.label, node.provider, None, NOW)
        store.save_launched(conn, node, NOW)
    with db.read() as conn:
        found = store.get_node(conn, node.id)
    assert found is not None
    return found.node


def test_a_pod_node_keeps_its_connection_type_and_attributes(db: Database) -> None:
    pod = Node(id="k1", label="pod-debian", provider="cluster", state=NodeState.READY,
               host="", username="", connection_type="kubectl", created_at=CREATED, ready_at=2.0,
               attributes=(("context", "ci-admin"), ("namespace", "keepgreen-k1"),
                           ("pod", "node"), ("token", "t0k3n")))
    assert launched(db, pod) == pod


def test_a_namespace_node_round_trips(db: Database) -> None:
    space = Node(id="k2", label="k8s-namespace", provider="cluster", state=NodeState.READY,
                 host="", connection_type="namespace", created_at=CREATED, ready_at=2.0,
                 attributes=(("api_server", "https://k8s.example:6443"),
                             ("namespace", "keepgreen-k2")))
    assert launched(db, space) == space


def test_an_ssh_node_is_unchanged(db: Database) -> None:
    ssh = Node(id="s1", label="local", provider="local", state=NodeState.READY,
               host="198.18.0.2", host_key="ssh-ed25519 AAAA", created_at=CREATED, ready_at=2.0)
    stored = launched(db, ssh)
    assert stored == ssh
    assert stored.connection_type == "ssh" and stored.attributes == ()


def test_nodes_stored_before_the_migration_read_as_ssh_nodes(database_url: str) -> None:
    database = Database(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0025_build_stages")
            connection.exec_driver_sql(
                "INSERT INTO nodes (id, label, provider, state, data, reason, created, "
                "state_changed) VALUES ('old1', 'local', 'local', 'ready', "
                "'{\"host\": \"198.18.0.6\"}', '', '2026-12-01 00:00:00', "
                "'2026-12-01 00:00:00')")
        database.migrate()
        with database.read() as conn:
            found = store.get_node(conn, "old1")
        assert found is not None
        assert found.node.host == "198.18.0.6"
        assert found.node.connection_type == "ssh" and found.node.attributes == ()
    finally:
        database.dispose()

