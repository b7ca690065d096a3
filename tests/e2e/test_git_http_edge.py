"""The git smart-HTTP edge under abuse: bodies nobody asked for, bodies too large, and a
server killed in the middle of a clone.

The server is real (``keepgreen serve`` in a subprocess) with a small push limit, and the
bodies come from raw sockets, so the test sees exactly how much the server took in.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import GitUser, Server, start_server

LIMIT = 1024 * 1024
MIB = 1024 * 1024


@pytest.fixture
def edge_server(tmp_path: Path) -> Iterator[Server]:
    server = start_server(tmp_path / "site",
                          extra_env={"KEEPGREEN_MAX_PUSH_BYTES": str(LIMIT)})
    yield server
    server.stop()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _chunked_post(server: Server, path: str, total: int,
                  auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    """POST ``total`` bytes as 1 MiB chunks without a Content-Length; stop when the server
    hangs up. Returns how many body bytes went out and what came back."""
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    service = path.rsplit("/", 1)[1]
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/x-{service}-request\r\n"
            "Transfer-Encoding: chunked\r\n")
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        head += f"Authorization: Basic {token}\r\n"
    chunk = b"%x\r\n" % MIB + b"\0" * MIB + b"\r\n"
    sent = 0
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall((head + "\r\n").encode())
        try:
            while sent < total:
                s.sendall(chunk)
                sent += MIB
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while data := s.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    return sent, answer


def test_unwanted_and_oversized_bodies_are_not_read(edge_server: Server) -> None:
    server = edge_server
    server.create_project("org/edge")
    before = _rss_kib(server.process.pid)
    cases = [("/p/org/edge/git-receive-pack", None, b"401"),
             ("/a/org/edge/git-upload-pack", None, b"401"),
             ("/a/org/edge/git-receive-pack", ("admin", "wrong"), b"401"),
             ("/p/org/edge/git-upload-pack", None, b"413")]
    for path, auth, status in cases:
        sent, answer = _chunked_post(server, path, 600 * MIB, auth)
        assert answer.startswith(b"HTTP/1.1 " + status), (path, answer[:200])
        # What the kernel buffers on both ends is all that may go out; the server stopped.
        assert sent < 64 * MIB, (path, sent)
    grown = _rss_kib(server.process.pid) - before
    assert grown < 100 * 1024, f"server grew by {grown} KiB"


def test_chunked_push_over_the_limit_gets_413_and_leaves_nothing(edge_server: Server,
                                                                  tmp_path: Path) -> None:
    server = edge_server
    server.create_project("org/big")
    password = server.create_account("pusher")
    user = GitUser(tmp_path / "pusher", server, "pusher", password)
    repo = user.clone("org/big", tmp_path / "w")
    (repo / "blob.bin").write_bytes(os.urandom(3 * LIMIT))
    user.git("add", "blob.bin", cwd=repo)
    user.git("commit", "-qm", "A large file", cwd=repo)
    pushed = user.git("-c", "http.postBuffer=65536", "push", "origin", "HEAD:refs/for/main",
                      cwd=repo, check=False)
    assert pushed.returncode != 0
    assert "413" in pushed.stderr, pushed.stderr
    refs = user.git("ls-remote", user.url("org/big", "a/"), cwd=repo).stdout
    assert "refs/changes/" not in refs
    with server.admin_client() as c:
        assert c.get("/a/changes/", params={"q": "project:org/big"}).text.strip() == ")]}'\n[]"


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_git_processes_die_with_a_killed_server(tmp_path: Path) -> None:
    server = start_server(tmp_path / "site")
    try:
        server.create_project("org/large")
        password = server.create_account("writer", groups=["Administrators"])
        user = GitUser(tmp_path / "writer", server, "writer", password)
        repo = user.clone("org/large", tmp_path / "w")
        for i in range(8):
            (repo / f"blob{i}.bin").write_bytes(os.urandom(8 * MIB))
        user.git("add", ".", cwd=repo)
        user.git("commit", "-qm", "Large files", cwd=repo)
        user.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=repo)
        tip = user.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
        # A client that asks for everything and then never reads the answer.
        want = f"want {tip} side-band-64k ofs-delta\n".encode()
        request = b"%04x" % (len(want) + 4) + want + b"0000" + b"0009done\n"
        host, port = server.url.removeprefix("http://").rstrip("/").split(":")
        stalled = socket.create_connection((host, int(port)), timeout=30)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall((f"POST /p/org/large/git-upload-pack HTTP/1.1\r\n"
                         f"Host: {host}:{port}\r\n"
                         "Content-Type: application/x-git-upload-pack-request\r\n"
                         f"Content-Length: {len(request)}\r\n\r\n").encode() + request)
        deadline = time.monotonic() + 30
        git_children: set[int] = set()
        while time.monotonic() < deadline and not any(
                b"pack-objects" in _cmdline(p) for p in git_children):
            time.sleep(0.05)
            git_children = {p for p in _descendants(server.process.pid) if _alive(p)}
        time.sleep(0.5)
        git_children = {p for p in _descendants(server.process.pid) if _alive(p)}
        assert any(b"upload-pack" in _cmdline(p) for p in git_children), git_children
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(p) for p in git_children):
            time.sleep(0.1)
        left = {p: _cmdline(p) for p in git_children if _alive(p)}
        assert not left, f"still running after the server died: {left}"
    finally:
        for pid in {p for p in locals().get("git_children", set()) if _alive(p)}:
            os.kill(pid, signal.SIGKILL)
        if "stalled" in locals():
            stalled.close()
        server.stop()
