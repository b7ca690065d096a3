"""New patch sets made on the server over REST: a provided fix applied into the owner's
change edit, a merge of another branch as a change's next patch set, and a unified diff
applied as one. Hidden changes and unreadable sources stay hidden, strangers without Add
Patch Set are refused, closed changes cannot grow. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    team = Team.start(server, make_user, project_name, tmp_path)
    team.configure("MERGE_IF_NECESSARY", 1)
    return team


def _tip(team: Team, branch: str) -> str:
    return team.api().get(f"/projects/{team.quoted}/branches/{branch}")["revision"]  # type: ignore[no-any-return]


def _current(team: Team, n: int) -> dict[str, Any]:
    info = team.change(n, "CURRENT_REVISION", "CURRENT_COMMIT")
    revision = info["revisions"][info["current_revision"]]
    return {"number": revision["_number"], "sha": info["current_revision"],
            "parents": [p["commit"] for p in revision["commit"]["parents"]],
            "message": revision["commit"]["message"], "change_id": info["change_id"],
            "author": revision["commit"]["author"]}


def _files(team: Team, n: int, parent: int | None = None) -> set[str]:
    query = f"?parent={parent}" if parent else ""
    files = team.api(team.alice).get(f"/changes/{n}/revisions/current/files{query}")
    return set(files) - {"/COMMIT_MSG", "/MERGELIST"}


def _block(team: Team, ref: str, permission: str) -> None:
    team.api().post(f"/projects/{team.quoted}/access", json={"add": {ref: {
        "permissions": {permission: {"rules": {"Registered Users": {"action": "BLOCK"}}}}}}})


def _fix(path: str, line: int, start: int, end: int, text: str) -> dict[str, Any]:
    return {"fix_replacement_infos": [{"path": path, "replacement": text, "range": {
        "start_line": line, "start_character": start, "end_line": line,
        "end_character": end}}]}


def _edit_file(team: Team, n: int, path: str) -> bytes:
    return base64.b64decode(team.api(team.alice).get(f"/changes/{n}/edit/{path}"))


def test_a_provided_fix_lands_in_the_owners_change_edit(team: Team) -> None:
    n = team.upload("hello.txt", "hello\nthere\nmy\nwrold\n", "Say hello")
    alice, bob = team.api(team.alice), team.api(team.bob)
    ps1 = _current(team, n)

    edit = alice.post(f"/changes/{n}/revisions/current/fix:apply",
                      json=_fix("hello.txt", 4, 0, 5, "world"))
    assert edit["base_patch_set_number"] == 1 and edit["base_revision"] == ps1["sha"]
    assert edit["ref"].endswith(f"/edit-{n}/1")
    assert edit["commit"]["parents"][0]["commit"] == ps1["parents"][0]
    assert _edit_file(team, n, "hello.txt") == b"hello\nthere\nmy\nworld\n"
    # A second fix is merged into the same edit, keeping the first; one that rewrites
    # what the edit changed conflicts.
    alice.post(f"/changes/{n}/revisions/1/fix:apply", json=_fix("hello.txt", 1, 0, 5, "Hello"))
    assert _edit_file(team, n, "hello.txt") == b"Hello\nthere\nmy\nworld\n"
    status, reason = refused(lambda: alice.post(f"/changes/{n}/revisions/1/fix:apply",
                                                json=_fix("hello.txt", 4, 0, 5, "WORLD")))
    assert status == 409 and "hello.txt" in reason

    # Bad ranges and unknown files are refused in one sentence, the edit unchanged.
    status, reason = refused(lambda: alice.post(f"/changes/{n}/revisions/1/fix:apply",
                                                json=_fix("hello.txt", 9, 0, 1, "x")))
    assert status == 400 and "outside the file" in reason
    assert refused(lambda: alice.post(f"/changes/{n}/revisions/1/fix:apply",
                                      json=_fix("nope.txt", 1, 0, 1, "x")))[0] == 404
    assert refused(lambda: alice.post(f"/changes/{n}/revisions/1/fix:apply",
                                      json={"fix_replacement_infos": "x"}))[0] == 400
    assert _edit_file(team, n, "hello.txt") == b"Hello\nthere\nmy\nworld\n"

    # Only the owner has an edit.
    status, reason = refused(lambda: bob.post(f"/changes/{n}/revisions/1/fix:apply",
                                              json=_fix("hello.txt", 1, 0, 5, "HELLO")))
    assert status == 403 and "owner" in reason

    # The edit is on patch set 1: a fix for patch set 2 does not mix with it.
    team.amend("hello.txt", "hello\nwrold\nagain\n")
    status, reason = refused(lambda: alice.post(f"/changes/{n}/revisions/2/fix:apply",
                                                json=_fix("hello.txt", 3, 0, 5, "AGAIN")))
    assert status == 409 and "patch set 1" in reason
    alice.delete(f"/changes/{n}/edit")
    alice.post(f"/changes/{n}/revisions/2/fix:apply", json=_fix("hello.txt", 2, 0, 5, "world"))
    alice.post(f"/changes/{n}/edit:publish", json={})
    assert _current(team, n)["number"] == 3
    assert base64.b64decode(alice.get(
        f"/changes/{n}/revisions/current/files/hello.txt/content")) == b"hello\nworld\nagain\n"

    alice.post(f"/changes/{n}/private", json={})
    assert refused(lambda: bob.post(f"/changes/{n}/revisions/3/fix:apply",
                                    json=_fix("hello.txt", 1, 0, 5, "HELLO")))[0] == 404
    alice.post(f"/changes/{n}/abandon", json={})
    assert refused(lambda: alice.post(f"/changes/{n}/revisions/3/fix:apply",
                                      json=_fix("hello.txt", 1, 0, 5, "HELLO")))[0] == 409


def _land_on(team: Team, branch: str, path: str, content: str, subject: str) -> None:
    """A change on ``branch`` adding ``path``, approved and submitted."""
    team.git("fetch", "-q", "origin")
    team.git("checkout", "-q", "--detach", f"origin/{branch}")
    team.alice.commit(team.repo, path, content, subject)
    pushed = team.alice.push(team.repo, f"HEAD:refs/for/{branch}")
    assert pushed.returncode == 0, pushed.stderr
    number = int(re.findall(r"/\+/(\d+) ", pushed.stderr)[0])
    team.approve(number)
    assert team.submit(number)["status"] == "MERGED"


def test_a_merge_of_another_branch_becomes_the_next_patch_set(team: Team) -> None:
    admin, alice, bob = team.api(), team.api(team.alice), team.api(team.bob)
    start = _tip(team, "main")
    admin.put(f"/projects/{team.quoted}/branches/feature", json={"revision": start})
    _land_on(team, "feature", "f.txt", "feature\n", "Add the feature")
    feature = _tip(team, "feature")
    n = team.upload("rework.txt", "rework\n", "Rework the file")
    before = _current(team, n)

    info = alice.post(f"/changes/{n}/merge", json={"subject": "Merge feature",
                                                   "merge": {"source": "feature"}})
    assert info["_number"] == n and info["current_revision"] != before["sha"]
    ps2 = _current(team, n)
    assert ps2["number"] == 2 and ps2["parents"] == [start, feature]
    assert ps2["message"].startswith("Merge feature\n")
    assert f"Change-Id: {before['change_id']}" in ps2["message"]
    assert _files(team, n, parent=1) == {"f.txt"}
    created = [e for e in team.events() if e["type"] == "patchset-created"
               and e["change"]["number"] == n]
    assert [e["patchSet"]["number"] for e in created] == [1, 2]

    # Main moves on with a file the feature also has: merging onto the tip conflicts,
    # merging onto the patch set's own parent does not.
    _land_on(team, "main", "f.txt", "main's own\n", "Add f on main")
    status, reason = refused(lambda: alice.post(f"/changes/{n}/merge",
                                                json={"merge": {"source": "feature"}}))
    assert status == 409 and "f.txt" in reason
    alice.post(f"/changes/{n}/merge", json={"merge": {"source": feature},
                                            "inherit_parent": True})
    ps3 = _current(team, n)
    assert ps3["number"] == 3 and ps3["parents"] == [start, feature]
    assert ps3["message"] == ps2["message"]  # no subject: the previous message carries over

    # A source the caller cannot read is as unknown as one that does not exist; a commit
    # counts only when a readable branch or tag holds it.
    admin.put(f"/projects/{team.quoted}/branches/secret", json={"revision": feature})
    _block(team, "refs/heads/secret", "read")
    unknown = refused(lambda: alice.post(f"/changes/{n}/merge",
                                         json={"merge": {"source": "nosuch"}}))
    hidden = refused(lambda: alice.post(f"/changes/{n}/merge",
                                        json={"merge": {"source": "secret"}}))
    assert unknown[0] == hidden[0] == 400
    assert hidden[1] == unknown[1].replace("nosuch", "secret")
    other = team.upload("other.txt", "other\n", "Another change")
    unmerged = _current(team, other)["sha"]
    assert refused(lambda: alice.post(f"/changes/{n}/merge",
                                      json={"merge": {"source": unmerged}}))[0] == 400
    assert refused(lambda: alice.post(f"/changes/{n}/merge", json={}))[0] == 400
    assert refused(lambda: alice.post(f"/changes/{n}/merge", json={
        "merge": {"source": "feature"}, "base_change": "99999"}))[0] == 400
    assert requests.post(f"{team.server.url.rstrip('/')}/changes/{n}/merge",
                         json={"merge": {"source": "feature"}}).status_code == 401
    assert refused(lambda: alice.post(f"/changes/{n}/merge", json={
        "merge": {"source": "feature", "strategy": "octopus"}}))[0] == 400
    assert _current(team, n)["number"] == 3

    # Strangers need Add Patch Set; the owner always has it.
    _block(team, "refs/for/*", "addPatchSet")
    status, reason = refused(lambda: bob.post(f"/changes/{n}/merge",
                                              json={"merge": {"source": "feature"}}))
    assert status == 403 and "addPatchSet" in reason
    alice.post(f"/changes/{n}/private", json={})
    assert refused(lambda: bob.post(f"/changes/{n}/merge",
                                    json={"merge": {"source": "feature"}}))[0] == 404
    alice.post(f"/changes/{n}/abandon", json={})
    assert refused(lambda: alice.post(f"/changes/{n}/merge",
                                      json={"merge": {"source": "feature"}}))[0] == 409
    assert _current(team, n)["number"] == 3


CHANGE = """diff --git a/notes.txt b/notes.txt
--- a/notes.txt
+++ b/notes.txt
@@ -1,2 +1,2 @@
-first note
+1st note
 second note
