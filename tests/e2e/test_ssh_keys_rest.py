"""SSH keys over Gerrit's REST API (``/a/accounts/self/sshkeys``) on a real server: added
as text/plain as Gerrit's clients send them (or as a JSON string), listed as Gerrit's
SshKeyInfo, deleted by number; bad keys and other people's keys refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.ssh_support import make_key
from tests.support import Server, gerrit_json


def client(server: Server, user: Any) -> httpx.Client:
    return server.client(user.username, user.password)


def test_add_list_get_and_delete_keys(server: Server, make_user: Any, tmp_path: Path) -> None:
    alice = make_user(server, "alice")
    laptop = make_key(tmp_path / "laptop")
    rsa = make_key(tmp_path / "desktop", "rsa")
    with client(server, alice) as c:
        r = c.post("/a/accounts/self/sshkeys", content=laptop,
                   headers={"Content-Type": "text/plain"})
        assert r.status_code == 201, r.text
        info = gerrit_json(r)
        algorithm, encoded, comment = laptop.split()
        assert info == {"seq": 1, "ssh_public_key": laptop.strip(), "encoded_key": encoded,
                        "algorithm": algorithm, "comment": comment, "valid": True}
        r = c.post("/a/accounts/self/sshkeys", json=rsa)
        assert r.status_code == 201 and gerrit_json(r)["algorithm"] == "ssh-rsa"

        listed = gerrit_json(c.get("/a/accounts/self/sshkeys"))
        assert [k["seq"] for k in listed] == [1, 2]
        assert gerrit_json(c.get(f"/a/accounts/{alice.username}/sshkeys/2"))[
            "ssh_public_key"] == rsa.strip()
        assert c.delete("/a/accounts/self/sshkeys/1").status_code == 204
        assert [k["seq"] for k in gerrit_json(c.get("/a/accounts/self/sshkeys"))] == [2]
        assert c.delete("/a/accounts/self/sshkeys/1").status_code == 404
        assert c.get("/a/accounts/self/sshkeys/x").status_code == 404


def test_bad_keys_get_400_with_the_reason(server: Server, make_user: Any) -> None:
    alice = make_user(server, "alice")
    with client(server, alice) as c:
        for body, said in (("ssh-ed25519 AAAA", "cut short"),
                           ("hello", "has an algorithm and a base64 key"),
                           ("", "holds no SSH public key"),
                           ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key")):
            r = c.post("/a/accounts/self/sshkeys", content=body,
                       headers={"Content-Type": "text/plain"})
            assert r.status_code == 400 and said in r.text, (body, r.text)
            assert "\n" == r.text[-1] and r.text.count("\n") == 1
        r = c.post("/a/accounts/self/sshkeys", json={"key": "ssh-ed25519 AAAA"})
        assert r.status_code == 400 and "JSON string" in r.text
        r = c.post("/a/accounts/self/sshkeys", content=b"\xff\xfe",
                   headers={"Content-Type": "text/plain"})
        assert r.status_code == 400 and "UTF-8" in r.text
        assert gerrit_json(c.get("/a/accounts/self/sshkeys")) == []


def test_other_peoples_keys_and_web_pages_are_refused(server: Server, make_user: Any,
                                                      tmp_path: Path) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    line = make_key(tmp_path / "alice")
    with client(server, alice) as c:
        assert c.post("/a/accounts/self/sshkeys", json=line).status_code == 201
    with client(server, bob) as c:
        assert c.get(f"/a/accounts/{alice.username}/sshkeys").status_code == 403
        assert c.delete(f"/a/accounts/{alice.username}/sshkeys/1").status_code == 403
        r = c.post(f"/a/accounts/{alice.username}/sshkeys", json=make_key(tmp_path / "b"))
        assert r.status_code == 403
        # A page on another site posting a key with the browser's stored credentials.
        r = c.post("/a/accounts/self/sshkeys", content=line,
                   headers={"Content-Type": "text/plain", "Origin": "https://evil.example"})
        assert r.status_code == 415 and "from a web page" in r.text
        r = c.post("/a/accounts/self/sshkeys", content=line,
                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 415
        assert gerrit_json(c.get("/a/accounts/self/sshkeys")) == []
    with server.client() as c:
        assert c.get("/accounts/self/sshkeys").status_code == 401
        r = c.post("/a/accounts/self/sshkeys", content=line,
                   headers={"Content-Type": "text/plain"})
        assert r.status_code == 401
    with server.admin_client() as c:
        assert [k["seq"] for k in json.loads(
            c.get(f"/a/accounts/{alice.username}/sshkeys").text[5:])] == [1]
