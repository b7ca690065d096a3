"""Reviewing a change as its people see it: votes, copy rules, comments and everyday actions.

Alice uploads with plain git; Bob (a registered user), Carol and Dave (the project's core
reviewers) and a CI account review through pygerrit2, as a script or review tool would; the
administrator reads the event log. Each test has a project of its own on the module's
server, which runs once on SQLite and once on PostgreSQL. ``Team`` is shared with
``test_review_submit.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from pygerrit2 import GerritRestAPI, HTTPBasicAuth

from tests.support import GitUser, Server


def refused(call: Callable[[], object]) -> tuple[int, str]:
    """The status and plain-text reason of a call the server is expected to refuse."""
    with pytest.raises(requests.HTTPError) as failure:
        call()
    return failure.value.response.status_code, failure.value.response.text.strip()


@dataclass
class Team:
    server: Server
    project: str
    alice: GitUser  # uploads the changes
    bob: GitUser  # a registered user
    carol: GitUser  # core
    dave: GitUser  # core
    ci: GitUser  # in Service Users
    repo: Path  # Alice's clone

    @classmethod
    def start(cls, server: Server, make_user: Any, project: str, root: Path) -> Team:
        server.create_project(project)
        alice, bob, carol, dave = (make_user(server, n) for n in ("alice", "bob", "carol", "dave"))
        team = cls(server, project, alice, bob, carol, dave,
                   make_user(server, "ci", groups=["Service Users"]),
                   alice.clone(project, root / "alice-work"))
        team.make_core(carol)
        team.make_core(dave)
        return team

    @property
    def quoted(self) -> str:
        return quote(self.project, safe="")

    def api(self, who: GitUser | None = None) -> GerritRestAPI:
        """pygerrit2 as ``who``, or as the administrator."""
        user, password = ((who.username, who.password) if who
                          else (self.server.admin, self.server.admin_password))
        return GerritRestAPI(url=self.server.url, auth=HTTPBasicAuth(user, password))

    def make_core(self, who: GitUser) -> None:
        self.api().put(f"/groups/{quote(self.project + '-core', safe='')}/members/{who.username}")

    def configure(self, submit_type: str, required_approvals: int = 1) -> None:
        self.api().put(f"/projects/{self.quoted}/config", json={
            "submit_type": submit_type, "required_approvals": required_approvals})

    def git(self, *args: str) -> str:
        return self.alice.git(*args, cwd=self.repo).stdout.strip()

    def push(self) -> list[int]:
        """Push Alice's HEAD for review; the numbers of the changes it made or updated."""
        pushed = self.alice.push(self.repo)
        assert pushed.returncode == 0, pushed.stderr
        return [int(n) for n in re.findall(r"/\+/(\d+) ", pushed.stderr)]

    def upload(self, path: str, content: str, subject: str, base: str = "origin/main") -> int:
        self.git("fetch", "-q", "origin")
        self.git("checkout", "-q", "--detach", base)
        self.alice.commit(self.repo, path, content, subject)
        return self.push()[0]

    def amend(self, path: str | None = None, content: str | None = None,
              subject: str | None = None) -> None:
        """A new patch set of the change at Alice's HEAD, keeping its Change-Id."""
        if path is not None:
            (self.repo / path).write_text(content or "")
            self.git("add", path)
        message = self.git("log", "-1", "--format=%B")
        if subject is not None:
            message = subject + message[message.index("\n"):]
        self.git("commit", "-q", "--amend", "-m", message)
        self.push()

    def review(self, who: GitUser | None, number: int, labels: dict[str, int] | None = None,
               revision: str = "current", **extra: Any) -> Any:
        return self.api(who).post(f"/changes/{number}/revisions/{revision}/review",
                                  json={"labels": labels or {}, **extra})

    def approve(self, number: int) -> None:
        self.review(self.carol, number, {"Code-Review": 2, "Workflow": 1})

    def submit(self, number: int, who: GitUser | None = None) -> Any:
        return self.api(who or self.carol).post(f"/changes/{number}/submit", json={})

    def change(self, number: int, *options: str, who: GitUser | None = None) -> Any:
        query = "&".join(f"o={o}" for o in options)
        return self.api(who or self.alice).get(f"/changes/{number}?{query}")

    def votes(self, number: int) -> dict[tuple[str, str], int]:
        """The votes on the current patch set, by (label, voter)."""
        labels = self.change(number, "DETAILED_LABELS")["labels"]
        return {(label, vote["username"]): vote["value"]
                for label, info in labels.items() for vote in info["all"]}

    def events(self) -> list[dict[str, Any]]:
        """This project's events from the server's event log, oldest first."""
        items: list[dict[str, Any]] = []
        while page := self.api().get(f"/api/events?after={items[-1]['id'] if items else 0}"):
            items += page
        return [item["event"] for item in items
                if self.project in (item["event"].get("project"),
                                    item["event"].get("refUpdate", {}).get("project"))]


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def test_each_reviewer_votes_within_their_range(team: Team) -> None:
    n = team.upload("hello.txt", "hello\n", "Say hello")
    alice, bob, carol, ci = team.alice, team.bob, team.carol, team.ci

    # A registered user may say -1..+1, and hears exactly that when asking for more ...
    assert team.review(bob, n, {"Code-Review": -1})["labels"] == {"Code-Review": -1}
    status, reason = refused(lambda: team.review(bob, n, {"Code-Review": 2}))
    assert status == 403 and "Code-Review from -1 to +1, not +2" in reason
    # ... unless they let the server lower the vote to what they may give.
    clamped = team.review(bob, n, {"Code-Review": 2}, strict_labels=False,
                          message="Nice, but someone else must approve.")
    assert clamped["labels"] == {"Code-Review": 1}

    # Core reviewers approve; nobody else may touch Workflow but the owner, who may only hold.
    assert team.review(carol, n, {"Code-Review": 2, "Workflow": 1})["labels"] == {
        "Code-Review": 2, "Workflow": 1}
    assert refused(lambda: team.review(bob, n, {"Workflow": 1}))[0] == 403
    assert team.review(alice, n, {"Workflow": -1})["labels"] == {"Workflow": -1}
    status, reason = refused(lambda: team.review(alice, n, {"Workflow": 1}))
    assert status == 403 and "Workflow from -1 to 0, not +1" in reason

    # Verified belongs to CI.
    status, reason = refused(lambda: team.review(bob, n, {"Verified": 1}))
    assert status == 403 and "Verified" in reason
    assert team.review(ci, n, {"Verified": 2})["labels"] == {"Verified": 2}

    assert team.votes(n) == {
        ("Code-Review", bob.username): 1, ("Code-Review", carol.username): 2,
        ("Workflow", carol.username): 1, ("Workflow", alice.username): -1,
        ("Verified", ci.username): 2}
    permitted = {who.username: team.change(n, "DETAILED_LABELS", who=who)["permitted_labels"]
                 for who in (alice, bob, carol, ci)}
    assert permitted == {
        bob.username: {"Code-Review": ["-1", " 0", "+1"]},
        alice.username: {"Code-Review": ["-1", " 0", "+1"], "Workflow": ["-1", " 0"]},
        carol.username: {"Code-Review": ["-2", "-1", " 0", "+1", "+2"],
                         "Workflow": ["-1", " 0", "+1"]},
        ci.username: {"Code-Review": ["-1", " 0", "+1"],
                      "Verified": ["-2", "-1", " 0", "+1", "+2"]}}
    messages = [m["message"] for m in team.change(n, "MESSAGES")["messages"]]
    assert ("Patch Set 1: Code-Review+1\n\nNice, but someone else must approve."
            in messages), messages


