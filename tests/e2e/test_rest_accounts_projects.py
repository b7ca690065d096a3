"""Gerrit REST basics for accounts, groups and projects, as real clients see them.

pygerrit2 plays the part of a Gerrit user or script; httpx checks what a client library
would hide (the ``)]}'`` prefix, Content-Type, status codes, challenges, error bodies).
Every test runs against a real server, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import requests
from pygerrit2 import Anonymous, GerritRestAPI, HTTPBasicAuth

from tests.support import Server, gerrit_json

JSON_TYPE = "application/json; charset=UTF-8"


def rest(server: Server, user: str | None = None, password: str | None = None) -> GerritRestAPI:
    """A pygerrit2 client: anonymous without a user, HTTP Basic with one."""
    if user is None:
        return GerritRestAPI(server.url, auth=Anonymous())
    return GerritRestAPI(server.url, auth=HTTPBasicAuth(user, password))


def admin_rest(server: Server) -> GerritRestAPI:
    return rest(server, server.admin, server.admin_password)


def enc(name: str) -> str:
    return quote(name, safe="")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def http_status(call: Callable[[], object]) -> int:
    """The HTTP status of a pygerrit2 call that is expected to fail."""
    with pytest.raises(requests.HTTPError) as failure:
        call()
    return failure.value.response.status_code


def assert_one_line_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert not response.text.startswith(")]}'")
    reason = response.text.strip()
    assert reason and "\n" not in reason, repr(response.text)
    return reason


def last_error(server: Server) -> str:
    """The last exception line of the server log, to explain a 500."""
    errors = [line for line in server.log().splitlines()
              if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    return errors[-1][:300] if errors else "(no exception in the server log)"


def new_account(server: Server) -> tuple[str, str]:
    username = unique("user")
    return username, server.create_account(username)


# -- accounts ------------------------------------------------------------------------------

def test_admin_creates_account_that_can_sign_in(server: Server) -> None:
    username, password = unique("carol"), "s3cret-" + uuid.uuid4().hex
    created, response = admin_rest(server).put(
        f"/accounts/{username}", return_response=True,
        json={"name": "Carol Example", "email": f"{username}@example.org",
              "http_password": password, "groups": []})
    assert response.status_code == 201
    assert created["username"] == username

    me = rest(server, username, password).get("/accounts/self")
    assert me["username"] == username
    assert me["name"] == "Carol Example"
    assert me["email"] == f"{username}@example.org"
    assert me["_account_id"] == created["_account_id"]

    with server.client(username, password) as c:
        raw = c.get("/a/accounts/self")
    assert raw.status_code == 200
    assert raw.headers["content-type"] == JSON_TYPE
    assert raw.text.startswith(")]}'\n")
    assert gerrit_json(raw)["_account_id"] == created["_account_id"]


def test_groups_and_members(server: Server) -> None:
    admin = admin_rest(server)
    group = unique("reviewers-")
    member, _ = new_account(server)
    info, response = admin.put(f"/groups/{enc(group)}", json={"description": "Reviewers"},
                               return_response=True)
    assert response.status_code == 201
    assert info["name"] == group
    _, response = admin.put(f"/groups/{enc(group)}/members/{member}", return_response=True)
    assert response.status_code in (200, 201)

    members = admin.get(f"/groups/{enc(group)}/members")
    assert [m["username"] for m in members] == [member]


def test_only_administrators_create_accounts_groups_and_projects(server: Server) -> None:
    username, password = new_account(server)
    user = rest(server, username, password)
    assert http_status(lambda: user.put(f"/accounts/{unique('x')}",
                                        json={"http_password": "whatever"})) == 403
    assert http_status(lambda: user.put(f"/groups/{unique('g')}", json={})) == 403
    assert http_status(lambda: user.put(f"/projects/{unique('p')}", json={})) == 403
    with server.client(username, password) as c:
        assert_one_line_error(c.put(f"/a/groups/{unique('g')}", json={}), 403)


def test_duplicate_account_conflicts(server: Server) -> None:
    username, _ = new_account(server)
    with server.admin_client() as c:
        again = c.put(f"/a/accounts/{username}", json={"http_password": "another"})
    assert_one_line_error(again, 409)


def test_generated_password_replaces_the_old_one(server: Server) -> None:
    username, old = new_account(server)
    assert rest(server, username, old).get("/accounts/self")["username"] == username

    generated = rest(server, username, old).put("/accounts/self/password.http",
                                                json={"generate": True})
    assert isinstance(generated, str) and generated and generated != old
    assert rest(server, username, generated).get("/accounts/self")["username"] == username
    assert http_status(lambda: rest(server, username, old).get("/accounts/self")) == 401

    chosen = "x" + uuid.uuid4().hex
    rest(server, username, generated).put("/accounts/self/password.http",
                                          json={"http_password": chosen})
    assert rest(server, username, chosen).get("/accounts/self")["username"] == username
    assert http_status(lambda: rest(server, username, generated).get("/accounts/self")) == 401


def test_bad_or_missing_credentials_are_challenged(server: Server) -> None:
    username, password = new_account(server)
    for user, pw in ((username, password + "-wrong"), (unique("nobody"), "pw")):
        with server.client(user, pw) as c:
            r = c.get("/a/accounts/self")
        assert_one_line_error(r, 401)
        assert r.headers["www-authenticate"].startswith("Basic")

    with server.client() as c:
        anonymous = c.get("/a/accounts/self")
    assert_one_line_error(anonymous, 401)
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert http_status(lambda: rest(server).get("/a/accounts/self")) == 401


@pytest.mark.parametrize("number", [str(2**31), "9" * 25, "\u00b2"],
                         ids=["2^31", "25-digits", "superscript-2"])
def test_odd_account_numbers_are_not_found(server: Server, number: str) -> None:
    """Account ids beyond the store's integers (or that int() refuses) are simply unknown."""
    group = unique("odd-")
    problems = []
    with server.admin_client() as c:
        assert c.put(f"/a/groups/{group}", json={}).status_code == 201
        for r in (c.get(f"/a/accounts/{enc(number)}"),
                  c.put(f"/a/groups/{group}/members/{enc(number)}")):
            if r.status_code != 404:
                problems.append(f"{r.request.method} {r.request.url.raw_path.decode()} -> "
                                f"{r.status_code}: {last_error(server)}")
    assert not problems, "\n".join(problems)


