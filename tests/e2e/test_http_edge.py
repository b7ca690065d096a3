"""The HTTP edge against a real server: bodies are read only after authentication and never
past the limit, Basic-authenticated writes are JSON, every answer carries the security
headers, and anonymous callers learn neither e-mail addresses nor what exists out of sight.

Bodies are sent over a plain socket, so a test can stop half-way through one and see whether
the server answers without waiting for the rest.
"""

from __future__ import annotations

import re
import select
import socket
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from tests.conftest import PG_ADMIN_URL, drop_postgres_database, make_postgres_database
from tests.support import GitUser, Server, gerrit_json, start_server

LIMIT = 1024 * 1024  # the server's max_request_bytes in this module


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = tmp_path_factory.mktemp("site") / "site"
    url = name = None
    if request.param == "postgresql":
        url, name = make_postgres_database(request.getfixturevalue("postgres_admin_url"))
    srv = start_server(site, url, extra_env={"KEEPGREEN_MAX_REQUEST_BYTES": str(LIMIT)})
    yield srv
    srv.stop()
    if name:
        drop_postgres_database(PG_ADMIN_URL, name)


# -- a client that can stop in the middle of a body -----------------------------------------

def exchange(server: Server, head: str, body: Iterable[bytes] = (),
             wait: float = 10.0) -> tuple[int, str]:
    """Send ``head`` and then ``body`` piece by piece, stopping as soon as the server
    answers; the status (0 when none came within ``wait`` seconds) and the answer's head."""
    where = urlsplit(server.url)
    with socket.create_connection((where.hostname, where.port), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1"))
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(piece)
            except OSError:  # the server closed the connection: it answered
                break
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError):
            pass
    text = answer.decode("latin-1")
    found = re.match(r"HTTP/1\.1 (\d{3})", text)
    return (int(found.group(1)) if found else 0), text.split("\r\n\r\n", 1)[0]