def test_votes_follow_the_copy_rules(team: Team) -> None:
    n = team.upload("app.py", "print(1)\n", "Add the app")
    carol, bob = team.carol.username, team.bob.username
    team.review(team.carol, n, {"Code-Review": -2})
    team.review(team.bob, n, {"Code-Review": 1})

    def kind() -> str:
        change = team.change(n, "CURRENT_REVISION")
        return str(change["revisions"][change["current_revision"]]["kind"])

    # New code: only the veto stays, and patch set 1 is closed for voting.
    team.amend("app.py", "print(2)\n")
    assert (kind(), team.votes(n)) == ("REWORK", {("Code-Review", carol): -2})
    status, reason = refused(lambda: team.review(team.bob, n, {"Code-Review": 1}, "1"))
    assert status == 409 and "patch set 2" in reason
    team.review(team.bob, n, {"Code-Review": 1})

    # A reworded commit message keeps every vote.
    team.amend(subject="Add the app, reworded")
    assert (kind(), team.votes(n)) == ("NO_CODE_CHANGE",
                                       {("Code-Review", carol): -2, ("Code-Review", bob): 1})

    # So does a rebase over an unrelated change that merged meanwhile.
    other = team.upload("other.txt", "other\n", "Add another file")
    team.review(team.dave, other, {"Code-Review": 2})
    team.approve(other)
    assert team.submit(other)["status"] == "MERGED"
    rebased = team.api(team.alice).post(f"/changes/{n}/rebase", json={})
    assert rebased["current_revision_number"] == 4
    assert (kind(), team.votes(n)) == ("TRIVIAL_REBASE",
                                       {("Code-Review", carol): -2, ("Code-Review", bob): 1})


