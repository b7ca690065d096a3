"""A project's details over Gerrit's REST API, as admin scripts and review tools read them:
description, parent and children, HEAD, statistics and gc, access checks, a branch's files,
mergeability and reflog, commits by id, cherry-picks, and settings proposed as changes to
``config``.

Alice uploads, Carol is core, Bob is a registered user, and Eve belongs to a group blocked
from reading the ``secret`` branch (or, in one test, the whole project): for her what is
hidden does not exist. A commit only a change holds is not found for anyone.
"""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import GitUser, Server, gerrit_json


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    found = Team.start(server, make_user, project_name, tmp_path)
    found.configure("MERGE_IF_NECESSARY", 1)
    return found


@pytest.fixture
def eve(server: Server, make_user: Any) -> GitUser:
    user: GitUser = make_user(server, "eve")
    return user


def block_read(team: Team, who: GitUser, ref: str) -> None:
    """Block ``who`` (through a group of their own) from reading ``ref`` of the project."""
    group = f"outsiders-{uuid.uuid4().hex[:6]}"
    admin = team.api()
    admin.put(f"/groups/{group}", json={"members": [who.username]})
    admin.post(f"/projects/{team.quoted}/access", json={"add": {ref: {"permissions": {
        "read": {"rules": {group: {"action": "BLOCK"}}}}}}})


def merge_on(team: Team, branch: str, path: str, content: str, subject: str) -> str:
    """A change on ``branch`` reviewed and submitted; the commit it put on the branch."""
    team.git("fetch", "-q", "origin")
    team.git("checkout", "-q", "--detach", f"origin/{branch}")
    team.alice.commit(team.repo, path, content, subject)
    pushed = team.alice.push(team.repo, f"HEAD:refs/for/{branch}")
    assert pushed.returncode == 0, pushed.stderr
    number = int(re.findall(r"/\+/(\d+) ", pushed.stderr)[0])
    team.approve(number)
    assert team.submit(number)["status"] == "MERGED"
    return str(team.api().get(f"/projects/{team.quoted}/branches/{quote(branch, safe='')}")
               ["revision"])


def raw(team: Team, who: GitUser | None, method: str, path: str,
        body: Any = None) -> httpx.Response:
    """A call over /a/ without pygerrit2, for answers that are not JSON."""
    user, password = ((who.username, who.password) if who
                      else (team.server.admin, team.server.admin_password))
    with team.server.client(user, password) as c:
        return c.request(method, "/a" + path, json=body)


