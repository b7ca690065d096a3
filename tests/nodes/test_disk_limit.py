"""Disk limits of real local nodes: a node's writes live on a filesystem of the limit's size.

A node with a 64 MiB limit cannot write 128 MiB (``No space left on device`` inside the node,
the host's disk untouched beyond the limit); a build that fills the disk fails saying so;
deleting the node, or sweeping after a crash, leaves no mount, loop device or image behind;
without a limit no loop device is made. The limit comes from the ``node_disk_limit``
setting or a provider's ``disk`` in the config project's ``nodes/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import ResourceId
from keepgreen.executor.model import JobSpec, Result
from keepgreen.executor.runner import Executor, ExecutorSettings
from keepgreen.nodes import disk
from keepgreen.nodes.local import LocalProvider
from keepgreen.nodes.siteconfig import NodeDefaults, parse_nodes_config
from keepgreen.services.nodes.settings import node_defaults
from keepgreen.settings import Settings, SettingsError
from tests.executor.conftest import ONE_NODE, Lines, Repo, request_for
from tests.executor.conftest import _missing as build_problem
from tests.nodes.conftest import host_view, ok, ssh

pytestmark = pytest.mark.timeout(120)

MiB = 1 << 20
FILL = "dd if=/dev/zero of=/root/big bs=1M count=128"


@pytest.fixture(scope="module")
def limited(node_host: None, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[LocalProvider]:
    for tool in ("mkfs.ext4", "losetup"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (disk limits need e2fsprogs and util-linux)")
    if not Path("/dev/loop-control").exists():
        pytest.skip("this machine has no loop devices (/dev/loop-control)")
    local = LocalProvider(tmp_path_factory.mktemp("disk"), disk_bytes=64 * MiB)
    yield local
    ids = {r.node_id for r in local.list_resources() if r.node_id}
    local.sweep(known_ids=(), cleanup_ids=ids)


def allocated(path: Path) -> int:
    """Bytes a folder really takes on the host's disk (sparse files count what they hold)."""
    return sum(os.lstat(os.path.join(folder, name)).st_blocks * 512
               for folder, _, names in os.walk(path) for name in names)


def test_writing_past_the_limit_fails_inside_the_node_and_spares_the_host(
        limited: LocalProvider) -> None:
    node = limited.create("local", "full1")
    assert node.state_dir is not None
    try:
        # The node sees its limit as the size of its root.
        size_kib = int(ok(limited, node, "df -k --output=size / | tail -1").strip())
        assert 40 * 1024 < size_kib <= 64 * 1024
        assert limited.out_of_disk(node) is None

        filled = ssh(limited, node, FILL)

        assert filled.returncode != 0
        assert "No space left on device" in filled.stderr
        assert limited.out_of_disk(node) == "node full1 ran out of disk space (limit 64 MiB)"
        # What the node wrote is in its image, which holds at most the limit.
        assert allocated(node.state_dir) <= 64 * MiB + MiB
        # The node itself keeps working once space is freed.
        ok(limited, node, "rm /root/big")
        assert limited.out_of_disk(node) is None
        assert ok(limited, node, "echo alive") == "alive\n"
    finally:
        limited.delete(node)


def test_deleting_a_node_removes_its_mount_loop_device_and_image(
        limited: LocalProvider) -> None:
    node = limited.create("local", "gone1")
    assert node.state_dir is not None
    devices = [device for device, _ in disk.loops(node.state_dir)]
    assert len(devices) == 1 and (node.state_dir / disk.IMAGE).exists()
    # The disk is mounted inside the node only: the host's mount table does not show it.
    assert not disk.mounts(node.state_dir)

    limited.delete(node)

    assert disk.loops(limited.state_root) == []
    assert not Path(f"/sys/block/{devices[0].rsplit('/', 1)[1]}/loop/backing_file").exists()
    assert host_view(node).mounts == [] and not node.state_dir.exists()


