"""Fixtures for node tests: a local provider in a temporary folder, and nodes that are always
deleted, even when a test fails half-way.

Real nodes need root (namespaces, overlay mounts, veth pairs) and the host's sshd binary for
the host-derived image; CI runs as root with ``openssh-server`` installed. Elsewhere these
tests are skipped with the reason, never silently passed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from keepgreen.domain.node import Node
from keepgreen.nodes.local import LocalProvider


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "local nodes need root (namespaces, overlay mounts, veth pairs); CI runs as root"
    for tool in ("unshare", "nsenter", "setpriv", "ip", "ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.path.exists("/usr/sbin/sshd"):
        return "the host-derived node image needs sshd: run `apt-get install -y openssh-server`"
    return None


@pytest.fixture(scope="session")
def node_host() -> None:
    """Skip (locally) or fail (under CI) when this machine cannot make local nodes."""
    problem = _missing()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"local nodes are needed under CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def provider(node_host: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProvider]:
    local = LocalProvider(tmp_path_factory.mktemp("nodes"))
    yield local
    # Whatever a failed test left behind goes now, in one pass.
    ids = {r.node_id for r in local.list_resources() if r.node_id}
    local.sweep(known_ids=(), cleanup_ids=ids)


NodeFactory = Callable[[str], Node]


@pytest.fixture
def make_node(provider: LocalProvider) -> Iterator[NodeFactory]:
    made: list[Node] = []

    def make(node_id: str) -> Node:
        node = provider.create("local", node_id)
        made.append(node)
        return node

    yield make
    for node in made:
        provider.delete(node)


def ssh(provider: LocalProvider, node: Node, command: str,
        argv: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command`` on the node over ssh, the way an executor reaches it."""
    return subprocess.run([*(argv or provider.ssh_command(node)), command],
                          capture_output=True, text=True, timeout=30, check=False,
                          stdin=subprocess.DEVNULL)


def ok(provider: LocalProvider, node: Node, command: str) -> str:
    result = ssh(provider, node, command)
    assert result.returncode == 0, f"{command!r} failed on {node.id}: {result.stderr}"
    return result.stdout


@dataclass(frozen=True)
class HostView:
    """What the host shows of a node: its netns names, mounts mentioning it, its folder."""

    netns: list[str]
    mounts: list[str]
    state_dir: bool


NOTHING_LEFT = HostView(netns=[], mounts=[], state_dir=False)


def host_view(node: Node) -> HostView:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             check=True).stdout.split()
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    assert node.state_dir is not None
    return HostView(
        netns=[name for name in node.netns if name in listing],
        mounts=[line for line in mounts
                if str(node.state_dir) in line or any(n in line for n in node.netns)],
        state_dir=node.state_dir.exists())
