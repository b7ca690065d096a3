"""Memory and CPU limits of real local nodes, in whichever cgroup hierarchy this machine has.

A node with a 64 MiB limit whose job allocates 256 MiB is killed by the kernel and the build
fails saying the node ran out of memory; the limits are in the node's cgroups as written;
deleting the node, or sweeping after a crash, removes its cgroups. Skipped, with the reason,
only when neither cgroup v2 nor cgroup v1 is usable here.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, ResourceId
from keepgreen.executor.model import JobSpec, Result
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.nodes.cgroup import Cgroups, NodeLimits, choose
from keepgreen.nodes.cgroup_base import CPU_PERIOD
from keepgreen.nodes.local import LocalProvider
from tests.executor.conftest import ONE_NODE, Lines, Repo, request_for
from tests.executor.conftest import _missing as build_problem
from tests.nodes.conftest import ssh

pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20
LIMITS = NodeLimits(memory_bytes=64 * MiB, cpus=0.5)
# Touches every page, so the memory is really used (a bare bytearray may stay unbacked).
HOG = "python3 -c \"hog = b'x' * (256 << 20); print('allocated')\""


@pytest.fixture(scope="module")
def cgroups(node_host: None) -> Cgroups:
    found = choose()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="module")
def limited(cgroups: Cgroups, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[LocalProvider]:
    local = LocalProvider(tmp_path_factory.mktemp("limited"), limits=LIMITS)
    assert local.limits_problem is None and local.cgroups is not None
    yield local
    ids = {r.node_id for r in local.list_resources() if r.node_id}
    local.sweep(known_ids=(), cleanup_ids=ids)


def written(path: Path, name: str) -> str:
    return (path / name).read_text().strip()


def assert_limits_written(cgroups: Cgroups, provider: LocalProvider, node: Node) -> None:
    paths = cgroups.node(f"{provider.tag}-{node.id}").paths
    if cgroups.version == "v2":
        (path,) = paths
        assert written(path, "memory.max") == str(64 * MiB)
        if (path / "memory.swap.max").exists():
            assert written(path, "memory.swap.max") == "0"
        assert written(path, "cpu.max") == f"{CPU_PERIOD // 2} {CPU_PERIOD}"
    else:
        memory, cpu = paths
        assert written(memory, "memory.limit_in_bytes") == str(64 * MiB)
        if (memory / "memory.memsw.limit_in_bytes").exists():
            assert written(memory, "memory.memsw.limit_in_bytes") == str(64 * MiB)
        assert "oom_kill_disable 0" in written(memory, "memory.oom_control")
        assert written(cpu, "cpu.cfs_quota_us") == str(CPU_PERIOD // 2)
        assert written(cpu, "cpu.cfs_period_us") == str(CPU_PERIOD)
    for path in paths:
        assert str(node.pid) in written(path, "cgroup.procs").split()


def test_a_nodes_limits_are_written_and_cover_what_it_runs_over_ssh(
        cgroups: Cgroups, limited: LocalProvider) -> None:
    node = limited.create("local", "lim1")
    try:
        assert_limits_written(cgroups, limited, node)
        # A command run over ssh (a child of the node's sshd) sits in the node's cgroup.
        inside = ssh(limited, node, "cat /proc/self/cgroup")
        assert inside.returncode == 0, inside.stderr
        assert inside.stdout.count(f"{limited.tag}-lim1") == (2 if cgroups.version == "v1"
                                                             else 1)
        assert limited.out_of_memory(node) is None
    finally:
        limited.delete(node)

    for path in cgroups.node(f"{limited.tag}-lim1").paths:
        assert not path.exists()
    assert f"{limited.tag}-lim1" not in cgroups.names()


def test_a_process_over_the_memory_limit_is_killed_and_the_node_says_why(
        limited: LocalProvider) -> None:
    node = limited.create("local", "oom1")
    try:
        hog = ssh(limited, node, HOG)

        assert hog.returncode != 0 and "allocated" not in hog.stdout
        assert limited.out_of_memory(node) == "node oom1 ran out of memory (limit 64 MiB)"
        # The node itself survives its job's OOM kill: sshd still answers.
        assert ssh(limited, node, "echo alive").stdout == "alive\n"
    finally:
        limited.delete(node)


def test_a_build_whose_node_runs_out_of_memory_fails_with_that_reason(
        limited: LocalProvider, tmp_path: Path) -> None:
    problem = build_problem()
    if problem:
        pytest.skip(problem)
    repo = Repo(tmp_path / "project")
    repo.file("README", "the project under test\n")
    run = repo.playbook("run", f"""
        - hosts: all
          gather_facts: false
          tasks:
            - name: Use more memory than the node has
              shell: |
                {HOG}
        """)
    job = JobSpec(name="hungry", run=(run,), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = Executor(ExecutorSettings(builds_root=tmp_path / "builds"), limited).run_build(
        request_for(job, repo, change="5", patchset="1"), live)

    assert result.result is Result.FAILURE
    assert re.fullmatch(r"node \S+ ran out of memory \(limit 64 MiB\)", result.reason), (
        result.reason, live.text())
    assert f"[executor] result: FAILURE: {result.reason}" in live.text()
    assert not [r for r in limited.list_resources() if r.kind == "cgroup"]


def test_the_sweep_removes_node_cgroups_whose_nodes_are_gone(
        cgroups: Cgroups, limited: LocalProvider) -> None:
    # What a crashed server leaves: a node cgroup and nothing else of the node.
    stale = cgroups.node(f"{limited.tag}-ghost1")
    stale.create(LIMITS)
    other = cgroups.node("ffffff-notours")  # another provider's node: never touched
    other.create(NodeLimits())
    try:
        resource = ResourceId("cgroup", f"{limited.tag}-ghost1", "ghost1")
        assert resource in limited.list_resources()

        assert limited.sweep(known_ids=()) == []  # first sighting: only a suspect
        assert all(path.exists() for path in stale.paths)
        assert limited.sweep(known_ids=()) == [resource]

        assert not any(path.exists() for path in stale.paths)
        assert all(path.exists() for path in other.paths)
    finally:
        stale.remove()
        other.remove()


def test_without_limits_no_cgroup_is_made(node_host: None, tmp_path: Path) -> None:
    plain = LocalProvider(tmp_path / "plain")
    node = plain.create("local", "free1")
    try:
        if plain.cgroups is not None:
            assert not any(path.exists()
                           for path in plain.cgroups.node(f"{plain.tag}-free1").paths)
        out = subprocess.run(["cat", f"/proc/{node.pid}/cgroup"], capture_output=True,
                             text=True, check=True).stdout
        assert "keepgreen" not in out
    finally:
        plain.delete(node)