def test_description_parent_children_and_head(team: Team, eve: GitUser) -> None:
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}"

    assert alice.get(f"{p}/description") == ""
    assert admin.put(f"{p}/description", json={"description": "The app",
                                               "commit_message": "Say what it is"}) == "The app"
    assert alice.get(f"{p}/description") == "The app"
    assert alice.get(p)["description"] == "The app"
    status, reason = refused(lambda: alice.put(f"{p}/description", json={"description": "x"}))
    assert status == 403 and "owner" in reason
    assert refused(lambda: admin.put(f"{p}/description", json={"description": 5}))[0] == 400
    assert raw(team, None, "DELETE", f"{p}/description").status_code == 204
    assert alice.get(f"{p}/description") == ""
    assert raw(team, None, "PUT", f"{p}/description", {}).status_code == 204

    assert alice.get(f"{p}/parent") == "All-Projects"
    assert admin.put(f"{p}/parent", json={"parent": "All-Projects"}) == "All-Projects"
    status, reason = refused(lambda: admin.put(f"{p}/parent", json={"parent": "org/base"}))
    assert status == 409 and "do not inherit" in reason
    assert refused(lambda: alice.put(f"{p}/parent", json={"parent": "All-Projects"}))[0] == 403

    root = alice.get("/projects/All-Projects/children/")
    assert team.project in [c["name"] for c in root]
    assert alice.get(f"/projects/All-Projects/children/{team.quoted}")["name"] == team.project
    assert alice.get(f"{p}/children/") == []
    assert refused(lambda: alice.get(f"{p}/children/All-Projects"))[0] == 404

    admin.put(f"{p}/branches/stable", json={})
    assert refused(lambda: alice.put(f"{p}/HEAD", json={"ref": "stable"}))[0] == 403
    assert admin.put(f"{p}/HEAD", json={"ref": "stable"}) == "refs/heads/stable"
    assert alice.get(f"{p}/HEAD") == "refs/heads/stable"
    assert "ref: refs/heads/stable\tHEAD" in team.git("ls-remote", "--symref", "origin", "HEAD")
    assert refused(lambda: admin.put(f"{p}/HEAD", json={"ref": "nope"}))[0] == 400
    assert refused(lambda: admin.put(f"{p}/HEAD", json={}))[0] == 400
    assert admin.put(f"{p}/HEAD", json={"ref": "refs/heads/main"}) == "refs/heads/main"
    assert alice.get(f"{p}/HEAD") == "refs/heads/main"

    block_read(team, eve, "refs/*")
    them = team.api(eve)
    for path in ("description", "parent", "children/", "HEAD"):
        assert raw(team, eve, "GET", f"{p}/{path}").status_code == 404
    assert refused(lambda: them.put(f"{p}/description", json={"description": "x"}))[0] == 404
    assert team.project not in [c["name"] for c in them.get("/projects/All-Projects/children/")]
    assert refused(lambda: them.get(f"/projects/All-Projects/children/{team.quoted}"))[0] == 404


def test_statistics_gc_ban_and_access_checks(team: Team, eve: GitUser) -> None:
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}"

    stats = admin.get(f"{p}/statistics.git")
    assert set(stats) == {"number_of_loose_objects", "number_of_loose_refs",
                          "number_of_pack_files", "number_of_packed_objects",
                          "number_of_packed_refs", "size_of_loose_objects",
                          "size_of_packed_objects"}
    assert stats["number_of_loose_objects"] > 0
    assert refused(lambda: alice.get(f"{p}/statistics.git"))[0] == 403

    collected = raw(team, None, "POST", f"{p}/gc", {"aggressive": True})
    assert collected.status_code == 200, collected.text
    assert collected.text.startswith(f'collecting garbage for "{team.project}"')
    assert admin.get(f"{p}/statistics.git")["number_of_pack_files"] >= 1
    assert raw(team, team.alice, "POST", f"{p}/gc", {}).status_code == 403
    assert admin.get(f"{p}/branches/main")["revision"]  # the repository still serves

    status, reason = refused(lambda: admin.put(f"{p}/ban", json={"commits": ["a" * 40]}))
    assert status == 409 and "banned" in reason
    assert refused(lambda: alice.put(f"{p}/ban", json={"commits": []}))[0] == 403

    block_read(team, eve, "refs/heads/secret")
    check = f"{p}/check.access?account="
    assert admin.get(f"{check}{team.alice.username}&ref=refs/heads/main") == {"status": 200}
    assert admin.get(f"{check}{team.alice.username}") == {"status": 200}
    hidden = admin.get(f"{check}{eve.username}&ref=refs/heads/secret")
    assert hidden["status"] == 403 and "cannot see ref refs/heads/secret" in hidden["message"]
    forced = admin.get(f"{check}{team.alice.username}&ref=refs/heads/main&perm=push%2Bforce")
    assert forced["status"] == 403 and "push+force" in forced["message"]
    assert refused(lambda: admin.get(f"{p}/check.access"))[0] == 400
    assert refused(lambda: admin.get(f"{check}{team.alice.username}&perm=read"))[0] == 400
    assert refused(lambda: admin.get(f"{check}{team.alice.username}&ref=main"))[0] == 400
    assert refused(lambda: admin.get(f"{check}nobody-{uuid.uuid4().hex}"))[0] == 400
    assert refused(lambda: alice.get(f"{check}{eve.username}"))[0] == 403

    block_read(team, eve, "refs/*")
    outside = admin.get(f"{check}{eve.username}")
    assert outside["status"] == 403 and "cannot see project" in outside["message"]
    them = team.api(eve)
    assert refused(lambda: them.get(f"{p}/statistics.git"))[0] == 404
    assert raw(team, eve, "POST", f"{p}/gc", {}).status_code == 404


