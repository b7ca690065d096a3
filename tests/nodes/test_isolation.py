"""A job on a local node cannot reach the host, other nodes or the site: real nodes, real
escapes, tried over the node's ssh the way the executor reaches it, as root and via sudo.

Each escape here is a route that works against a node whose root is the host's root (mount
the host disk, write host-wide sysctls, kill a host process through a cgroup): the tests
assert that every one is refused and that the host saw no effect.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import Node
from keepgreen.nodes import process, record
from keepgreen.nodes.local import LocalProvider
from tests.nodes.conftest import NodeFactory, ok, ssh

AS = pytest.mark.parametrize("become", ["", "sudo -n "], ids=["root", "sudo"])
CGROUP2 = Path("/sys/fs/cgroup/unified")
if not CGROUP2.joinpath("cgroup.procs").exists():
    CGROUP2 = Path("/sys/fs/cgroup")  # a pure cgroup v2 machine


def _host_disk() -> tuple[int, int]:
    device = os.stat("/").st_dev
    return os.major(device), os.minor(device)


def _read_through_host_disk(path: Path) -> str:
    """A shell line that makes a node for the host's root disk and reads ``path`` (a path on
    the host's root filesystem) straight from the disk with debugfs, the way a job with
    host root would. (Mounting it a second time is refused even to host root here: the
    kernel does not open mounted block devices for writing.)"""
    major, minor = _host_disk()
    os.sync()  # what the host wrote reaches the disk, so the raw read could see it
    return (f"mknod /root/hostdisk-$$ b {major} {minor} && "
            f'debugfs -R "cat {path}" /root/hostdisk-$$')


def _refused(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0, f"the node was allowed: {result.stdout!r}"


def _can_become(provider: LocalProvider, node: Node, become: str) -> None:
    """A refusal through sudo counts only if sudo itself works on the node."""
    if become:
        assert ok(provider, node, f"{become}id -u") == "0\n"


@pytest.fixture(scope="module")
def node(provider: LocalProvider) -> Iterator[Node]:
    made = provider.create("local", "iso1")
    yield made
    provider.delete(made)


@AS
def test_host_wide_sysctls_cannot_be_written(provider: LocalProvider, node: Node,
                                             become: str) -> None:
    _can_become(provider, node, become)
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    # Writes back the value it read, so even a node that may write leaves the host as it was.
    result = ssh(provider, node, f"{become}sh -c 'cat /proc/sys/kernel/core_pattern > /tmp/cp "
                 "&& cat /tmp/cp > /proc/sys/kernel/core_pattern'")
    _refused(result)
    assert "Permission denied" in result.stderr or "Read-only" in result.stderr
    result = ssh(provider, node, f"{become}sh -c 'echo 1 > /proc/sys/vm/drop_caches'")
    _refused(result)
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before


@AS
def test_the_host_disk_cannot_be_made_or_read(provider: LocalProvider, node: Node,
                                              become: str) -> None:
    _can_become(provider, node, become)
    major, minor = _host_disk()
    result = ssh(provider, node, f"{become}sh -c 'mknod /root/disk b {major} {minor} && "
                 "head -c 4096 /root/disk | wc -c'")
    _refused(result)
    assert "Operation not permitted" in result.stderr
    assert ok(provider, node, "ls /dev").split() == [
        "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
        "tty", "urandom", "zero"]


@AS
@pytest.mark.parametrize("command", [
    "mount -t proc proc /mnt", "mount -t sysfs sysfs /mnt", "mount -t tmpfs tmpfs /mnt",
    "mount -o remount,rw /sys", "mount -o remount,rw /proc/sys",
    "mount --bind / /mnt", "umount -l /proc/sys",
])
def test_nothing_can_be_mounted(provider: LocalProvider, node: Node, become: str,
                                command: str) -> None:
    _can_become(provider, node, become)
    _refused(ssh(provider, node, f"{become}{command}"))
    mounts = ok(provider, node, "grep -E ' /(mnt|sys|proc/sys) ' /proc/self/mounts")
    assert " /mnt " not in mounts
    assert {line.split()[1]: line.split()[3].split(",")[0] for line in mounts.splitlines()} \
        == {"/sys": "ro", "/proc/sys": "ro"}


@pytest.fixture
def host_sleep() -> Iterator[subprocess.Popen[bytes]]:
    """A host process in a cgroup v2 group of its own (which a node might try to kill)."""
    group = CGROUP2 / f"kg-test-{uuid.uuid4().hex[:8]}"
    group.mkdir()
    sleeper = subprocess.Popen(["sleep", "600"])
    (group / "cgroup.procs").write_text(str(sleeper.pid))
    yield sleeper
    sleeper.kill()
    sleeper.wait()
    for _ in range(100):
        try:
            group.rmdir()
            break
        except OSError:
            time.sleep(0.01)


@AS
def test_host_processes_cannot_be_killed(provider: LocalProvider, node: Node, become: str,
                                         host_sleep: subprocess.Popen[bytes]) -> None:
    _can_become(provider, node, become)
    group = Path(Path(f"/proc/{host_sleep.pid}/cgroup").read_text().split("0::", 1)[1]
                 .splitlines()[0])
    result = ssh(provider, node, f"{become}sh -c 'kill -9 {host_sleep.pid}; "
                 "mkdir -p /root/cg && mount -t cgroup2 none /root/cg && "
                 f"echo 1 > /root/cg{group}/cgroup.kill'")
    _refused(result)
    time.sleep(0.2)
    assert host_sleep.poll() is None, "the node killed a host process"


@AS
def test_another_nodes_files_cannot_be_read(provider: LocalProvider, node: Node,
                                            make_node: NodeFactory, become: str) -> None:
    _can_become(provider, node, become)
    other = make_node("iso2")
    ok(provider, other, "echo secret-of-iso2 > /root/workspace-file")
    assert other.state_dir is not None
    on_host = other.state_dir / "upper" / "rootfs" / "root" / "workspace-file"
    assert on_host.read_text() == "secret-of-iso2\n"
    for command in (f"cat {on_host}", _read_through_host_disk(on_host)):
        result = ssh(provider, node, f"{become}sh -c '{command}'")
        _refused(result)
        assert "secret-of-iso2" not in result.stdout


@AS
def test_the_site_state_and_keys_are_not_visible(provider: LocalProvider, node: Node,
                                                 become: str) -> None:
    _can_become(provider, node, become)
    key = provider.client_key
    assert key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    for command in (f"ls {provider.state_root}", f"cat {key}", _read_through_host_disk(key)):
        result = ssh(provider, node, f"{become}sh -c '{command}'")
        _refused(result)
        assert "PRIVATE KEY" not in result.stdout


_CALL = ("python3 -c 'import ctypes, sys; libc = ctypes.CDLL(None, use_errno=True); "
         "r = libc.syscall({number}, {args}); print(r, ctypes.get_errno())'")


@AS
@pytest.mark.parametrize(("name", "number", "args"), [
    ("keyctl", 250, "0, -3, 1"),  # KEYCTL_GET_KEYRING_ID of the session keyring, creating it
    ("add_key", 248, 'b"user", b"kg", b"x", 1, -3'),
    ("bpf", 321, "0, 0, 0"),
    ("unshare(CLONE_NEWUSER)", 272, "0x10000000"),
    ("userfaultfd", 323, "0"),
    ("open_by_handle_at", 304, "-100, 0, 0"),
    ("io_uring_setup", 425, "1, 0"),  # without the filter: EFAULT for the missing params
])
def test_escape_syscalls_are_refused(provider: LocalProvider, node: Node, become: str,
                                     name: str, number: int, args: str) -> None:
    _can_become(provider, node, become)
    out = ok(provider, node, become + _CALL.format(number=number, args=args)).split()
    assert out == ["-1", "1"], f"{name} was not refused with EPERM: {out}"


@AS
def test_user_namespaces_cannot_be_made_with_unshare(provider: LocalProvider, node: Node,
                                                     become: str) -> None:
    _can_become(provider, node, become)
    result = ssh(provider, node, f"{become}unshare -U -r id")
    _refused(result)
    assert "Operation not permitted" in result.stderr


def test_node_root_is_not_host_root(provider: LocalProvider, node: Node) -> None:
    # Something running on the node, root and via sudo, while the host looks at it.
    running = subprocess.Popen([*provider.ssh_command(node), "sleep 30 & sudo -n sleep 30"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        assert node.pid is not None and node.state_dir is not None
        ids = record.load(node.state_dir).ids  # type: ignore[union-attr]
        assert ids is not None and ids.base >= 100000
        deadline = time.monotonic() + 10
        while True:
            tree = _descendants(node.pid)
            if sum(1 for pid in tree if "sleep" in process.cmdline(pid)) >= 2:
                break
            assert time.monotonic() < deadline, "the sleeps never started on the node"
            time.sleep(0.05)
        uids = {pid: _host_uids(pid) for pid in [node.pid, *tree]}
        assert all(found and all(uid in ids for uid in found) for found in uids.values()), uids
        assert ok(provider, node, "id -u; sudo -n id -u").split() == ["0", "0"]
    finally:
        running.kill()
        running.wait()


def _descendants(pid: int) -> list[int]:
    found = []
    for child in process.children(pid):
        found += [child, *_descendants(child)]
    return found


def _host_uids(pid: int) -> list[int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return [0] * 0
    line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return [int(value) for value in line.split()[1:]]