def request_head(method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def chunks(total: int, size: int = 64 * 1024, end: bool = True) -> Iterator[bytes]:
    """A chunked body of ``total`` bytes; without ``end`` it never finishes."""
    sent = 0
    while sent < total:
        piece = b"x" * min(size, total - sent)
        sent += len(piece)
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    if end:
        yield b"0\r\n\r\n"


def basic(server: Server) -> str:
    import base64
    return "Basic " + base64.b64encode(
        f"{server.admin}:{server.admin_password}".encode()).decode()


def pushed_change(server: Server, user: GitUser, tmp_path: Path, project: str) -> int:
    server.create_project(project)
    repo = user.clone(project, tmp_path / f"repo-{uuid.uuid4().hex[:6]}")
    user.commit(repo, "a.txt", "a\n", "Add a")
    assert user.push(repo).returncode == 0
    with server.admin_client() as c:
        [change] = gerrit_json(c.get("/a/changes/", params={"q": f"project:{project}"}))
    return int(change["_number"])


# -- 1. limits before work ------------------------------------------------------------------

def test_anonymous_chunked_write_is_refused_without_reading_its_body(server: Server) -> None:
    # One chunk, then silence: a server that reads the body first would wait for the rest.
    head = request_head("POST", "/a/changes/1/revisions/current/review",
                        {"Transfer-Encoding": "chunked", "Content-Type": "application/json"})
    status, answer = exchange(server, head, chunks(LIMIT, end=False), wait=5)
    assert status == 401, answer
    assert "www-authenticate: basic" in answer.lower()
    status, answer = exchange(server, request_head(
        "POST", "/changes/1/abandon", {"Transfer-Encoding": "chunked"}),
        chunks(64 * 1024, end=False), wait=5)
    assert status == 401, answer  # anonymous writes are not read outside /a/ either


def test_wrong_password_is_refused_without_reading_the_body(server: Server) -> None:
    head = request_head("POST", "/a/changes/1/revisions/current/review",
                        {"Transfer-Encoding": "chunked", "Authorization": "Basic YWRtaW46bm8=",
                         "Content-Type": "application/json"})
    status, answer = exchange(server, head, chunks(LIMIT, end=False), wait=5)
    assert status == 401, answer


def test_signed_in_chunked_body_over_the_limit_gets_413(server: Server) -> None:
    head = request_head("POST", "/a/changes/1/revisions/current/review",
                        {"Transfer-Encoding": "chunked", "Authorization": basic(server),
                         "Content-Type": "application/json"})
    status, answer = exchange(server, head, chunks(3 * LIMIT))
    assert status == 413, answer
    assert "connection: close" in answer.lower()


def test_declared_length_over_the_limit_gets_413_before_any_byte(server: Server) -> None:
    head = request_head("PUT", "/a/projects/too-big",
                        {"Content-Length": str(2 * LIMIT), "Authorization": basic(server),
                         "Content-Type": "application/json"})
    status, answer = exchange(server, head, wait=5)  # the body is never sent
    assert status == 413, answer
    with server.client() as c:
        r = c.put("/a/projects/too-big", auth=(server.admin, server.admin_password),
                  content=b'{"description": "' + b"d" * LIMIT + b'"}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.text.strip() == ("request body is larger than 1 MiB, the server's limit "
                              "(setting max_request_bytes)")
    with server.admin_client() as c:
        assert c.get("/a/projects/too-big").status_code == 404


def test_sign_in_form_over_the_limit_gets_413(server: Server) -> None:
    with server.client() as c:
        page = c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token, page.text
        cookies = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    head = request_head("POST", "/login", {
        "Transfer-Encoding": "chunked", "Cookie": cookies,
        "Content-Type": "application/x-www-form-urlencoded"})
    prefix = f"csrf={token.group(1)}&username=admin&password=x&pad=".encode()
    body = [f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n", *chunks(2 * LIMIT)]
    status, answer = exchange(server, head, body)
    assert status == 413, answer


def test_anonymous_ui_write_is_refused_without_reading_its_body(server: Server) -> None:
    head = request_head("POST", "/c/org/app/+/1/submit", {
        "Transfer-Encoding": "chunked", "Content-Type": "application/x-www-form-urlencoded"})
    status, answer = exchange(server, head, chunks(LIMIT, end=False), wait=5)
    assert status == 401, answer


# -- 4. Basic-authenticated writes are JSON ---------------------------------------------------

@pytest.mark.parametrize("content_type, body", [
    ("text/plain", b'{"description": "from another site"}'),
    ("text/plain", b""),
    ("application/x-www-form-urlencoded", b"description=from+another+site"),
    ("multipart/form-data; boundary=b", b'--b\r\nContent-Disposition: form-data; '
                                        b'name="description"\r\n\r\nx\r\n--b--\r\n'),
])
def test_basic_write_with_a_form_encoding_gets_415_and_changes_nothing(
        server: Server, content_type: str, body: bytes) -> None:
    name = f"p{uuid.uuid4().hex[:8]}"
    with server.admin_client() as c:
        r = c.put(f"/a/projects/{name}", content=body, headers={"Content-Type": content_type})
        assert r.status_code == 415, r.text
        assert "application/json" in r.text and "\n" not in r.text.strip()
        assert c.get(f"/a/projects/{name}").status_code == 404


def test_basic_write_without_a_body_or_content_type_is_accepted(server: Server) -> None:
    name = f"p{uuid.uuid4().hex[:8]}"
    with server.admin_client() as c:
        r = c.put(f"/a/projects/{name}")
        assert "content-type" not in r.request.headers
        assert r.status_code == 201, r.text
        r = c.put(f"/a/projects/{name}x", json={"description": "fine"})
        assert r.status_code == 201, r.text


# -- 5. security headers ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/login", "/config/server/version",
                                  "/static/keepgreen.css", "/no/such/page",
                                  "/a/accounts/self", "/api/status", "/tools/hooks/commit-msg"])
def test_every_answer_carries_the_security_headers(server: Server, path: str) -> None:
    with server.client() as c:
        r = c.get(path)
    policy = r.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"
    assert r.headers.get("referrer-policy") in ("same-origin",
                                                "strict-origin-when-cross-origin")