def test_branch_files_mergeability_reflog_and_bulk_deletes(team: Team, eve: GitUser) -> None:
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}"
    first = admin.get(f"{p}/branches/main")["revision"]
    for name in ("stable", "other", "secret"):
        admin.put(f"{p}/branches/{name}", json={})
    merged = merge_on(team, "main", "merged.txt", "merged\n", "Add a merged file")
    merge_on(team, "other", "merged.txt", "different\n", "Add the file differently")
    merge_on(team, "secret", "plan.txt", "secret\n", "Write the plan")
    block_read(team, eve, "refs/heads/secret")
    them = team.api(eve)

    content = raw(team, team.bob, "GET", f"{p}/branches/main/files/merged.txt/content")
    assert content.status_code == 200
    assert base64.b64decode(content.text) == b"merged\n"
    assert content.headers["x-fyi-content-encoding"] == "base64"
    assert raw(team, team.bob, "GET", f"{p}/branches/main/files/nope.txt/content"
               ).status_code == 404
    assert raw(team, team.alice, "GET", f"{p}/branches/secret/files/plan.txt/content"
               ).status_code == 200
    assert raw(team, eve, "GET", f"{p}/branches/secret/files/plan.txt/content"
               ).status_code == 404
    assert raw(team, eve, "GET", f"{p}/branches/nope/files/plan.txt/content").status_code == 404

    ahead = alice.get(f"{p}/branches/stable/mergeable?source=main")
    assert ahead == {"submit_type": "MERGE_IF_NECESSARY", "strategy": "recursive",
                     "mergeable": True, "commit_merged": False, "content_merged": False}
    behind = alice.get(f"{p}/branches/main/mergeable?source=stable")
    assert behind["mergeable"] and behind["commit_merged"] and behind["content_merged"]
    clash = alice.get(f"{p}/branches/main/mergeable?source=other")
    assert clash["mergeable"] is False and clash["conflicts"] == ["merged.txt"]
    assert alice.get(f"{p}/branches/stable/mergeable?source={merged}")["mergeable"]
    open_change = team.upload("open.txt", "open\n", "Still under review")
    sha = team.change(open_change, "CURRENT_REVISION")["current_revision"]
    status, reason = refused(lambda: alice.get(f"{p}/branches/main/mergeable?source={sha}"))
    assert status == 404 and "not found" in reason
    assert refused(lambda: alice.get(f"{p}/branches/main/mergeable"))[0] == 400
    assert refused(lambda: alice.get(f"{p}/branches/main/mergeable?source=main&strategy=ours")
                   )[0] == 400
    for name in ("secret", "secret~0", "refs/heads/secret", "secret^{commit}"):
        status, reason = refused(lambda name=name: them.get(  # type: ignore[misc]
            f"{p}/branches/main/mergeable?source={quote(name, safe='')}"))
        assert status == 400 and "that you can read" in reason
    assert refused(lambda: them.get(f"{p}/branches/secret/mergeable?source=main"))[0] == 404

    log = admin.get(f"{p}/branches/main/reflog")
    assert (log[0]["old_id"], log[0]["new_id"]) == (first, merged)
    assert log[0]["who"]["name"] and "date" in log[0]["who"]
    assert admin.get(f"{p}/branches/main/reflog?n=1") == log[:1]
    assert admin.get(f"{p}/branches/main/reflog?to=20000101_0000") == []
    assert refused(lambda: admin.get(f"{p}/branches/main/reflog?from=yesterday"))[0] == 400
    assert refused(lambda: alice.get(f"{p}/branches/main/reflog"))[0] == 403
    assert refused(lambda: them.get(f"{p}/branches/secret/reflog"))[0] == 404

    for name in ("gone-1", "gone-2", "kept"):
        admin.put(f"{p}/branches/{name}", json={})
    assert raw(team, None, "POST", f"{p}/branches:delete",
               {"branches": ["gone-1", "refs/heads/gone-2"]}).status_code == 204
    assert refused(lambda: admin.get(f"{p}/branches/gone-1"))[0] == 404
    assert refused(lambda: admin.get(f"{p}/branches/gone-2"))[0] == 404
    denied = raw(team, team.alice, "POST", f"{p}/branches:delete", {"branches": ["kept"]})
    assert denied.status_code == 409 and "push+force" in denied.text
    assert admin.get(f"{p}/branches/kept")
    hidden = raw(team, eve, "POST", f"{p}/branches:delete", {"branches": ["secret"]})
    unknown = raw(team, eve, "POST", f"{p}/branches:delete", {"branches": ["nope"]})
    assert hidden.status_code == unknown.status_code == 409
    assert hidden.text.replace("secret", "X") == unknown.text.replace("nope", "X")
    head = raw(team, None, "POST", f"{p}/branches:delete", {"branches": ["main", "nope"]})
    assert head.status_code == 409 and "HEAD" in head.text and "nope" in head.text
    bodies: list[dict[str, Any]] = [{"branches": []}, {"branches": "kept"}, {}]
    for body in bodies:
        assert raw(team, None, "POST", f"{p}/branches:delete", body).status_code == 400

    for name in ("t1", "t2"):
        admin.put(f"{p}/tags/{name}", json={})
    assert raw(team, None, "POST", f"{p}/tags:delete", {"tags": ["t1", "refs/tags/t2"]}
               ).status_code == 204
    assert admin.get(f"{p}/tags/") == []
    assert raw(team, None, "POST", f"{p}/tags:delete", {"tags": ["t1"]}).status_code == 409
    assert raw(team, eve, "POST", f"/projects/{quote('no/such', safe='')}/tags:delete",
               {"tags": ["t1"]}).status_code == 404


