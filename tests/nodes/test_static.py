"""Static hosts, tested against real sshd nodes made by the local provider.

The local nodes stand in for a site's existing machines: the static provider only knows their
address, port, user, host key and the namespace its ssh must run in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, NodeState, Provider
from keepgreen.nodes.local import LocalProvider
from keepgreen.nodes.pool import CHECK_PRIORITY, LabelConfig
from keepgreen.nodes.static import StaticHost, StaticHostError, StaticProvider
from keepgreen.services.nodes.launcher import Launcher
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState
from tests.nodes.conftest import NodeFactory

pytestmark = pytest.mark.timeout(120)


def host_of(provider: LocalProvider, node: Node, **changes: object) -> StaticHost:
    values: dict[str, object] = {
        "host": node.host, "labels": ("static",), "username": node.username,
        "host_key": node.host_key, "connection_port": node.port,
        "max_parallel_jobs": 1, "private_key": provider.client_key, "netns": node.netns[1]}
    values.update(changes)
    return StaticHost(**values)  # type: ignore[arg-type]


def on(static: StaticProvider, node: Node, command: str) -> str:
    result = subprocess.run([*static.ssh_command(node), command], capture_output=True,
                            text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_live_host_is_handed_out_and_reached_with_its_key_checked(
        provider: LocalProvider, make_node: NodeFactory, tmp_path: Path) -> None:
    machine = make_node("st1")
    static = StaticProvider([host_of(provider, machine)], tmp_path)

    node = static.create("static", "job-a")

    assert isinstance(static, Provider)
    assert node.state is NodeState.READY and node.host == machine.host
    assert on(static, node, "hostname") == "node-st1"
    assert static.list_resources()[0].node_id == "job-a"


def test_a_dead_host_is_skipped_with_a_reason_and_does_not_block_others(
        provider: LocalProvider, make_node: NodeFactory, tmp_path: Path) -> None:
    first, second = make_node("st2"), make_node("st3")
    no_sshd = host_of(provider, first, connection_port=2222)
    impostor = host_of(provider, first, host_key=second.host_key)  # the wrong key
    static = StaticProvider([no_sshd, impostor, host_of(provider, second)], tmp_path)

    node = static.create("static", "job-b")

    assert node.host == second.host and on(static, node, "hostname") == "node-st3"
    assert static.problems[no_sshd.name].startswith("cannot connect to port 2222")
    assert "host key verification failed" in static.problems[impostor.name].lower()


def test_every_host_dead_or_busy_is_said_so(provider: LocalProvider,
                                            make_node: NodeFactory, tmp_path: Path) -> None:
    machine = make_node("st4")
    dead = StaticProvider([host_of(provider, machine, connection_port=2222)], tmp_path)
    with pytest.raises(StaticHostError, match=r"no static host with label static is "
                                              r"reachable: .*:2222: cannot connect"):
        dead.create("static", "job-c")

    static = StaticProvider([host_of(provider, machine)], tmp_path)
    static.create("static", "job-d")
    with pytest.raises(StaticHostError, match="busy .max-parallel-jobs reached"):
        static.create("static", "job-e")


def test_a_released_host_is_reused_not_destroyed(provider: LocalProvider,
                                                 make_node: NodeFactory, tmp_path: Path,
                                                 database_url: str) -> None:
    machine = make_node("st5")
    static = StaticProvider([host_of(provider, machine, max_parallel_jobs=1)], tmp_path)
    db = Database(database_url)
    db.migrate()
    launcher = Launcher(db, {"static": static}, [LabelConfig("static", ("static",))])
    try:
        first = launcher.request(["static"], CHECK_PRIORITY, "check/job1")
        second = launcher.request(["static"], CHECK_PRIORITY, "check/job2")
        launcher.step()
        assert launcher.get_request(first).state is RequestState.FULFILLED
        assert "max-servers 1" in launcher.get_request(second).reason
        node = launcher.accept(first)[0]
        on(static, node, "touch /tmp/left-by-job1")

        launcher.release([node.id])
        launcher.step()

        assert launcher.get_request(second).state is RequestState.FULFILLED
        reused = launcher.accept(second)[0]
        assert reused.host == machine.host and reused.id != node.id
        # The same machine, not a fresh one: what the first job left is still there.
        assert on(static, reused, "ls /tmp/left-by-job1") == "/tmp/left-by-job1"
    finally:
        db.dispose()