"""
PATCH = """diff --git a/notes.txt b/notes.txt
new file mode 100644
--- /dev/null
+++ b/notes.txt
@@ -0,0 +1,2 @@
+first note
+second note
"""


def test_a_patch_applied_on_the_server_becomes_the_next_patch_set(team: Team) -> None:
    alice, bob = team.api(team.alice), team.api(team.bob)
    n = team.upload("rework.txt", "rework\n", "Rework the file")
    before = _current(team, n)

    info = alice.post(f"/changes/{n}/patch:apply", json={"patch": {"patch": PATCH}})
    assert info["_number"] == n
    ps2 = _current(team, n)
    assert ps2["number"] == 2 and ps2["parents"] == before["parents"]
    assert ps2["message"] == before["message"]
    assert _files(team, n) == {"notes.txt"}
    assert alice.get(f"/changes/{n}/revisions/current/files/notes.txt/content") == \
        base64.b64encode(b"first note\nsecond note\n").decode()

    _land_on(team, "main", "main.txt", "main\n", "Add main.txt")
    base = _tip(team, "main")
    alice.post(f"/changes/{n}/patch:apply", json={
        "patch": {"patch": PATCH.replace("first", "1st")}, "commit_message": "Keep notes",
        "base": base})
    ps3 = _current(team, n)
    assert ps3["number"] == 3 and ps3["parents"] == [base]
    assert ps3["message"] == f"Keep notes\n\nChange-Id: {before['change_id']}\n"
    assert _files(team, n) == {"notes.txt"}

    # What does not apply is refused with git's reason, and nothing changes.
    status, reason = refused(lambda: alice.post(f"/changes/{n}/patch:apply",
                                                json={"patch": {"patch": CHANGE}}))
    assert status == 409 and "notes.txt" in reason
    status, reason = refused(lambda: alice.post(f"/changes/{n}/patch:apply",
                                                json={"patch": {"patch": "not a patch"}}))
    assert status == 400 and "\n" not in reason
    bad_inputs: list[dict[str, Any]] = [
        {}, {"patch": "x"}, {"patch": {"patch": PATCH, "allow_conflicts": "yes"}},
        {"patch": {"patch": PATCH}, "base": "nosuch"},
        {"patch": {"patch": PATCH}, "commit_message": "x\n\nChange-Id: I" + "0" * 40},
        {"patch": {"patch": PATCH}, "author": {"name": "x"}},
        {"patch": {"patch": PATCH.replace("notes.txt", ".git/config")}},
        {"patch": {"patch": PATCH.replace("notes.txt", "../outside")}}]
    for bad in bad_inputs:
        status, reason = refused(lambda bad=bad: alice.post(  # type: ignore[misc]
            f"/changes/{n}/patch:apply", json=bad))
        assert status == 400, (bad, reason)
    other = team.upload("other.txt", "other\n", "Another change")
    status, _ = refused(lambda: alice.post(f"/changes/{n}/patch:apply", json={
        "patch": {"patch": PATCH}, "base": _current(team, other)["sha"]}))
    assert status == 400  # a base must be merged into the branch
    status, reason = refused(lambda: alice.post(f"/changes/{n}/patch:apply", json={
        "patch": {"patch": PATCH},
        "author": {"name": "Someone Else", "email": "else@example.com"}}))
    assert status == 403 and "forgeAuthor" in reason
    assert _current(team, n)["number"] == 3

    _block(team, "refs/for/*", "addPatchSet")
    assert refused(lambda: bob.post(f"/changes/{n}/patch:apply",
                                    json={"patch": {"patch": PATCH}}))[0] == 403
    alice.post(f"/changes/{n}/private", json={})
    assert refused(lambda: bob.post(f"/changes/{n}/patch:apply",
                                    json={"patch": {"patch": PATCH}}))[0] == 404
    alice.post(f"/changes/{n}/abandon", json={})
    assert refused(lambda: alice.post(f"/changes/{n}/patch:apply",
                                      json={"patch": {"patch": PATCH}}))[0] == 409
    assert _current(team, n)["number"] == 3
