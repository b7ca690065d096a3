"""Pushing to refs/for/<branch> with plain git creates changes and patch sets."""

from __future__ import annotations

from pathlib import Path

from tests.support import gerrit_json


def test_push_creates_change_and_second_patch_set(server, make_user, project_name, tmp_path):
    server.create_project(project_name)
    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    sha1 = alice.commit(repo, "README", "hello\n", "Add a readme")

    pushed = alice.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    assert "[NEW]" in pushed.stderr
    assert "Add a readme" in pushed.stderr
    assert "/c/" + project_name + "/+/" in pushed.stderr

    with server.client() as c:
        changes = gerrit_json(c.get("/changes/", params={"q": f"project:{project_name}",
                                                          "o": "CURRENT_REVISION"}))
    assert len(changes) == 1
    change = changes[0]
    assert change["subject"] == "Add a readme"
    assert change["current_revision"] == sha1
    number = change["_number"]
    fetch = change["revisions"][sha1]["fetch"]["http"]
    assert fetch["ref"] == f"refs/changes/{number % 100:02d}/{number}/1"

    (repo / "README").write_text("hello again\n")
    alice.git("commit", "-qa", "--amend", "--no-edit", cwd=repo)
    sha2 = alice.git("rev-parse", "HEAD", cwd=repo).stdout.strip()
    second = alice.push(repo)
    assert second.returncode == 0, second.stderr
    assert "[NEW]" not in second.stderr

    other = make_user(server)
    clone = other.clone(project_name, tmp_path / "other", hook=False)
    other.git("fetch", "-q", "origin", f"refs/changes/{number % 100:02d}/{number}/2", cwd=clone)
    assert other.git("rev-parse", "FETCH_HEAD", cwd=clone).stdout.strip() == sha2


def test_unchanged_repush_and_missing_change_id_are_refused(server, make_user, project_name,
                                                            tmp_path: Path):
    server.create_project(project_name)
    bob = make_user(server, "bob")
    repo = bob.clone(project_name, tmp_path / "w")
    bob.commit(repo, "a.txt", "a\n", "First")
    assert bob.push(repo).returncode == 0
    again = bob.push(repo)
    assert again.returncode != 0
    assert "no new changes" in again.stderr

    (repo / ".git" / "hooks" / "commit-msg").unlink()
    bob.commit(repo, "b.txt", "b\n", "No id here")
    refused = bob.push(repo)
    assert refused.returncode != 0
    assert "missing Change-Id" in refused.stderr
    assert "tools/hooks/commit-msg" in refused.stderr
