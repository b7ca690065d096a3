"""Which cgroup hierarchy node limits use, and why none when neither works.

Each test lays out a temporary folder like one kind of machine (cgroup v2, cgroup v1 with a
process in a nested memory cgroup, the hybrid layout with an empty ``unified`` v2, nothing
usable) and asks ``choose``/``unavailable`` what they make of it. No root needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keepgreen.nodes import cgroup_v1
from keepgreen.nodes.cgroup import choose
from keepgreen.nodes.cgroup_v1 import CgroupV1, NodeCgroupV1
from keepgreen.nodes.cgroup_v2 import CgroupV2, NodeCgroupV2, unavailable

SELF_V1 = ("9:name=systemd:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n")


def touch(folder: Path, *names: str, text: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_text(text)


def v2_machine(root: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    touch(root, "cgroup.subtree_control", "cgroup.procs")
    (root / "cgroup.controllers").write_text(controllers + "\n")
    return root


def v1_machine(root: Path, self_text: str = SELF_V1, *, cpu: bool = True,
               memory: bool = True) -> Path:
    if memory:
        for level in (root / "memory", root / "memory/process_api/abc"):
            touch(level, "memory.limit_in_bytes", "memory.oom_control", "cgroup.procs")
    if cpu:
        touch(root / "cpu", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cgroup.procs")
    # The hybrid layout: an empty cgroup v2 beside the v1 hierarchies.
    touch(root / "unified", "cgroup.procs", "cgroup.controllers")
    self_file = root / "self-cgroup"
    self_file.write_text(self_text)
    return self_file


def test_a_cgroup_v2_machine_with_memory_and_cpu_uses_v2(tmp_path: Path) -> None:
    root = v2_machine(tmp_path)

    assert unavailable(root) is None
    chosen = choose(root, tmp_path / "no-such-file")
    assert isinstance(chosen, CgroupV2) and chosen.version == "v2"
    assert chosen.node("abc123-n1").paths == (root / "keepgreen" / "abc123-n1",)


def test_cgroup_v2_without_the_memory_controller_says_so(tmp_path: Path) -> None:
    root = v2_machine(tmp_path, controllers="cpuset cpu io pids")

    assert unavailable(root) == f"the cgroup controllers memory are not delegated to {root}"


def test_a_cgroup_v1_machine_nests_node_cgroups_in_this_processs_memory_cgroup(
        tmp_path: Path) -> None:
    self_file = v1_machine(tmp_path)

    assert unavailable(tmp_path) == f"{tmp_path} is not a cgroup v2 hierarchy"
    assert cgroup_v1.unavailable(tmp_path, self_file) is None
    chosen = choose(tmp_path, self_file)
    assert isinstance(chosen, CgroupV1) and chosen.version == "v1"
    node = chosen.node("abc123-n1")
    assert node.paths == (tmp_path / "memory/process_api/abc/keepgreen-abc123-n1",
                          tmp_path / "cpu/keepgreen-abc123-n1")
    (tmp_path / "memory/process_api/abc/keepgreen-abc123-n1").mkdir()
    (tmp_path / "cpu/keepgreen-other-n2").mkdir()
    (tmp_path / "cpu/not-ours").mkdir()
    assert chosen.names() == ["abc123-n1", "other-n2"]


def test_cgroup_v1_with_combined_cpu_and_cpuacct_is_found(tmp_path: Path) -> None:
    self_file = v1_machine(tmp_path, "4:memory:/\n2:cpu,cpuacct:/user.slice\n")
    touch(tmp_path / "cpu/user.slice", "cpu.cfs_quota_us")

    chosen = choose(tmp_path, self_file)

    assert isinstance(chosen, CgroupV1)
    assert chosen.memory == tmp_path / "memory" and chosen.cpu == tmp_path / "cpu/user.slice"


def test_cgroup_v1_without_a_cpu_hierarchy_says_what_is_missing(tmp_path: Path) -> None:
    self_file = v1_machine(tmp_path, cpu=False)

    assert cgroup_v1.unavailable(tmp_path, self_file) == (
        f"{tmp_path / 'cpu'} is not a cgroup v1 cpu hierarchy (no cpu.cfs_quota_us)")


def test_with_neither_hierarchy_the_reason_names_both(tmp_path: Path) -> None:
    self_file = v1_machine(tmp_path, memory=False)

    reason = choose(tmp_path, self_file)

    assert reason == (
        f"no usable cgroup hierarchy: cgroup v2: {tmp_path} is not a cgroup v2 hierarchy; "
        f"cgroup v1: {tmp_path / 'memory'} is not a cgroup v1 memory hierarchy "
        "(no memory.limit_in_bytes)")


@pytest.mark.parametrize(("oom_control", "failcnt", "kills"), [
    ("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", "7\n", 2),
    ("oom_kill_disable 0\nunder_oom 0\n", "3\n", 3),  # kernels before 4.13
    ("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "5\n", 0),
])
def test_v1_oom_kills_come_from_oom_control_else_failcnt(
        tmp_path: Path, oom_control: str, failcnt: str, kills: int) -> None:
    memory = tmp_path / "memory"
    touch(memory)
    (memory / "memory.oom_control").write_text(oom_control)
    (memory / "memory.failcnt").write_text(failcnt)

    assert NodeCgroupV1(memory, tmp_path / "cpu").oom_kills() == kills


def test_v2_oom_kills_come_from_memory_events(tmp_path: Path) -> None:
    node = NodeCgroupV2("abc123-n1", tmp_path)
    touch(node.path)
    assert node.oom_kills() == 0
    (node.path / "memory.events").write_text("low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n")
    assert node.oom_kills() == 1
    node.path.joinpath("memory.events").unlink()
    node.remove()
    assert not node.path.exists()