def test_build_logs_are_sandboxed(server: Server) -> None:
    with server.client() as c:
        r = c.get("/logs/" + "0" * 32 + "/job-output.html")
    policy = r.headers["content-security-policy"]
    assert policy.startswith("sandbox") and "default-src 'none'" in policy, policy
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_carry_no_inline_script_or_style(server: Server) -> None:
    with server.client() as c:
        for path in ("/", "/login", "/status", "/admin/repos", "/q/status:open"):
            html = c.get(path).text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
            assert not re.search(r"\sstyle=|\son[a-z]+=|<style", html), path


# -- 6. what anonymous callers learn -----------------------------------------------------------

def test_anonymous_callers_see_no_account_emails(server: Server, make_user, tmp_path: Path,
                                                 project_name: str) -> None:
    user = make_user(server, "erin")
    number = pushed_change(server, user, tmp_path, project_name)
    email = f"{user.username}@example.org"
    with server.client() as anon, server.admin_client() as admin:
        for path in (f"/changes/{number}?o=DETAILED_ACCOUNTS&o=CURRENT_REVISION",
                     f"/changes/?q=project:{project_name}&o=DETAILED_ACCOUNTS",
                     f"/changes/{number}/detail", f"/accounts/{user.username}"):
            assert email not in anon.get(path).text, path
        assert email in admin.get(f"/a/changes/{number}/detail").text
        assert gerrit_json(admin.get(f"/a/accounts/{user.username}"))["email"] == email
        # ... and cannot find an account by its address either.
        by_email = anon.get(f"/accounts/{quote(email)}")
        unknown = anon.get("/accounts/nobody@example.org")
        assert by_email.status_code == unknown.status_code == 404
        assert by_email.text.replace(email, "X") == unknown.text.replace(
            "nobody@example.org", "X")


def test_what_anonymous_callers_may_not_see_answers_like_what_does_not_exist(
        server: Server, make_user, tmp_path: Path, project_name: str) -> None:
    with server.admin_client() as c:
        r = c.put(f"/a/projects/{quote(project_name, safe='')}",
                  json={"create_empty_commit": True, "anonymous_read": False})
        assert r.status_code == 201, r.text
    user = make_user(server, "fay", groups=[f"{project_name}-core"])
    repo = user.clone(project_name, tmp_path / "private")
    user.commit(repo, "s.txt", "s\n", "Secret")
    assert user.push(repo).returncode == 0
    with server.admin_client() as c:
        [change] = gerrit_json(c.get("/a/changes/", params={"q": f"project:{project_name}"}))
    number = change["_number"]
    missing_project = f"org/missing{uuid.uuid4().hex[:6]}"
    with server.client() as anon:
        pairs = [
            (f"/projects/{quote(project_name, safe='')}",
             f"/projects/{quote(missing_project, safe='')}", project_name, missing_project),
            (f"/changes/{number}", "/changes/99999", str(number), "99999"),
            (f"/changes/{number}/detail", "/changes/99999/detail", str(number), "99999"),
        ]
        for hidden_path, missing_path, hidden_name, missing_name in pairs:
            hidden, missing = anon.get(hidden_path), anon.get(missing_path)
            assert hidden.status_code == missing.status_code == 404, hidden_path
            assert hidden.headers.get("www-authenticate") is None
            assert hidden.text.replace(hidden_name, "X") == missing.text.replace(
                missing_name, "X")
        page = anon.get(f"/c/{project_name}/+/{number}")
        assert page.status_code == 404


def test_links_and_fetch_urls_ignore_a_forged_host_header(server: Server, make_user,
                                                          tmp_path: Path,
                                                          project_name: str) -> None:
    user = make_user(server, "gus")
    number = pushed_change(server, user, tmp_path, project_name)
    forged = {"Host": "evil.example.org"}
    with server.client() as c:
        change = gerrit_json(c.get(f"/changes/{number}?o=CURRENT_REVISION", headers=forged))
        page = c.get("/login", headers=forged)
    [revision] = change["revisions"].values()
    assert revision["fetch"]["http"]["url"] == f"{server.url}{project_name}"
    assert "evil.example.org" not in str(revision) and "evil.example.org" not in page.text
