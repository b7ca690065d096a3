"""A change read over REST without a clone, as pygerrit2 scripts and review tools read it:
a file's content (base64) and its diff (Gerrit's DiffInfo chunks), the change's messages,
and Gerrit's 400 for a query option it does not know. Who may not see the change gets 404."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import GitUser, Server

OLD = "".join(f"line {i}\n" for i in range(1, 31))
NEW = OLD.replace("line 15\n", "line fifteen\n")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    team = Team.start(server, make_user, project_name, tmp_path)
    admin = GitUser(tmp_path / "admin-home", server, server.admin, server.admin_password)
    repo = admin.clone(project_name, tmp_path / "admin-work", hook=False)
    (repo / "lines.txt").write_text(OLD)
    (repo / "gone.txt").write_text("to be removed\n")
    admin.git("add", "lines.txt", "gone.txt", cwd=repo)
    admin.git("commit", "-q", "-m", "Add the lines", cwd=repo)
    pushed = admin.push(repo, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr
    return team


def upload_edit(team: Team) -> int:
    """Alice's change: one line of lines.txt edited, a text and a binary file added, one
    file removed."""
    team.git("fetch", "-q", "origin")
    team.git("checkout", "-q", "--detach", "origin/main")
    (team.repo / "lines.txt").write_text(NEW)
    (team.repo / "notes.md").write_text("# Notes\n\nfirst\n")
    (team.repo / "logo.png").write_bytes(PNG)
    team.git("rm", "-q", "gone.txt")
    team.git("add", "lines.txt", "notes.md", "logo.png")
    team.git("commit", "-q", "-m", "Spell out fifteen")
    return team.push()[0]


def test_diffs_come_in_gerrits_chunks_with_context(team: Team) -> None:
    n = upload_edit(team)
    alice = team.api(team.alice)
    base = f"/changes/{n}/revisions/current/files"

    diff = alice.get(f"{base}/lines.txt/diff")
    assert diff["change_type"] == "MODIFIED"
    assert diff["meta_a"] == {"name": "lines.txt", "content_type": "text/plain", "lines": 30}
    assert diff["meta_b"]["lines"] == 30
    assert diff["content"] == [
        {"skip": 4}, {"ab": [f"line {i}" for i in range(5, 15)]},
        {"a": ["line 15"], "b": ["line fifteen"]},
        {"ab": [f"line {i}" for i in range(16, 26)]}, {"skip": 5}]
    assert diff["diff_header"][0] == "diff --git a/lines.txt b/lines.txt"

    whole = alice.get(f"{base}/lines.txt/diff?context=ALL")["content"]
    assert [len(c.get("ab", [])) for c in whole] == [14, 0, 15]
    assert alice.get(f"{base}/lines.txt/diff?context=1")["content"][1] == {"ab": ["line 14"]}

    added = alice.get(f"{base}/notes.md/diff")
    assert added["change_type"] == "ADDED" and "meta_a" not in added
    assert added["content"] == [{"b": ["# Notes", "", "first"]}]
    removed = alice.get(f"{base}/gone.txt/diff")
    assert removed["change_type"] == "DELETED" and "meta_b" not in removed
    assert removed["content"] == [{"a": ["to be removed"]}]
    binary = alice.get(f"{base}/logo.png/diff")
    assert binary["binary"] is True and binary["content"] == []

    message = alice.get(f"{base}/%2FCOMMIT_MSG/diff")
    assert message["meta_b"]["content_type"] == "text/x-gerrit-commit-message"
    assert "Spell out fifteen" in message["content"][0]["b"]


def test_contents_are_base64_of_the_revisions_bytes(team: Team) -> None:
    n = upload_edit(team)
    alice = team.api(team.alice)
    base = f"/changes/{n}/revisions/current/files"

    response = alice.get(f"{base}/lines.txt/content", return_response=True)[1]
    assert base64.b64decode(response.text) == NEW.encode()
    assert response.headers["X-FYI-Content-Encoding"] == "base64"
    picture = alice.get(f"{base}/logo.png/content", return_response=True)[1]
    assert base64.b64decode(picture.text) == PNG
    assert picture.headers["X-FYI-Content-Type"] == "image/png"
    message = base64.b64decode(alice.get(f"{base}/%2FCOMMIT_MSG/content",
                                         return_response=True)[1].text).decode()
    assert message.startswith("Parent:     ") and "\nAuthor:     alice" in message
    assert "Spell out fifteen" in message

    assert refused(lambda: alice.get(f"{base}/missing.txt/content"))[0] == 404
    assert refused(lambda: alice.get(f"{base}/missing.txt/diff"))[0] == 404
    status, reason = refused(lambda: alice.get(f"{base}/lines.txt/diff?context=lots"))
    assert (status, reason) == (400, 'context=lots must be a whole number of lines or "ALL"')


def test_a_private_change_hides_its_files_and_messages(team: Team) -> None:
    n = upload_edit(team)
    team.api(team.alice).post(f"/changes/{n}/private", json={})
    bob = team.api(team.bob)
    for path in (f"/changes/{n}/revisions/current/files/lines.txt/content",
                 f"/changes/{n}/revisions/current/files/lines.txt/diff",
                 f"/changes/{n}/messages"):
        assert refused(lambda path=path: bob.get(path))[0] == 404, path


def test_messages_are_listed_and_read_one_by_one(team: Team) -> None:
    n = upload_edit(team)
    team.review(team.carol, n, {"Code-Review": 1}, message="Nice and small.")
    alice = team.api(team.alice)
    messages = alice.get(f"/changes/{n}/messages")
    assert [m["_revision_number"] for m in messages] == [1, 1]
    assert messages[-1]["message"].endswith("Nice and small.")
    assert messages[-1]["author"]["username"] == team.carol.username
    assert alice.get(f"/changes/{n}/messages/{messages[-1]['id']}") == messages[-1]
    assert refused(lambda: alice.get(f"/changes/{n}/messages/nope"))[0] == 404


def test_an_unknown_query_option_is_refused_as_gerrit_does(team: Team) -> None:
    n = upload_edit(team)
    alice = team.api(team.alice)
    status, reason = refused(lambda: alice.get(f"/changes/{n}?o=BOGUS"))
    assert (status, reason) == (400, '"BOGUS" is not a valid value for "-o"')
    assert refused(lambda: alice.get("/changes/?q=status:open&o=CURRENT_REVISION&o=NOPE"))[
        0] == 400
    assert alice.get(f"/changes/{n}?o=current_revision&o=WEB_LINKS")["current_revision"]


def test_robot_comments_from_ci_are_kept_as_comments(team: Team) -> None:
    n = upload_edit(team)
    team.review(team.ci, n, {"Verified": -1}, message="Build failed.",
                tag="autogenerated:zuul:check",
                robot_comments={"lines.txt": [{
                    "line": 15, "message": "pep8: E501 line too long",
                    "robot_id": "zuul", "robot_run_id": "build-1",
                    "url": "https://ci.example.org/build/1"}]})
    alice = team.api(team.alice)
    (comment,) = alice.get(f"/changes/{n}/comments")["lines.txt"]
    assert comment["line"] == 15
    assert comment["message"] == ("pep8: E501 line too long\n\n"
                                  "https://ci.example.org/build/1")
    assert comment["author"]["username"] == team.ci.username
    assert alice.get(f"/changes/{n}/robotcomments") == {}
    assert alice.get(f"/changes/{n}/revisions/current/robotcomments") == {}
    status, reason = refused(lambda: team.review(team.ci, n, robot_comments={
        "lines.txt": [{"line": 1, "message": "no robot"}]}))
    assert status == 400 and "robot_id" in reason
    status, _ = refused(lambda: team.review(team.ci, n, robot_comments={
        "nope.txt": [{"line": 1, "message": "x", "robot_id": "zuul"}]}))
    assert status == 400