def test_comments_on_lines_ranges_and_the_whole_patch_set(team: Team) -> None:
    n = team.upload("poem.txt", "roses\nare\nred\n", "Add a poem")
    span = {"start_line": 1, "start_character": 0, "end_line": 3, "end_character": 3}
    team.review(team.bob, n, message="Some thoughts", comments={
        "poem.txt": [{"line": 2, "message": "Which roses?", "unresolved": True},
                     {"range": span, "message": "Does it rhyme?", "unresolved": False}],
        "/PATCHSET_LEVEL": [{"message": "Lovely overall."}]})

    comments = team.api(team.alice).get(f"/changes/{n}/revisions/current/comments")
    assert sorted(comments) == ["/PATCHSET_LEVEL", "poem.txt"]
    by_message = {c["message"]: c for thread in comments.values() for c in thread}
    assert {m: c["author"]["username"] for m, c in by_message.items()} == {
        "Which roses?": team.bob.username, "Does it rhyme?": team.bob.username,
        "Lovely overall.": team.bob.username}
    assert by_message["Which roses?"]["line"] == 2
    assert by_message["Does it rhyme?"]["range"] == span
    change = team.change(n)
    assert (change["total_comment_count"], change["unresolved_comment_count"]) == (3, 1)

    # Alice answers the open question, which settles its thread.
    question = by_message["Which roses?"]["id"]
    team.review(team.alice, n, comments={"poem.txt": [
        {"line": 2, "message": "The red ones.", "in_reply_to": question, "unresolved": False}]})
    thread = team.api(team.bob).get(f"/changes/{n}/revisions/current/comments")["poem.txt"]
    reply = next(c for c in thread if c["message"] == "The red ones.")
    assert (reply["in_reply_to"], reply["author"]["username"]) == (question, team.alice.username)
    change = team.change(n)
    assert (change["total_comment_count"], change["unresolved_comment_count"]) == (4, 0)

    status, reason = refused(lambda: team.review(team.bob, n, comments={
        "missing.txt": [{"line": 1, "message": "Where is this?"}]}))
    assert status == 400 and "missing.txt" in reason