def test_a_build_that_fills_its_nodes_disk_fails_with_that_reason(
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
            - name: Write more than the node's disk holds
              shell: {FILL}
        """)
    job = JobSpec(name="greedy", run=(run,), nodes=ONE_NODE, attempts=1)
    live = Lines()

    result = Executor(ExecutorSettings(builds_root=tmp_path / "builds"), limited).run_build(
        request_for(job, repo, change="6", patchset="1"), live)

    assert result.result is Result.FAILURE
    assert re.fullmatch(r"node \S+ ran out of disk space \(limit 64 MiB\)", result.reason), (
        result.reason, live.text())
    assert f"[executor] result: FAILURE: {result.reason}" in live.text()
    assert disk.loops(limited.state_root) == []


def test_the_sweep_removes_a_leftover_mount_and_loop_device(limited: LocalProvider) -> None:
    # What a crash can leave: a node's disk mounted on the host, its loop device attached,
    # and its state folder, with no node record anywhere.
    state_dir = limited.state_root / "ghost1"
    mount_point = state_dir / disk.MOUNT
    mount_point.mkdir(parents=True)
    disk.make_image(state_dir / disk.IMAGE, 16 * MiB, mount_point)
    subprocess.run(["mount", "-o", "loop", str(state_dir / disk.IMAGE), str(mount_point)],
                   check=True)
    try:
        ((device, _),) = disk.loops(state_dir)
        expected = {ResourceId("mount", str(mount_point), "ghost1"),
                    ResourceId("loop", device, "ghost1"),
                    ResourceId("state-dir", str(state_dir), "ghost1")}
        assert expected <= set(limited.list_resources())

        assert limited.sweep(known_ids=()) == []  # first sighting: only suspects
        assert disk.mounts(state_dir) == [mount_point]
        assert sorted(limited.sweep(known_ids=())) == sorted(expected)

        assert disk.mounts(limited.state_root) == []
        assert disk.loops(limited.state_root) == []
        assert not state_dir.exists()
    finally:
        if disk.mounts(state_dir):
            subprocess.run(["umount", "-l", str(mount_point)], check=False)
        shutil.rmtree(state_dir, ignore_errors=True)


def test_without_a_limit_no_loop_device_is_made(node_host: None, tmp_path: Path) -> None:
    plain = LocalProvider(tmp_path / "plain")
    node = plain.create("local", "free1")
    assert node.state_dir is not None
    try:
        assert disk.loops(plain.state_root) == []
        assert not (node.state_dir / disk.IMAGE).exists()
        assert (node.state_dir / "upper").is_dir()
        assert plain.out_of_disk(node) is None
    finally:
        plain.delete(node)


def test_the_limit_comes_from_the_setting_or_the_providers_disk_key() -> None:
    assert node_defaults(Settings()).disk_bytes == 0
    defaults = node_defaults(Settings(node_disk_limit="1GiB"))
    assert defaults.disk_bytes == 1 << 30
    for bad in ("lots", "4MiB"):
        with pytest.raises(SettingsError, match="node_disk_limit must be"):
            node_defaults(Settings(node_disk_limit=bad))

    config, problems = parse_nodes_config(
        {"nodes/providers.yaml": "providers:\n  - name: local\n    disk: 10GiB\n"},
        defaults=defaults)
    assert problems == []
    assert config.providers[0].disk_bytes == 10 << 30
    assert config.summary()[0].endswith("disk 10 GiB")
    # Left out, the provider takes the setting's value.
    config, _ = parse_nodes_config({"nodes/providers.yaml": "providers:\n  - name: local\n"},
                                   defaults=defaults)
    assert config.providers[0].disk_bytes == 1 << 30

    _, problems = parse_nodes_config(
        {"nodes/providers.yaml": "providers:\n  - name: local\n    disk: 1MiB\n"},
        defaults=NodeDefaults())
    assert [str(p) for p in problems] == [
        "nodes/providers.yaml:3: provider 'local': disk must be a size of at least 16MiB such "
        'as 10GiB (0 for no limit), not text "1MiB"']