def test_commits_are_shown_only_from_readable_branches_and_tags(team: Team,
                                                                eve: GitUser) -> None:
    admin, alice, bob = team.api(), team.api(team.alice), team.api(team.bob)
    p = f"/projects/{team.quoted}"
    admin.put(f"{p}/branches/stable", json={})
    admin.put(f"{p}/branches/secret", json={})
    first = admin.get(f"{p}/branches/main")["revision"]
    merged = merge_on(team, "main", "merged.txt", "merged\n", "Add a merged file")
    admin.put(f"{p}/tags/v1", json={"revision": merged})
    hidden = merge_on(team, "secret", "plan.txt", "secret\n", "Write the plan")
    block_read(team, eve, "refs/heads/secret")
    them = team.api(eve)

    info = bob.get(f"{p}/commits/{merged}")
    assert info["commit"] == merged and info["subject"] == "Add a merged file"
    assert info["parents"] == [{"commit": first, "subject": "Initial empty repository"}]
    assert info["author"]["email"] == f"{team.alice.username}@example.org"
    assert info["message"].startswith("Add a merged file\n") and "Change-Id:" in info["message"]
    assert bob.get(f"{p}/commits/{merged}/in") == {"branches": ["main"], "tags": ["v1"]}
    files = bob.get(f"{p}/commits/{merged}/files/")
    assert set(files) == {"/COMMIT_MSG", "merged.txt"}
    assert files["merged.txt"]["status"] == "A" and files["merged.txt"]["lines_inserted"] == 1
    content = raw(team, team.bob, "GET", f"{p}/commits/{merged}/files/merged.txt/content")
    assert base64.b64decode(content.text) == b"merged\n"
    assert raw(team, team.bob, "GET", f"{p}/commits/{merged}/files/nope/content"
               ).status_code == 404
    assert refused(lambda: bob.get(f"{p}/commits/{merged}/files/?parent=2"))[0] == 400
    found = bob.get(f"{p}/commits:in?commit={merged}&commit={first}&ref=refs/heads/main"
                    f"&ref=refs/heads/stable&ref=refs/tags/v1")
    assert found == {merged: ["refs/heads/main", "refs/tags/v1"],
                     first: ["refs/heads/main", "refs/heads/stable", "refs/tags/v1"]}
    assert refused(lambda: bob.get(f"{p}/commits:in?commit={merged}"))[0] == 400

    # Only the secret branch holds this commit: Eve learns nothing of it.
    assert alice.get(f"{p}/commits/{hidden}")["subject"] == "Write the plan"
    for path in ("", "/in", "/files/", "/files/plan.txt/content"):
        assert raw(team, eve, "GET", f"{p}/commits/{hidden}{path}").status_code == 404
    assert them.get(f"{p}/commits:in?commit={hidden}&ref=refs/heads/secret") == {}
    assert them.get(f"{p}/commits/{first}/in") == {"branches": ["main", "stable"],
                                                 "tags": ["v1"]}

    # A commit only a change holds (private or not) is no project commit.
    private = team.upload("private.txt", "private\n", "Private work")
    alice.post(f"/changes/{private}/private", json={})
    sha = team.change(private, "CURRENT_REVISION")["current_revision"]
    for who in (team.bob, team.alice, None):
        assert raw(team, who, "GET", f"{p}/commits/{sha}").status_code == 404
    assert bob.get(f"{p}/commits:in?commit={sha}&ref=refs/heads/main") == {}
    for name in ("main", merged[:12], "z" * 40, quote("../HEAD", safe="")):
        assert raw(team, team.bob, "GET", f"{p}/commits/{name}").status_code == 404

    picked = bob.post(f"{p}/commits/{merged}/cherrypick", json={"destination": "stable"})
    assert (picked["branch"], picked["status"], picked["subject"]) == (
        "stable", "NEW", "Add a merged file")
    assert picked["owner"]["_account_id"] == bob.get("/accounts/self")["_account_id"]
    renamed = bob.post(f"{p}/commits/{merged}/cherrypick",
                       json={"destination": "refs/heads/secret", "message": "Copy it over"})
    assert renamed["subject"] == "Copy it over" and renamed["branch"] == "secret"
    assert refused(lambda: bob.post(f"{p}/commits/{merged}/cherrypick",
                                    json={"destination": "nope"}))[0] == 404
    assert refused(lambda: bob.post(f"{p}/commits/{merged}/cherrypick", json={}))[0] == 400
    assert refused(lambda: them.post(f"{p}/commits/{hidden}/cherrypick",
                                     json={"destination": "main"}))[0] == 404
    assert refused(lambda: them.post(f"{p}/commits/{merged}/cherrypick",
                                     json={"destination": "secret"}))[0] == 404


