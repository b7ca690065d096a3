"""The relay joins a Unix socket to a TCP service, the way sandboxed ssh reaches a node."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

from keepgreen.executor.relay import NodeRelay
from keepgreen.executor.sandbox import PLUGINS_SOURCE


def echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def test_bytes_flow_both_ways_and_close_ends_the_relay(tmp_path: Path) -> None:
    server, port = echo_server()
    relay = NodeRelay(tmp_path / "r.sock", "127.0.0.1", port, netns=None)
    with server, relay:
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(tmp_path / "r.sock"))
        client.sendall(b"hello node")
        assert client.recv(100) == b"HELLO NODE"
        client.shutdown(socket.SHUT_WR)
        assert client.recv(100) == b""
        client.close()
    assert not (tmp_path / "r.sock").exists()


def test_fdpass_hands_ssh_a_connected_socket(tmp_path: Path) -> None:
    """ssh's ProxyUseFdpass protocol: the proxy command sends a descriptor on stdout."""
    server, port = echo_server()
    with server, NodeRelay(tmp_path / "r.sock", "127.0.0.1", port, netns=None):
        ours, theirs = socket.socketpair()
        with ours:
            result = subprocess.run(
                [sys.executable, "-I", "-S", str(PLUGINS_SOURCE / "fdpass.py"),
                 str(tmp_path / "r.sock")], stdout=theirs, timeout=10, check=False)
            theirs.close()
            assert result.returncode == 0
            _, fds, _, _ = socket.recv_fds(ours, 1, 1)
        with socket.socket(fileno=fds[0]) as passed:
            passed.sendall(b"via fd")
            assert passed.recv(100) == b"VIA FD"


def test_a_dead_node_just_closes_the_connection(tmp_path: Path) -> None:
    unused = socket.create_server(("127.0.0.1", 0))
    port = unused.getsockname()[1]
    unused.close()  # nothing listens there now
    with NodeRelay(tmp_path / "r.sock", "127.0.0.1", port, netns=None):
        client = socket.socket(socket.AF_UNIX)
        client.connect(str(tmp_path / "r.sock"))
        client.settimeout(5)
        assert client.recv(100) == b""
        client.close()
