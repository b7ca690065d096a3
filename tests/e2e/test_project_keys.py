"""Project keys as a team uses them: fetch the public key where Zuul serves it, encrypt with
`keepgreen encrypt`, and find that only the project's key opens the result."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from keepgreen.crypto import keypairs, oaep
from keepgreen.jobconf.parser import parse_file
from keepgreen.jobconf.yaml_loader import load
from keepgreen.site import site_key
from keepgreen.store import project_keys
from keepgreen.store.db import Database
from tests.support import KEEPGREEN, Server, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = start_server(tmp_path_factory.mktemp("keys") / "site")
    srv.create_project("org/app")
    with srv.admin_client() as c:
        r = c.put("/a/projects/org%2Fhidden",
                  json={"create_empty_commit": True, "anonymous_read": False})
        assert r.status_code == 201, r.text
    yield srv
    srv.stop()


def keepgreen(*args: str, stdin: bytes = b"", cwd: Path | None = None
              ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KEEPGREEN, *args], input=stdin, capture_output=True, timeout=120,
                          cwd=cwd)


def private_key(server: Server, project: str):
    db = Database(f"sqlite:///{server.site / 'keepgreen.db'}")
    try:
        with db.read() as conn:
            pair = project_keys.key_pair(conn, project)
    finally:
        db.dispose()
    assert pair is not None
    return keypairs.private_key(pair, site_key(server.site))


def opened(server: Server, project: str, yaml_text: str, field: str) -> bytes:
    path = "zuul.d/secret.yaml"
    parsed = parse_file(load(path, yaml_text), project=project, branch="main", path=path,
                        trusted=False)
    assert parsed.errors == ()
    return oaep.decrypt(private_key(server, project), parsed.objects[0].data[field].chunks)


def test_the_public_key_is_served_where_zuul_serves_it(server: Server) -> None:
    with server.client() as anonymous:
        r = anonymous.get("/api/tenant/main/key/org/app.pub")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/plain")
        key = serialization.load_pem_public_key(r.content)
        assert key.key_size == 4096
        again = anonymous.get("/api/tenant/main/key/org%2Fapp.pub")
        assert again.content == r.content  # made once, then kept

        assert anonymous.get("/api/tenant/main/key/org/hidden.pub").status_code in (401, 404)
        assert anonymous.get("/api/tenant/main/key/org/nothing.pub").status_code == 404
        other = anonymous.get("/api/tenant/elsewhere/key/org/app.pub")
        assert other.status_code == 404 and "one" in other.text
        assert anonymous.post("/api/tenant/main/key/org/app.pub").status_code == 405
    with server.client(server.admin, server.admin_password) as admin:
        r = admin.get("/api/tenant/main/key/org/hidden.pub")
        # The key API reads the same credentials as the rest: an administrator sees it.
        assert r.status_code == 200 and b"BEGIN PUBLIC KEY" in r.content


def test_encrypt_from_the_url_opens_with_the_project_key_only(server: Server,
                                                              tmp_path: Path) -> None:
    secret = tmp_path / "token.txt"
    secret.write_bytes(b"hunter2-" * 100)
    done = keepgreen("encrypt", "--project", "org/app", "--url", server.url.rstrip("/"),
                     "--infile", str(secret), "--field-name", "token",
                     "--secret-name", "app_token")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    assert "name: app_token" in text and "token: !encrypted/pkcs1-oaep" in text
    assert opened(server, "org/app", text, "token") == secret.read_bytes()
    with pytest.raises(oaep.SecretError):
        opened(server, "org/hidden", text, "token")


def test_encrypt_on_the_server_machine_reads_the_site_from_a_relative_path(
        server: Server) -> None:
    done = keepgreen("encrypt", "--project", "org/app", "--site", server.site.name,
                     stdin=b"from stdin", cwd=server.site.parent)
    assert done.returncode == 0, done.stderr
    assert opened(server, "org/app", done.stdout.decode(), "secret") == b"from stdin"


@pytest.mark.parametrize("args, message", [
    (("--project", "org/nothing"), "org/nothing"),
    (("--project", "org/app", "--url", "ftp://example.invalid"), "http:// or https://"),
    (("--project", "org/app", "--site", "/nonexistent/site"), "is not a keepgreen site"),
])
def test_encrypt_refusals_are_one_sentence(server: Server, args, message) -> None:
    extra = () if "--site" in args or "--url" in args else ("--url", server.url)
    done = keepgreen("encrypt", *args, *extra, stdin=b"x")
    assert done.returncode == 1
    err = done.stderr.decode()
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_rotating_a_key_gives_new_secrets_and_says_what_to_do(server: Server) -> None:
    server.create_project("org/rotated")
    with server.client() as anonymous:
        before = anonymous.get("/api/tenant/main/key/org/rotated.pub").content
    old = keepgreen("encrypt", "--project", "org/rotated", "--url", server.url, stdin=b"old")
    assert old.returncode == 0, old.stderr
    done = keepgreen("rotate-key", "--project", "org/rotated", "--site", str(server.site),
                     "--yes")
    assert done.returncode == 0, done.stderr
    assert b"keepgreen encrypt --project org/rotated" in done.stdout
    with server.client() as anonymous:
        after = anonymous.get("/api/tenant/main/key/org/rotated.pub").content
    assert after != before
    with pytest.raises(oaep.SecretError):
        opened(server, "org/rotated", old.stdout.decode(), "secret")