def test_owner_and_core_look_after_a_change(team: Team) -> None:
    n = team.upload("todo.txt", "todo\n", "Add a todo list")
    alice, bob, carol = (team.api(u) for u in (team.alice, team.bob, team.carol))

    assert refused(lambda: bob.post(f"/changes/{n}/abandon", json={}))[0] == 403
    assert alice.post(f"/changes/{n}/abandon", json={"message": "Not needed"})[
        "status"] == "ABANDONED"
    assert carol.post(f"/changes/{n}/restore", json={})["status"] == "NEW"
    assert carol.post(f"/changes/{n}/abandon", json={})["status"] == "ABANDONED"
    assert alice.post(f"/changes/{n}/restore", json={})["status"] == "NEW"

    assert alice.put(f"/changes/{n}/topic", json={"topic": "lists"}) == "lists"
    assert team.change(n)["topic"] == "lists"
    alice.delete(f"/changes/{n}/topic")
    assert "topic" not in team.change(n)

    alice.post(f"/changes/{n}/wip", json={})
    assert team.change(n)["work_in_progress"] is True
    assert refused(lambda: bob.post(f"/changes/{n}/ready", json={}))[0] == 403
    alice.post(f"/changes/{n}/ready", json={})
    assert not team.change(n).get("work_in_progress")

    alice.post(f"/changes/{n}/private", json={})
    assert team.change(n)["is_private"] is True
    alice.delete(f"/changes/{n}/private")
    assert not team.change(n).get("is_private")

    assert sorted(carol.post(f"/changes/{n}/hashtags", json={"add": ["docs", "easy"]})) == [
        "docs", "easy"]
    assert carol.post(f"/changes/{n}/hashtags", json={"remove": ["easy"]}) == ["docs"]
    assert team.change(n)["hashtags"] == ["docs"]

    added = alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.bob.username})
    assert [r["username"] for r in added["reviewers"]] == [team.bob.username]
    assert team.bob.username in {r["username"] for r in alice.get(f"/changes/{n}/reviewers")}

    # Stars are personal.
    bob.put(f"/accounts/self/starred.changes/{n}")
    assert team.change(n, who=team.bob).get("starred") is True
    assert [c["_number"] for c in bob.get("/changes/?q=is:starred")] == [n]
    assert "starred" not in team.change(n, who=team.alice)
    bob.delete(f"/accounts/self/starred.changes/{n}")
    assert "starred" not in team.change(n, who=team.bob)
    assert bob.get("/changes/?q=is:starred") == []

    story = [e for e in team.events() if e.get("change", {}).get("number") == n]
    actors = [(e["type"], next((e[k]["username"] for k in ("abandoner", "restorer", "changer")
                                if k in e), None)) for e in story]
    assert actors[:9] == [
        ("patchset-created", None),
        ("change-abandoned", team.alice.username), ("change-restored", team.carol.username),
        ("change-abandoned", team.carol.username), ("change-restored", team.alice.username),
        ("topic-changed", team.alice.username), ("topic-changed", team.alice.username),
        ("wip-state-changed", team.alice.username), ("wip-state-changed", team.alice.username)]
    assert story[1]["reason"] == "Not needed"
    assert (story[5]["change"]["topic"], story[6]["oldTopic"]) == ("lists", "lists")


def test_edits_cherry_picks_and_changes_made_on_the_server(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)

    assert alice.get(f"/changes/{n}/edit", return_response=True)[1].status_code == 204
    change_id = team.change(n)["change_id"]
    alice.put(f"/changes/{n}/edit:message",
              json={"message": f"Add the letter a\n\nChange-Id: {change_id}\n"})
    assert alice.get(f"/changes/{n}/edit", return_response=True)[1].status_code == 200
    alice.post(f"/changes/{n}/edit:publish", json={})
    change = team.change(n, "CURRENT_REVISION", "CURRENT_COMMIT")
    revision = change["revisions"][change["current_revision"]]
    assert (revision["_number"], change["subject"]) == (2, "Add the letter a")
    assert revision["commit"]["message"].startswith("Add the letter a\n")
    assert alice.get(f"/changes/{n}/edit", return_response=True)[1].status_code == 204

    files = alice.get(f"/changes/{n}/revisions/current/files")
    assert sorted(files) == ["/COMMIT_MSG", "a.txt"]
    assert (files["a.txt"]["status"], files["a.txt"]["lines_inserted"]) == ("A", 1)
    assert alice.get(f"/changes/{n}/revisions/current/files?parent=1") == files
    assert refused(lambda: alice.get(f"/changes/{n}/revisions/current/files?parent=2"))[0] == 400

    # The administrator opens a stable branch; Alice carries her change over to it.
    admin = GitUser(team.repo.parent / "admin-home", team.server, team.server.admin,
                    team.server.admin_password)
    admin_repo = admin.clone(team.project, team.repo.parent / "admin-work", hook=False)
    admin.git("push", "-q", "origin", "origin/main:refs/heads/stable", cwd=admin_repo)
    picked = alice.post(f"/changes/{n}/revisions/current/cherrypick",
                        json={"destination": "stable"})
    assert (picked["branch"], picked["status"], picked["change_id"]) == ("stable", "NEW",
                                                                          change_id)
    assert picked["_number"] != n and picked["subject"] == "Add the letter a"

    created = alice.post("/changes/", json={"project": team.project, "branch": "main",
                                            "subject": "Plan the next step"})
    assert (created["subject"], created["status"], created["branch"]) == (
        "Plan the next step", "NEW", "main")
    assert created["owner"]["_account_id"] == team.change(n)["owner"]["_account_id"]
