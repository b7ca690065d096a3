"""A local node is an isolated machine of its own, reached by ssh with a pinned host key.

Each test builds real nodes (namespaces, overlay root, sshd as PID 1) and looks at them from
inside, over ssh, the way a job would.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from keepgreen.domain.node import NodeState, Provider
from keepgreen.nodes.local import LocalProvider
from tests.nodes.conftest import NodeFactory, ok, ssh

pytestmark = pytest.mark.timeout(60)

PROCESS_LIST = r"for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline 2>/dev/null; echo; done"


def test_a_node_is_its_own_machine(provider: LocalProvider, make_node: NodeFactory) -> None:
    node = make_node("iso1")

    assert isinstance(provider, Provider)
    assert node.state is NodeState.READY
    assert node.host.startswith("198.18.") and node.port == 22 and node.username == "root"
    assert node.boot_seconds is not None and node.boot_seconds < 10
    assert ok(provider, node, "hostname").strip() == "node-iso1"
    assert ok(provider, node, "cat /proc/1/comm").strip() == "sshd"
    interfaces = ok(provider, node, "ip -br addr").splitlines()
    assert [line.split()[0].split("@")[0] for line in interfaces] == ["lo", "eth0"]
    assert f"{node.host}/30" in interfaces[1]
    # Only the link to its executor: no default route, nowhere else to go.
    assert "default" not in ok(provider, node, "ip route; ip -6 route")
    # The tools a job needs come with the image.
    assert ok(provider, node, "/usr/bin/python3 -c 'print(6 * 7)'").strip() == "42"
    assert ok(provider, node, "git --version").startswith("git version")


def test_the_hosts_files_outside_the_image_are_not_visible(
        provider: LocalProvider, make_node: NodeFactory, tmp_path: Path) -> None:
    marker = tmp_path / "host-only-marker"
    marker.write_text("the host's")
    node = make_node("iso2")

    listing = ssh(provider, node, "ls -A /work; ls -A /root; ls -A /home; "
                  f"cat {marker}; cat /etc/shadow; ls /etc/ssh")
    out = listing.stdout.split()
    assert "No such file or directory" in listing.stderr  # /work and the marker
    assert "main" not in out and "shared" not in out
    assert [name for name in ok(provider, node, "ls -A /root").split()] == [".ssh"]
    assert "the host's" not in listing.stdout
    # Host secrets are hidden: no private host keys, no password hashes.
    assert "ssh_host_ed25519_key" not in out
    assert all(line.split(":")[1] == "*"
               for line in ok(provider, node, "cat /etc/shadow").splitlines())
    assert ok(provider, node, "stat -c %a /root").strip() == "700"


def test_writes_stay_in_the_nodes_own_layer(provider: LocalProvider,
                                            make_node: NodeFactory) -> None:
    node = make_node("cow1")
    assert node.state_dir is not None

    ok(provider, node, "echo written-in-node > /usr/lib/kg-test && cat /usr/lib/kg-test")

    assert not Path("/usr/lib/kg-test").exists()
    uppers = list((node.state_dir / "upper").rglob("kg-test"))
    assert len(uppers) == 1 and uppers[0].read_text() == "written-in-node\n"
    # The same file written locally (nsenter, no ssh) lands in the same layer.
    assert provider.run(node, "cat /usr/lib/kg-test").stdout == "written-in-node\n"
    assert provider.run(node, ["hostname"]).stdout.strip() == "node-cow1"


def test_host_keys_are_checked_strictly(provider: LocalProvider, make_node: NodeFactory,
                                        tmp_path: Path) -> None:
    node = make_node("key1")
    direct = provider.ssh_command(node, multiplex=False)  # no master to lean on
    assert node.host_key.startswith("ssh-ed25519 ")
    assert ssh(provider, node, "true", direct).returncode == 0

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "impostor")], check=True)
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{node.host} {(tmp_path / 'impostor.pub').read_text()}")
    swapped = [f"UserKnownHostsFile={wrong}" if arg.startswith("UserKnownHostsFile=") else arg
               for arg in direct]

    result = ssh(provider, node, "true", swapped)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr


def test_two_nodes_at_once_do_not_see_each_other(provider: LocalProvider,
                                                 make_node: NodeFactory) -> None:
    nodes = {}

    def create(node_id: str) -> None:
        nodes[node_id] = make_node(node_id)

    threads = [threading.Thread(target=create, args=(i,)) for i in ("pair-a", "pair-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    a, b = nodes["pair-a"], nodes["pair-b"]
    assert a.host != b.host and a.host_key != b.host_key

    assert ok(provider, a, "hostname").strip() == "node-pair-a"
    assert ok(provider, b, "hostname").strip() == "node-pair-b"
    ok(provider, b, "nohup sleep 4242 >/dev/null 2>&1 &")
    assert "sleep 4242" in ok(provider, b, PROCESS_LIST)
    seen_from_a = ok(provider, a, PROCESS_LIST)
    assert "sleep 4242" not in seen_from_a
    # /proc/1 is a's own sshd, and a handful of processes (sshd, the session) is all there is.
    assert "/usr/sbin/sshd -D" in seen_from_a.splitlines()[0]
    assert len(seen_from_a.split("\n")) < 10
    # Nor can a reach b over the network: b's address is not routable from a.
    unreachable = ssh(provider, a, f"timeout 2 bash -c '</dev/tcp/{b.host}/22'")
    assert unreachable.returncode != 0
