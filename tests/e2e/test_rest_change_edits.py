"""Change edits over REST as Gerrit's web editor makes them: files changed, added, renamed,
restored and deleted on the server, the message and author reworded, the edit rebased and
published as a patch set that CI and the event log see like any upload. Only the owner has
an edit; nobody else sees it. On SQLite and on PostgreSQL."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def _status(api: Any, method: str, path: str, **kwargs: Any) -> int:
    """The status of a call whatever it is (pygerrit2 raises on 4xx)."""
    response = api.session.request(method, api.make_url(path), auth=api.auth, **kwargs)
    return int(response.status_code)


def _put_text(api: Any, n: int, path: str, text: str) -> None:
    api.put(f"/changes/{n}/edit/{quote(path, safe='')}", data=text.encode(),
            headers={"Content-Type": "text/plain"})


def _content(api: Any, n: int, path: str, query: str = "") -> bytes:
    text = api.get(f"/changes/{n}/edit/{quote(path, safe='')}{query}")
    return base64.b64decode(text)


def _files_at(team: Team, n: int) -> dict[str, Any]:
    return team.api(team.alice).get(f"/changes/{n}/revisions/current/files")  # type: ignore[no-any-return]


def test_the_owner_edits_files_on_the_server_and_publishes_a_patch_set(team: Team) -> None:
    n = team.upload("hello.txt", "hello\n", "Say hello")
    alice = team.api(team.alice)
    assert _status(alice, "GET", f"/changes/{n}/edit") == 204

    _put_text(alice, n, "hello.txt", "hello, world\n")
    alice.put(f"/changes/{n}/edit/{quote('docs/new.md', safe='')}", json="# New\n")
    picture = bytes(range(256))
    alice.put(f"/changes/{n}/edit/logo.bin", json={
        "binary_content": "data:application/octet-stream;base64,"
                          + base64.b64encode(picture).decode()})
    alice.put(f"/changes/{n}/edit/run.sh", json={
        "binary_content": "data:text/plain;base64," + base64.b64encode(b"echo hi\n").decode(),
        "file_mode": 100755})

    edit = alice.get(f"/changes/{n}/edit?list")
    assert (edit["base_patch_set_number"], edit["ref"].startswith("refs/users/")) == (1, True)
    assert edit["commit"]["subject"] == "Say hello"
    assert sorted(edit["files"]) == ["/COMMIT_MSG", "docs/new.md", "hello.txt", "logo.bin",
                                     "run.sh"]
    assert edit["files"]["docs/new.md"]["status"] == "A"
    assert _content(alice, n, "hello.txt") == b"hello, world\n"
    assert _content(alice, n, "hello.txt", "?base") == b"hello\n"
    assert _content(alice, n, "logo.bin") == picture
    assert _status(alice, "GET", f"/changes/{n}/edit/missing.txt") == 204
    assert alice.get(f"/changes/{n}/edit/hello.txt/meta") == {}
    # Nothing is published yet: the change still has one patch set.
    assert team.change(n)["current_revision_number"] == 1

    alice.post(f"/changes/{n}/edit:publish", json={})
    change = team.change(n, "CURRENT_REVISION", "CURRENT_COMMIT", "MESSAGES")
    assert change["current_revision_number"] == 2
    assert change["messages"][-1]["message"] == "Patch Set 2: Published edit on patch set 1."
    files = _files_at(team, n)
    assert sorted(files) == ["/COMMIT_MSG", "docs/new.md", "hello.txt", "logo.bin", "run.sh"]
    content = alice.get(f"/changes/{n}/revisions/current/files/hello.txt/content")
    assert base64.b64decode(content) == b"hello, world\n"
    assert _status(alice, "GET", f"/changes/{n}/edit") == 204
    # A patch set from an edit is a patch set like any other: fetchable, and an event.
    team.git("fetch", "-q", "origin", f"refs/changes/{n % 100:02d}/{n}/2")
    assert team.git("ls-tree", "FETCH_HEAD", "run.sh").startswith("100755 ")
    created = [e for e in team.events() if e["type"] == "patchset-created"]
    assert [e["patchSet"]["number"] for e in created] == [1, 2]
    # The edit's ref is gone with it, and was never one a non-administrator could fetch.
    refs = team.git("ls-remote", "origin")
    assert "refs/users/" not in refs


def test_renames_restores_and_deletions_in_an_edit(team: Team) -> None:
    team.upload("a.txt", "a\n", "Add a")
    team.git("checkout", "-q", "HEAD")
    n = team.upload("b.txt", "b\n", "Add b", base="HEAD")
    alice = team.api(team.alice)

    alice.post(f"/changes/{n}/edit", json={})
    assert refused(lambda: alice.post(f"/changes/{n}/edit", json={}))[0] == 409
    alice.post(f"/changes/{n}/edit", json={"old_path": "b.txt", "new_path": "dir/c.txt"})
    assert _content(alice, n, "dir/c.txt") == b"b\n"
    assert _status(alice, "GET", f"/changes/{n}/edit/b.txt") == 204
    for body, status in [({"old_path": "gone.txt", "new_path": "x.txt"}, 404),
                         ({"old_path": "dir/c.txt", "new_path": "a.txt"}, 409),
                         ({"old_path": "dir/c.txt"}, 400),
                         ({"old_path": "dir/c.txt", "new_path": "../c.txt"}, 400)]:
        assert refused(lambda b=body: alice.post(f"/changes/{n}/edit", json=b))[0] == status

    alice.post(f"/changes/{n}/edit", json={"restore_path": "b.txt"})
    alice.delete(f"/changes/{n}/edit/a.txt")
    assert refused(lambda: alice.delete(f"/changes/{n}/edit/a.txt"))[0] == 404
    alice.post(f"/changes/{n}/edit", json={"restore_path": "dir/c.txt"})
    edit = alice.get(f"/changes/{n}/edit?list")
    assert sorted(edit["files"]) == ["/COMMIT_MSG", "a.txt", "b.txt"]
    assert edit["files"]["a.txt"]["status"] == "D"
    # Writing what is already there changes nothing, and says so.
    status, reason = refused(lambda: _put_text(alice, n, "b.txt", "b\n"))
    assert (status, reason) == (409, "no changes were made")

    alice.post(f"/changes/{n}/edit:publish", json={})
    files = _files_at(team, n)
    assert sorted(files) == ["/COMMIT_MSG", "a.txt", "b.txt"]
    assert files["a.txt"]["status"] == "D"


def test_message_and_identity_of_an_edit(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    change_id = team.change(n)["change_id"]

    alice.put(f"/changes/{n}/edit:message", json={"message": "Add the letter a"})
    assert alice.get(f"/changes/{n}/edit:message") \
        == f"Add the letter a\n\nChange-Id: {change_id}\n"
    assert alice.get(f"/changes/{n}/edit:message?base").startswith("Add a\n")
    _put_text(alice, n, "/COMMIT_MSG", f"Add an a\n\nChange-Id: {change_id}\n")
    assert _content(alice, n, "/COMMIT_MSG").startswith(b"Add an a\n")
    assert refused(lambda: alice.put(f"/changes/{n}/edit:message", json={
        "message": "Other\n\nChange-Id: I" + "1" * 40}))[0] == 400
    assert refused(lambda: alice.put(f"/changes/{n}/edit:message",
                                     json={"message": " "}))[0] == 400

    alice.put(f"/changes/{n}/edit:identity",
              json={"name": "Ada Author", "email": "ada@example.org", "type": "AUTHOR"})
    assert alice.get(f"/changes/{n}/edit")["commit"]["author"]["name"] == "Ada Author"
    for body, status in [({"name": "Mallory", "email": "m@example.org", "type": "COMMITTER"},
                          403),
                         ({"name": "A", "type": "SIDEKICK"}, 400),
                         ({"name": "A <b>", "type": "AUTHOR"}, 400),
                         ({"type": "AUTHOR"}, 400)]:
        assert refused(lambda b=body: alice.put(f"/changes/{n}/edit:identity",
                                                json=b))[0] == status, body

    alice.post(f"/changes/{n}/edit:publish", json={})
    change = team.change(n, "CURRENT_REVISION", "CURRENT_COMMIT")
    commit = change["revisions"][change["current_revision"]]["commit"]
    assert (change["subject"], commit["author"]["email"]) == ("Add an a", "ada@example.org")


def test_an_edit_on_an_old_patch_set_is_rebased_before_it_is_published(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    _put_text(alice, n, "notes.txt", "edited on the server\n")
    team.amend("a.txt", "a, amended\n")  # patch set 2, pushed with git

    status, reason = refused(lambda: alice.post(f"/changes/{n}/edit:publish", json={}))
    assert status == 409 and "rebase" in reason
    alice.post(f"/changes/{n}/edit:rebase", json={})
    assert alice.get(f"/changes/{n}/edit")["base_patch_set_number"] == 2
    assert refused(lambda: alice.post(f"/changes/{n}/edit:rebase", json={}))[0] == 409
    alice.post(f"/changes/{n}/edit:publish", json={})
    assert team.change(n)["current_revision_number"] == 3
    assert sorted(_files_at(team, n)) == ["/COMMIT_MSG", "a.txt", "notes.txt"]

    # An edit that conflicts with the new patch set cannot be rebased; it can be dropped.
    _put_text(alice, n, "a.txt", "a, edited\n")
    team.git("fetch", "-q", "origin", f"refs/changes/{n % 100:02d}/{n}/3")
    team.git("checkout", "-q", "FETCH_HEAD")
    team.amend("a.txt", "a, amended again\n")
    status, reason = refused(lambda: alice.post(f"/changes/{n}/edit:rebase", json={}))
    assert status == 409 and "a.txt" in reason
    alice.delete(f"/changes/{n}/edit")
    assert _status(alice, "GET", f"/changes/{n}/edit") == 204
    assert refused(lambda: alice.delete(f"/changes/{n}/edit"))[0] == 404
    assert refused(lambda: alice.post(f"/changes/{n}/edit:publish", json={}))[0] == 409


def test_only_the_owner_has_an_edit_and_nobody_else_sees_it(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice, bob = team.api(team.alice), team.api(team.bob)
    _put_text(alice, n, "a.txt", "secret draft\n")

    # Bob sees the change but not Alice's edit, and may not make one of his own.
    assert _status(bob, "GET", f"/changes/{n}/edit") == 204
    assert refused(lambda: bob.get(f"/changes/{n}/edit/a.txt"))[0] == 404
    assert refused(lambda: bob.get(f"/changes/{n}/edit/a.txt/meta"))[0] == 404
    assert refused(lambda: bob.delete(f"/changes/{n}/edit"))[0] == 404
    assert refused(lambda: _put_text(bob, n, "a.txt", "bob's\n"))[0] == 403
    assert refused(lambda: bob.post(f"/changes/{n}/edit", json={}))[0] == 403
    assert refused(lambda: bob.post(f"/changes/{n}/edit:publish", json={}))[0] == 403
    anonymous = team.server.client()
    assert anonymous.put(f"/changes/{n}/edit/a.txt", content=b"x",
                         headers={"Content-Type": "text/plain"}).status_code == 401
    assert anonymous.get(f"/changes/{n}/edit").status_code == 204
    assert _content(alice, n, "a.txt") == b"secret draft\n"

    # A private change does not exist for Bob, edit endpoints included.
    alice.post(f"/changes/{n}/private", json={})
    for method, path in [("GET", "edit"), ("GET", "edit/a.txt"), ("PUT", "edit/a.txt"),
                         ("POST", "edit:publish"), ("GET", "edit:message"),
                         ("DELETE", "edit")]:
        assert _status(bob, method, f"/changes/{n}/{path}", json={}) == 404, path


def test_bad_paths_big_files_and_closed_changes_are_refused(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    for path in ["../escape.txt", "dir/../../x", ".git/config", "sub/.GIT/hooks/x", "a//b",
                 "./a.txt", "tab\there"]:
        status, reason = refused(lambda p=path: _put_text(alice, n, p, "x\n"))
        assert status == 400 and "\n" not in reason, path
    assert _status(alice, "PUT", f"/changes/{n}/edit/%2Fetc%2Fpasswd", json="x") == 400
    for body in [{"binary_content": "not a data url"},
                 {"binary_content": "data:text/plain;base64,@@@"},
                 {"binary_content": "data:text/plain;base64,eA==", "file_mode": 100777},
                 {"content": "x"}, 42]:
        assert refused(lambda b=body: alice.put(f"/changes/{n}/edit/a.txt",
                                                json=b))[0] == 400, body
    _put_text(alice, n, "a.txt", "a\nb\n")
    assert refused(lambda: _put_text(alice, n, "a.txt/inner", "x\n"))[0] == 409

    # Larger than any request body the server reads: refused at the door.
    huge = b"x" * (10 * 1024 * 1024 + 1)
    assert _status(alice, "PUT", f"/changes/{n}/edit/huge.txt", data=huge,
                   headers={"Content-Type": "text/plain"}) == 413
    assert _content(alice, n, "a.txt") == b"a\nb\n"

    alice.post(f"/changes/{n}/abandon", json={})
    for method, path, body in [("PUT", "edit/a.txt", "c\n"), ("POST", "edit:publish", {}),
                               ("POST", "edit", {}), ("PUT", "edit:message",
                                                       {"message": "Closed"})]:
        assert _status(alice, method, f"/changes/{n}/{path}", json=body) == 409, path


def test_deleting_a_change_takes_its_edits_along(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    _put_text(alice, n, "a.txt", "edited\n")
    repo = team.server.site / "git" / f"{team.project}.git"

    def edit_refs() -> str:
        return subprocess.run(["git", "--git-dir", str(repo), "for-each-ref", "refs/users/"],
                              check=True, capture_output=True, text=True).stdout

    assert f"/edit-{n}/1" in edit_refs()
    team.api().delete(f"/changes/{n}")
    assert edit_refs() == ""
