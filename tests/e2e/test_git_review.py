"""A Gerrit user's daily loop with the real ``git review`` (git-review from PyPI).

Each story starts where a contributor starts: a clone with a ``.gitreview`` file naming the
server over HTTP. From there they run ``git review -s`` to set up, ``git review`` to upload
(again after amending), ``-t`` to set a topic, ``-d`` to download someone's change, and
``-l`` to list what is open. Every step is checked the way the user would check it: what
git-review prints, what git shows, and what the server's REST API answers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.e2e.gitreview_support import git_review, gitreview_clone
from tests.support import GitUser, Server, gerrit_json


def open_changes(server: Server, project: str, *options: str) -> list[dict[str, Any]]:
    with server.client() as c:
        r = c.get("/changes/", params={"q": f"project:{project}", "o": list(options)})
        assert r.status_code == 200, r.text
        return list(gerrit_json(r))


def head(user: GitUser, repo: Path, rev: str = "HEAD") -> str:
    return user.git("rev-parse", rev, cwd=repo).stdout.strip()


def ready_to_review(user: GitUser, project: str, dest: Path) -> Path:
    repo = gitreview_clone(user, project, dest)
    git_review(user, repo, "-s")
    return repo


def test_setup_adds_gerrit_remote_and_commit_msg_hook(sqlite_server, make_user,
                                                      project_name, tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = gitreview_clone(alice, project_name, tmp_path / "work")
    hook = repo / ".git" / "hooks" / "commit-msg"
    assert not hook.exists()

    git_review(alice, repo, "-s")

    remotes = alice.git("remote", "-v", cwd=repo).stdout
    host = sqlite_server.url.removeprefix("http://").rstrip("/")
    assert f"gerrit\thttp://{alice.username}@{host}/{project_name} (push)" in remotes
    assert os.access(hook, os.X_OK)
    sha = alice.commit(repo, "README", "hello\n", "Add a readme")
    message = alice.git("log", "-1", "--format=%B", sha, cwd=repo).stdout
    assert "\nChange-Id: I" in message


def test_upload_then_amend_makes_a_second_patch_set(sqlite_server, make_user,
                                                    project_name, tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = ready_to_review(alice, project_name, tmp_path / "work")
    first = alice.commit(repo, "README", "hello\n", "Add a readme")

    uploaded = git_review(alice, repo)
    assert f"/c/{project_name}/+/" in uploaded.stdout
    assert "Add a readme" in uploaded.stdout

    [change] = open_changes(sqlite_server, project_name, "CURRENT_REVISION")
    assert change["subject"] == "Add a readme"
    assert change["current_revision"] == first
    assert f"/c/{project_name}/+/{change['_number']}" in uploaded.stdout

    (repo / "README").write_text("hello, reviewers\n")
    alice.git("commit", "-qa", "--amend", "--no-edit", cwd=repo)
    second = head(alice, repo)
    git_review(alice, repo)

    [again] = open_changes(sqlite_server, project_name, "ALL_REVISIONS")
    assert again["_number"] == change["_number"]
    assert again["change_id"] == change["change_id"]
    assert again["current_revision_number"] == 2
    assert again["current_revision"] == second
    assert {sha: rev["_number"] for sha, rev in again["revisions"].items()} == {
        first: 1, second: 2}


def test_topic_option_sets_the_change_topic(sqlite_server, make_user, project_name,
                                            tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = ready_to_review(alice, project_name, tmp_path / "work")
    alice.commit(repo, "feature.txt", "on\n", "Turn the feature on")

    git_review(alice, repo, "-t", "mytopic")

    [change] = open_changes(sqlite_server, project_name)
    assert change["topic"] == "mytopic"
    with sqlite_server.client() as c:
        assert gerrit_json(c.get(f"/changes/{change['_number']}/topic")) == "mytopic"


def test_another_user_downloads_a_change_and_an_older_patch_set(sqlite_server, make_user,
                                                                project_name, tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = ready_to_review(alice, project_name, tmp_path / "alice")
    ps1 = alice.commit(repo, "calc.py", "ANSWER = 41\n", "Add the answer")
    git_review(alice, repo, "-t", "answers")
    (repo / "calc.py").write_text("ANSWER = 42\n")
    alice.git("commit", "-qa", "--amend", "--no-edit", cwd=repo)
    ps2 = head(alice, repo)
    git_review(alice, repo, "-t", "answers")
    [change] = open_changes(sqlite_server, project_name)
    number = change["_number"]

    bob = make_user(sqlite_server, "bob")
    review = ready_to_review(bob, project_name, tmp_path / "bob")

    downloaded = git_review(bob, review, "-d", str(number))
    assert "Switched to branch" in downloaded.stdout
    assert head(bob, review) == ps2
    assert (review / "calc.py").read_text() == "ANSWER = 42\n"
    branch = bob.git("rev-parse", "--abbrev-ref", "HEAD", cwd=review).stdout.strip()
    assert branch.startswith("review/")
    upstream = bob.git("rev-parse", "--abbrev-ref", "@{upstream}", cwd=review).stdout
    assert upstream.strip() == "gerrit/main"

    older = git_review(bob, review, "-d", f"{number},1")
    assert f"refs/changes/{number % 100:02d}/{number}/1" in older.stdout
    assert head(bob, review) == ps1
    assert (review / "calc.py").read_text() == "ANSWER = 41\n"


def test_list_shows_open_changes(sqlite_server, make_user, project_name, tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = ready_to_review(alice, project_name, tmp_path / "work")
    alice.commit(repo, "docs.txt", "read me\n", "Document the setup")
    git_review(alice, repo)
    [change] = open_changes(sqlite_server, project_name)

    listed = git_review(alice, repo, "-l")

    lines = [line.split() for line in listed.stdout.splitlines()]
    assert [str(change["_number"]), "main", "Document", "the", "setup"] in lines
    assert "Found 1 items for review" in listed.stdout


def test_a_stack_of_two_commits_becomes_two_related_changes(sqlite_server, make_user,
                                                            project_name, tmp_path):
    sqlite_server.create_project(project_name)
    alice = make_user(sqlite_server, "alice")
    repo = ready_to_review(alice, project_name, tmp_path / "work")
    bottom = alice.commit(repo, "one.txt", "1\n", "Add step one")
    top = alice.commit(repo, "two.txt", "2\n", "Add step two")

    # Without -y git-review would stop to ask whether two commits are meant.
    pushed = git_review(alice, repo, "-y")
    assert "Add step one" in pushed.stdout and "Add step two" in pushed.stdout

    changes = open_changes(sqlite_server, project_name, "CURRENT_REVISION", "CURRENT_COMMIT")
    by_subject = {c["subject"]: c for c in changes}
    assert set(by_subject) == {"Add step one", "Add step two"}
    assert by_subject["Add step one"]["current_revision"] == bottom
    second = by_subject["Add step two"]
    assert second["current_revision"] == top
    parents = second["revisions"][top]["commit"]["parents"]
    assert [p["commit"] for p in parents] == [bottom]
