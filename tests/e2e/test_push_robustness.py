"""Pushes under load and pushes that go wrong: nothing lost, nothing half-made."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import GitUser, Server, gerrit_json, start_server


def open_changes(server: Server, project: str) -> list[dict]:
    with server.admin_client() as c:
        return gerrit_json(c.get("/a/changes/", params={"q": f"project:{project}"}))


def test_twenty_concurrent_pushes_make_twenty_changes(server, make_user, project_name,
                                                       tmp_path):
    server.create_project(project_name)
    carol = make_user(server, "carol")
    base = carol.clone(project_name, tmp_path / "base")
    clones = []
    for i in range(20):
        clone = tmp_path / f"c{i}"
        carol.git("clone", "-q", str(base), str(clone))
        carol.git("remote", "set-url", "origin", carol.url(project_name), cwd=clone)
        hook = clone / ".git" / "hooks" / "commit-msg"
        hook.write_bytes((base / ".git" / "hooks" / "commit-msg").read_bytes())
        hook.chmod(0o755)
        carol.commit(clone, f"file{i}.txt", f"{i}\n", f"Change number {i}")
        clones.append(clone)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(carol.push, clones))

    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results]
    changes = open_changes(server, project_name)
    assert sorted(c["subject"] for c in changes) == sorted(f"Change number {i}"
                                                           for i in range(20))
    assert len({c["_number"] for c in changes}) == 20
    refs = carol.git("ls-remote", carol.url(project_name), "refs/changes/*", cwd=base).stdout
    assert len(refs.splitlines()) == 20


def _receive_pack_request(user: GitUser, repo: Path, ref: str) -> bytes:
    """The body git would POST to git-receive-pack for pushing HEAD to ``ref``."""
    head = user.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    command = f"{'0' * 40} {head} {ref}\0 report-status side-band-64k agent=test\n".encode()
    pkt = b"%04x" % (len(command) + 4) + command + b"0000"
    pack = subprocess.run(["git", "pack-objects", "--stdout", "--revs", "-q"], cwd=repo,
                          input=f"{head}\n^HEAD~1\n".encode(), capture_output=True,
                          check=True, env=user.env).stdout
    return pkt + pack


def _post_raw(server: Server, path: str, user: GitUser, body: bytes, send: int,
              content_length: int | None = None, half_close: bool = True) -> bytes:
    """POST ``body[:send]`` then close (unless ``half_close`` is off, when the server has to
    hang up), claiming ``content_length`` bytes."""
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    token = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
    length = len(body) if content_length is None else content_length
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Basic {token}\r\n"
            "Content-Type: application/x-git-receive-pack-request\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(head + body[:send])
        if half_close:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_interrupted_and_corrupt_pushes_leave_no_change(server, make_user, project_name,
                                                        tmp_path):
    server.create_project(project_name)
    dave = make_user(server, "dave")
    repo = dave.clone(project_name, tmp_path / "w")
    dave.commit(repo, "big.bin", os.urandom(300_000).hex(), "A big file")
    body = _receive_pack_request(dave, repo, "refs/for/main")
    path = f"/{project_name}/git-receive-pack"

    _post_raw(server, path, dave, body, send=len(body) // 2)
    corrupt = body[: len(body) // 2] + b"\x00garbage" * 10
    answer = _post_raw(server, path, dave, corrupt, send=len(corrupt))
    assert b"500 Internal" not in answer

    assert open_changes(server, project_name) == []
    # The server is unharmed: the same commit still uploads normally.
    pushed = dave.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    assert len(open_changes(server, project_name)) == 1


def test_direct_push_needs_permission(server, make_user, project_name, tmp_path):
    server.create_project(project_name)
    erin = make_user(server, "erin")
    repo = erin.clone(project_name, tmp_path / "w")
    erin.commit(repo, "x", "x\n", "Straight to main")

    refused = erin.push(repo, "HEAD:refs/heads/main")
    assert refused.returncode != 0
    assert "push" in refused.stderr and "refs/heads/main" in refused.stderr
    assert "refs/for/" in refused.stderr

    sneaky = erin.push(repo, "HEAD:refs/changes/01/1/1")
    assert sneaky.returncode != 0
    assert "managed by keepgreen" in sneaky.stderr

    admin = GitUser(tmp_path / "admin-home", server, server.admin, server.admin_password)
    admin_repo = admin.clone(project_name, tmp_path / "admin")
    head = admin.commit(admin_repo, "y", "y\n", "Admin pushes directly")
    allowed = admin.push(admin_repo, "HEAD:refs/heads/main")
    assert allowed.returncode == 0, allowed.stderr
    remote = admin.git("ls-remote", admin.url(project_name), "refs/heads/main").stdout
    assert remote.split()[0] == head


def test_anonymous_push_is_asked_to_sign_in(server, make_user, project_name, tmp_path):
    server.create_project(project_name)
    anon = make_user(server)
    repo = anon.clone(project_name, tmp_path / "w")
    anon.commit(repo, "x", "x\n", "Anonymous attempt")
    result = anon.push(repo)
    assert result.returncode != 0
    assert "Authentication failed" in result.stderr or "could not read Username" in result.stderr
    assert open_changes(server, project_name) == []


@pytest.fixture(scope="module")
def small_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("small") / "site",
                       extra_env={"KEEPGREEN_MAX_PUSH_BYTES": "100000"})
    yield srv
    srv.stop()


def test_oversize_push_is_refused(small_server, make_user, project_name, tmp_path):
    small_server.create_project(project_name)
    fay = make_user(small_server, "fay")
    repo = fay.clone(project_name, tmp_path / "w")
    fay.commit(repo, "big.bin", os.urandom(400_000).hex(), "Too big")
    body = _receive_pack_request(fay, repo, "refs/for/main")
    # The size is refused from the headers alone (after the credentials), before any of
    # the pack is read; the server hangs up rather than wait for it.
    answer = _post_raw(small_server, f"/{project_name}/git-receive-pack", fay, body, send=0,
                       half_close=False)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"limit" in answer

    result = fay.push(repo)  # git itself sends the pack chunked, without a length
    assert result.returncode != 0
    assert open_changes(small_server, project_name) == []
