"""Nodes leave nothing behind: not on delete, not when their supervisor or launcher dies.

After a crash, what is left (network namespaces, state folders) is found by the leak sweep,
which deletes a resource of an unknown node only on its second sighting in a row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keepgreen.domain.node import Node
from keepgreen.nodes import process
from keepgreen.nodes.local import LocalProvider, NodeLaunchError
from tests.nodes.conftest import NOTHING_LEFT, NodeFactory, host_view, ok

pytestmark = pytest.mark.timeout(60)

def _wait_dead(pid: process.ProcessRef, seconds: float = 5.0) -> bool:
    return process.wait_gone([pid], seconds)


def _pid1(node: Node) -> process.ProcessRef:
    assert node.pid is not None
    ref = process.ref(node.pid)
    assert ref is not None, f"node {node.id} has no running PID 1"
    return ref


def _node_ids(provider: LocalProvider) -> set[str | None]:
    return {r.node_id for r in provider.list_resources()}


def test_delete_leaves_no_process_netns_mount_or_folder(provider: LocalProvider) -> None:
    node = provider.create("local", "del1")
    pid1 = _pid1(node)
    ok(provider, node, "nohup sleep 600 >/dev/null 2>&1 &")  # a job's straggler
    alive = host_view(node)
    assert alive.netns == list(node.netns) and alive.state_dir
    # The host sees the two namespace handles and never the node's overlay or /proc.
    assert [line.split(" - ")[1].split()[0] for line in alive.mounts] == ["nsfs", "nsfs"]
    assert "del1" in _node_ids(provider)

    provider.delete(node)

    assert not process.alive(pid1)
    assert host_view(node) == NOTHING_LEFT
    assert "del1" not in _node_ids(provider)
    provider.delete(node)  # idempotent: a second delete finds nothing to do


def test_killing_the_supervisor_takes_the_node_down(provider: LocalProvider,
                                                    make_node: NodeFactory) -> None:
    node = make_node("kc1")
    pid1 = _pid1(node)
    assert node.state_dir is not None
    supervisor = process.ProcessRef.parse(
        json.loads((node.state_dir / "node.json").read_text())["supervisor"])
    assert process.children(supervisor.pid) == [pid1.pid]

    os.kill(supervisor.pid, signal.SIGKILL)

    assert _wait_dead(pid1), "unshare --kill-child should have killed the node's PID 1"
    provider.delete(node)
    assert host_view(node) == NOTHING_LEFT


LAUNCHER = """
import json, sys, time
from pathlib import Path
from keepgreen.nodes.local import LocalProvider, NodeLaunchError
node = LocalProvider(Path(sys.argv[1])).create("local", "crash1")
print(json.dumps({"pid": node.pid, "netns": node.netns}), flush=True)
time.sleep(600)
"""


def test_a_killed_launcher_takes_its_nodes_and_the_sweep_cleans_up(
        node_host: None, tmp_path: Path) -> None:
    state_root = tmp_path / "crashing"
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(state_root)],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert launcher.stdout is not None
        started = json.loads(launcher.stdout.readline())
        pid1 = process.ref(started["pid"])
        assert pid1 is not None
    finally:
        launcher.kill()  # SIGKILL: no cleanup code of the launcher runs
        launcher.wait()

    assert _wait_dead(pid1), "the node should die with the launcher that made it"
    after_restart = LocalProvider(state_root)
    leftovers = after_restart.list_resources()
    assert {r.kind for r in leftovers} == {"netns", "state-dir"}
    assert after_restart.sweep(known_ids=()) == []  # first sighting: only suspected
    assert after_restart.list_resources() == leftovers
    deleted = after_restart.sweep(known_ids=())
    assert sorted(deleted) == leftovers
    assert after_restart.list_resources() == []
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(name in names for name in started["netns"])


def test_sweep_removes_orphans_on_the_second_pass_and_spares_known_nodes(
        provider: LocalProvider, make_node: NodeFactory) -> None:
    kept = make_node("known1")
    orphan_netns = f"kgn-{provider.tag}-orphan1"
    subprocess.run(["ip", "netns", "add", orphan_netns], check=True)
    (provider.state_root / "orphan1").mkdir()
    try:
        orphans = {r for r in provider.list_resources() if r.node_id == "orphan1"}
        assert {r.kind for r in orphans} == {"netns", "state-dir"}

        assert provider.sweep(known_ids={"known1"}) == []
        assert {r for r in provider.list_resources() if r.node_id == "orphan1"} == orphans
        assert set(provider.sweep(known_ids={"known1"})) == orphans
        assert "orphan1" not in _node_ids(provider)
        assert not (provider.state_root / "orphan1").exists()
        assert ok(provider, kept, "hostname").strip() == "node-known1"
    finally:
        subprocess.run(["ip", "netns", "del", orphan_netns], capture_output=True)


def test_a_node_in_a_cleanup_state_is_swept_at_once(provider: LocalProvider) -> None:
    node = provider.create("local", "used1")
    pid1 = _pid1(node)

    deleted = provider.sweep(known_ids={"used1"}, cleanup_ids={"used1"})

    assert {r.kind for r in deleted} >= {"netns", "state-dir", "process"}
    assert _wait_dead(pid1)
    assert host_view(node) == NOTHING_LEFT


def test_a_failed_boot_says_why_and_cleans_up(node_host: None, tmp_path: Path) -> None:
    image = tmp_path / "no-sshd"
    (image / "usr").mkdir(parents=True)
    with pytest.raises(Exception, match="no /usr/sbin/sshd"):
        LocalProvider(tmp_path / "state", image).create("local", "bad1")
    local = LocalProvider(tmp_path / "state")
    with pytest.raises(ValueError, match="no label 'gpu'"):
        local.create("gpu", "bad2")
    with pytest.raises(ValueError, match="node id"):
        local.create("local", "Bad/Id")
    assert local.list_resources() == []


def test_a_node_that_cannot_boot_reports_its_console(node_host: None, tmp_path: Path) -> None:
    broken = tmp_path / "broken-image"
    for folder in ("usr/sbin", "etc", "root", "proc", "sys", "tmp", "run", "dev"):
        (broken / folder).mkdir(parents=True)
    (broken / "usr/sbin/sshd").write_text("not a program")  # present, but cannot run
    local = LocalProvider(tmp_path / "state", broken)

    with pytest.raises(NodeLaunchError) as failure:
        local.create("local", "broken1")

    message = str(failure.value)
    assert message.startswith("node broken1 failed to start: the node exited")
    assert "console:" in message and "sshd" in message
    assert local.list_resources() == []


def test_nodes_are_recorded_for_a_restarted_launcher(provider: LocalProvider,
                                                     make_node: NodeFactory) -> None:
    node = make_node("rec1")
    again = LocalProvider(provider.state_root)
    recorded = {n.id: n for n in again.nodes()}
    assert recorded["rec1"] == node
    started = time.monotonic()
    assert ok(again, recorded["rec1"], "hostname").strip() == "node-rec1"
    assert time.monotonic() - started < 5
