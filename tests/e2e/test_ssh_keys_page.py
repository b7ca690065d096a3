"""The SSH keys page of the web UI, driven as a browser drives it (forms with the session's
CSRF token): a key added there signs its owner in over SSH, a deleted one no longer does."""

from __future__ import annotations

import re
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.ssh_support import SSH_OPTIONS, make_key
from tests.support import Server


def browser(server: Server, user: Any) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": user.username, "password": user.password,
                                "csrf": token.group(1)})
    return client


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def signs_in(server: Server, user: Any, key: Path) -> bool:
    done = subprocess.run(
        ["ssh", "-p", str(server.ssh_port), "-i", str(key), *SSH_OPTIONS,
         f"{user.username}@127.0.0.1", "gerrit", "version"],
        capture_output=True, text=True, timeout=60)
    return done.returncode == 0


def test_keys_are_added_and_deleted_on_the_page(server: Server, make_user: Any,
                                                tmp_path: Path) -> None:
    alice = make_user(server, "alice")
    line = make_key(tmp_path / "laptop")
    with closing(browser(server, alice)) as b:
        page = b.get("/settings/ssh-keys")
        assert page.status_code == 200 and "No SSH keys yet." in page.text
        assert f"git clone ssh://{alice.username}@127.0.0.1:{server.ssh_port}/PROJECT" in (
            page.text)
        added = b.post("/settings/ssh-keys", data={"key": line, "csrf": csrf(page.text)})
        assert added.status_code == 303 and added.headers["location"] == "/settings/ssh-keys"
        page = b.get("/settings/ssh-keys")
        assert "laptop" in page.text and "ssh-ed25519" in page.text
        assert signs_in(server, alice, tmp_path / "laptop")

        bad = b.post("/settings/ssh-keys", data={"key": "ssh-ed25519 AAAA",
                                                 "csrf": csrf(page.text)})
        assert bad.status_code == 400 and "cut short" in bad.text

        deleted = b.post("/settings/ssh-keys/1/delete", data={"csrf": csrf(page.text)})
        assert deleted.status_code == 303
        assert "No SSH keys yet." in b.get("/settings/ssh-keys").text
        assert not signs_in(server, alice, tmp_path / "laptop")


def test_the_page_needs_a_session_and_its_forms_a_token(server: Server, make_user: Any,
                                                        tmp_path: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        r = anonymous.get("/settings/ssh-keys")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        r = anonymous.post("/settings/ssh-keys", data={"key": make_key(tmp_path / "x")})
        assert r.status_code == 401
    bob = make_user(server, "bob")
    with closing(browser(server, bob)) as b:
        r = b.post("/settings/ssh-keys", data={"key": make_key(tmp_path / "y"),
                                               "csrf": "forged"})
        assert r.status_code == 403 and "CSRF" in r.text
        assert "No SSH keys yet." in b.get("/settings/ssh-keys").text