# -- projects ------------------------------------------------------------------------------

def test_create_project_with_a_slash_in_its_name(server: Server) -> None:
    admin = admin_rest(server)
    info, response = admin.put("/projects/org%2Fapp", return_response=True, json={
        "create_empty_commit": True, "description": "The org app"})
    assert response.status_code == 201
    assert info["name"] == "org/app"

    members = admin.get("/groups/org%2Fapp-core/members")
    assert [m["username"] for m in members][:1] == [server.admin]

    anonymous = rest(server)
    listed = anonymous.get("/projects/?d")
    assert listed["org/app"]["description"] == "The org app"
    project = anonymous.get("/projects/org%2Fapp")
    assert project["name"] == "org/app"
    assert project["description"] == "The org app"
    branches = anonymous.get("/projects/org%2Fapp/branches/")
    assert "refs/heads/main" in [b["ref"] for b in branches]
    assert anonymous.get("/projects/org%2Fapp/HEAD") == "refs/heads/main"

    with server.client() as c:
        head = c.get("/projects/org%2Fapp/HEAD")
    assert head.headers["content-type"] == JSON_TYPE
    assert head.text.startswith(")]}'\n")
    assert gerrit_json(head) == "refs/heads/main"


def test_unknown_duplicate_and_invalid_projects(server: Server, project_name: str) -> None:
    assert http_status(lambda: rest(server).get(f"/projects/{enc(project_name)}")) == 404
    server.create_project(project_name)
    with server.admin_client() as c:
        assert_one_line_error(c.get(f"/a/projects/{enc(project_name + '-missing')}"), 404)
        assert_one_line_error(c.put(f"/a/projects/{enc(project_name)}", json={}), 409)
        for bad in ("a/../b", "foo.git", "-dash", "org//twice"):
            r = c.put(f"/a/projects/{enc(bad)}", json={"create_empty_commit": True})
            assert r.status_code == 400, (bad, r.status_code, r.text)
            assert_one_line_error(r, 400)
        assert c.get(f"/a/projects/{enc('a/../b')}").status_code == 404


def test_project_without_anonymous_read(server: Server, make_user, project_name: str,
                                        tmp_path: Path) -> None:
    with server.admin_client() as c:
        r = c.put(f"/a/projects/{enc(project_name)}",
                  json={"create_empty_commit": True, "anonymous_read": False})
        assert r.status_code == 201, r.text

    with server.client() as c:
        hidden = c.get(f"/projects/{enc(project_name)}")
        listed = gerrit_json(c.get("/projects/"))
    # As in Gerrit, what an anonymous caller may not see answers like what does not exist.
    assert_one_line_error(hidden, 404)
    assert "www-authenticate" not in hidden.headers
    assert project_name not in listed

    member = make_user(server, "dana")
    seen = rest(server, member.username, member.password).get(f"/projects/{enc(project_name)}")
    assert seen["name"] == project_name

    stranger = make_user(server)
    refused = stranger.git("clone", "-q", stranger.url(project_name),
                           str(tmp_path / "anon"), check=False)
    assert refused.returncode != 0
    assert not (tmp_path / "anon" / ".git").exists()

    clone = member.clone(project_name, tmp_path / "member")
    log = member.git("log", "--format=%s", cwd=clone).stdout
    assert "Initial empty repository" in log

    member.commit(clone, "secret.txt", "s\n", "Not for everyone")
    assert member.push(clone).returncode == 0
    query = {"q": f"project:{project_name}"}
    [change] = rest(server, member.username, member.password).get("/changes/", params=query)
    assert rest(server).get("/changes/", params=query) == []
    assert http_status(lambda: rest(server).get(f"/changes/{change['_number']}")) == 404