def test_changes_made_from_the_project_and_settings_proposed_for_review(
        team: Team, eve: GitUser) -> None:
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}"

    made = raw(team, team.alice, "POST", f"{p}/create.change",
               {"branch": "main", "subject": "Plan the next step", "topic": "plans"})
    assert made.status_code == 201, made.text
    change = gerrit_json(made)
    assert (change["project"], change["branch"], change["subject"], change["topic"]) == (
        team.project, "main", "Plan the next step", "plans")
    status, reason = refused(lambda: alice.post(f"{p}/create.change", json={
        "project": "someone/else", "branch": "main", "subject": "x"}))
    assert status == 400 and reason == "project must match URL"
    assert refused(lambda: alice.post(f"{p}/create.change", json={"branch": "main"}))[0] == 400
    assert refused(lambda: alice.post(f"{p}/create.change", json={"subject": "x"}))[0] == 400

    proposed = alice.put(f"{p}/config:review", json={"description": "Proposed text",
                                                     "submit_type": "REBASE_IF_NECESSARY"})
    assert proposed["project"] == "config" and proposed["status"] == "NEW"
    assert proposed["owner"]["_account_id"] == alice.get("/accounts/self")["_account_id"]
    assert alice.get(f"{p}/description") == ""  # nothing changes before review
    assert refused(lambda: alice.put(f"{p}/config:review", json={}))[0] == 400
    assert refused(lambda: alice.put(f"{p}/config:review",
                                     json={"submit_type": "SOMETIMES"}))[0] == 400

    rules = {"refs/heads/*": {"permissions": {"label-Code-Review": {"rules": {
        f"{team.project}-core": {"action": "ALLOW", "min": -2, "max": 2}}}}}}
    access = alice.put(f"{p}/access:review", json={"add": {"refs/tags/*": {"permissions": {
        "create": {"rules": {f"{team.project}-core": {"action": "ALLOW"}}}}}}})
    assert access["project"] == "config" and access["status"] == "NEW"
    status, reason = refused(lambda: alice.put(f"{p}/access:review", json={"add": {
        "refs/*": {"permissions": {"read": {"rules": {"no-such-group": {}}}}}}}))
    assert status == 400 and "no-such-group" in reason
    assert refused(lambda: alice.put(f"{p}/access:review", json={}))[0] == 400
    assert refused(lambda: alice.put(f"{p}/access:review", json={
        "add": rules, "parent": "org/base"}))[0] == 409

    assert admin.post(f"{p}/check", json={}) == {}
    checked = admin.post(f"{p}/check", json={"auto_closeable_changes_check": {
        "branch": "main", "fix": True}})
    assert checked == {"auto_closeable_changes_check_result": {}}
    assert refused(lambda: admin.post(f"{p}/check", json={
        "auto_closeable_changes_check": {}}))[0] == 400
    assert refused(lambda: admin.post(f"{p}/check", json={
        "auto_closeable_changes_check": {"branch": "main", "max_commits": 10**6}}))[0] == 400
    assert refused(lambda: alice.post(f"{p}/check", json={}))[0] == 403

    suggested = alice.get(f"{p}/branches/main/suggest_reviewers?q={team.bob.username}")
    assert [s["account"]["username"] for s in suggested] == [team.bob.username]
    block_read(team, eve, "refs/heads/secret")
    admin.put(f"{p}/branches/secret", json={})
    assert alice.get(f"{p}/branches/secret/suggest_reviewers?q={eve.username}") == []
    assert alice.get(f"{p}/branches/main/suggest_reviewers?q={eve.username}") != []
    assert refused(lambda: team.api(eve).get(
        f"{p}/branches/secret/suggest_reviewers?q=a"))[0] == 404

    on_secret = refused(lambda: team.api(eve).post(f"{p}/create.change", json={
        "branch": "secret", "subject": "Peek"}))
    on_nothing = refused(lambda: team.api(eve).post(f"{p}/create.change", json={
        "branch": "nope", "subject": "Peek"}))
    assert on_secret[0] == on_nothing[0] == 400
    assert on_secret[1].replace("secret", "X") == on_nothing[1].replace("nope", "X")

    block_read(team, eve, "refs/*")
    them = team.api(eve)
    assert refused(lambda: them.post(f"{p}/create.change",
                                     json={"branch": "main", "subject": "x"}))[0] == 404
    assert refused(lambda: them.put(f"{p}/config:review",
                                    json={"description": "x"}))[0] == 404
    assert refused(lambda: them.put(f"{p}/access:review", json={"add": rules}))[0] == 404
