"""Reverting a merged change, moving an open one to another branch, and asking whether a
change would merge now — as a pygerrit2 script or review tool calls them, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    team = Team.start(server, make_user, project_name, tmp_path)
    team.configure("MERGE_IF_NECESSARY", required_approvals=1)
    return team


def _merge(team: Team, number: int) -> None:
    team.approve(number)
    assert team.submit(number)["status"] == "MERGED"


def _commit(team: Team, number: int) -> dict[str, Any]:
    change = team.change(number, "CURRENT_REVISION", "CURRENT_COMMIT")
    return {"sha": change["current_revision"],
            **change["revisions"][change["current_revision"]]["commit"]}


def _main_has(team: Team, path: str) -> bool:
    team.git("fetch", "-q", "origin")
    shown = subprocess.run(["git", "-C", str(team.repo), "cat-file", "-e",
                            f"origin/main:{path}"], capture_output=True)
    return shown.returncode == 0


def test_a_merged_change_is_reverted_by_a_new_change_that_undoes_it(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    _merge(team, n)
    merged = _commit(team, n)
    alice = team.api(team.alice)

    revert = alice.post(f"/changes/{n}/revert", json={})
    r = revert["_number"]
    assert (revert["subject"], revert["status"], revert["branch"], revert["revert_of"]) == (
        'Revert "Add a"', "NEW", "main", n)
    commit = _commit(team, r)
    assert [p["commit"] for p in commit["parents"]] == [merged["sha"]]
    assert f"This reverts commit {merged['sha']}." in commit["message"]
    assert f"Change-Id: {revert['change_id']}" in commit["message"]
    assert alice.get(f"/changes/{r}/revisions/current/files")["a.txt"]["status"] == "D"
    said = [m["message"] for m in alice.get(f"/changes/{n}/messages")]
    assert f"Created a revert of this change as {revert['change_id']}" in said
    assert [c["_number"] for c in alice.get(f"/changes/?q=revertof:{n}")] == [r]
    assert "revert_of" not in team.change(n)

    assert _main_has(team, "a.txt")
    _merge(team, r)
    assert not _main_has(team, "a.txt")

    # A message of one's own keeps its words and still gets a Change-Id; a topic and WIP
    # are set as asked.
    again = alice.post(f"/changes/{r}/revert", json={
        "message": "Bring a back\n\nIt was fine after all.", "topic": "undo",
        "work_in_progress": True})
    assert (again["subject"], again["topic"], again.get("work_in_progress")) == (
        "Bring a back", "undo", True)
    assert again["change_id"] in _commit(team, again["_number"])["message"]


def test_only_merged_changes_are_reverted_and_only_by_those_who_may_upload(
        team: Team) -> None:
    open_change = team.upload("b.txt", "b\n", "Add b")
    alice = team.api(team.alice)
    status, reason = refused(lambda: alice.post(f"/changes/{open_change}/revert", json={}))
    assert (status, reason) == (409, f"change {open_change} is new; only merged changes can "
                                     "be reverted")
    n = team.upload("c.txt", "c\n", "Add c")
    _merge(team, n)
    assert refused(lambda: alice.post(f"/changes/{n}/revert", json={"topic": "x" * 300}))[0] \
        == 400
    with team.server.client() as anonymous:
        assert anonymous.post(f"/changes/{n}/revert", json={}).status_code == 401
    assert [c["_number"] for c in alice.get(f"/changes/?q=revertof:{n}")] == []
    assert refused(lambda: alice.get("/changes/?q=revertof:abc"))[0] == 400


def test_an_open_change_moves_to_another_branch_and_loses_its_votes(team: Team) -> None:
    admin = team.api()
    admin.put(f"/projects/{team.quoted}/branches/stable", json={"revision": "main"})
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.carol, n, {"Code-Review": 2})
    alice = team.api(team.alice)

    moved = alice.post(f"/changes/{n}/move", json={"destination_branch": "stable",
                                                   "message": "Belongs on the stable line"})
    assert (moved["_number"], moved["branch"], moved["status"]) == (n, "stable", "NEW")
    assert team.votes(n) == {}
    said = [m["message"] for m in alice.get(f"/changes/{n}/messages")]
    assert "Change destination moved from main to stable\n\nBelongs on the stable line" in said
    assert [c["_number"] for c in alice.get(
        f"/changes/?q=project:{team.project}+branch:stable")] == [n]

    bob = team.api(team.bob)
    for who, body, expected in [
            (alice, {"destination_branch": "stable"}, 409),  # already there
            (alice, {"destination_branch": "nowhere"}, 409),
            (alice, {"destination_branch": "../main"}, 400),
            (alice, {}, 400),
            (alice, {"destination_branch": "main", "keep_all_votes": True}, 403),
            (bob, {"destination_branch": "main"}, 403)]:
        assert refused(lambda w=who, b=body: w.post(f"/changes/{n}/move", json=b))[0] \
            == expected, body
    assert team.change(n)["branch"] == "stable"

    # The same Change-Id already open on main: moving there would make two of one change.
    alice.post(f"/changes/{n}/revisions/current/cherrypick", json={"destination": "main"})
    status, reason = refused(lambda: alice.post(f"/changes/{n}/move",
                                                json={"destination_branch": "main"}))
    assert status == 409 and "already exists on main" in reason

    m = team.upload("m.txt", "m\n", "Merged already")
    _merge(team, m)
    assert refused(lambda: alice.post(f"/changes/{m}/move",
                                      json={"destination_branch": "stable"}))[0] == 409


def test_mergeable_follows_the_branch_tip_and_the_submit_type(team: Team) -> None:
    first = team.upload("a.txt", "one\n", "One")
    rival = team.upload("a.txt", "two\n", "Two")
    other = team.upload("c.txt", "c\n", "Elsewhere")
    alice = team.api(team.alice)

    def mergeable(number: int) -> dict[str, Any]:
        return alice.get(f"/changes/{number}/revisions/current/mergeable")

    assert mergeable(rival) == {"submit_type": "MERGE_IF_NECESSARY", "strategy": "recursive",
                                "mergeable": True}
    query = f"/changes/?q=project:{team.project}+status:open+is:mergeable"
    assert sorted(c["_number"] for c in alice.get(query)) == sorted([first, rival, other])

    _merge(team, first)
    assert mergeable(rival) == {"submit_type": "MERGE_IF_NECESSARY", "strategy": "recursive",
                                "mergeable": False, "conflicts": ["a.txt"]}
    assert mergeable(other)["mergeable"] is True
    assert mergeable(first)["commit_merged"] is True
    # The query re-checks what the merge made stale, without anyone asking per change.
    assert sorted(c["_number"] for c in alice.get(query)) == [other]
    assert [c["_number"] for c in alice.get(
        f"/changes/?q=project:{team.project}+status:open+-is:mergeable")] == [rival]

    team.configure("FAST_FORWARD_ONLY", required_approvals=1)
    assert mergeable(other) == {"submit_type": "FAST_FORWARD_ONLY", "mergeable": False}
    assert alice.get(query) == []
    assert refused(lambda: alice.get(f"/changes/{other}/revisions/9/mergeable"))[0] == 404


def test_a_whole_chain_is_rebased_onto_the_branch_tip(team: Team) -> None:
    first = team.upload("a.txt", "a\n", "First")
    team.alice.commit(team.repo, "b.txt", "b\n", "Second")
    second = max(team.push())
    alice = team.api(team.alice)
    status, reason = refused(lambda: alice.post(f"/changes/{second}/rebase:chain", json={}))
    assert (status, reason) == (409, "the whole chain is already up to date")

    elsewhere = team.upload("c.txt", "c\n", "Elsewhere")
    _merge(team, elsewhere)
    tip = team.api().get(f"/projects/{team.quoted}/branches/main")["revision"]
    rebased = alice.post(f"/changes/{second}/rebase:chain", json={})["rebased_changes"]
    assert [c["_number"] for c in rebased] == [first, second]
    lower, upper = _commit(team, first), _commit(team, second)
    assert [p["commit"] for p in lower["parents"]] == [tip]
    assert [p["commit"] for p in upper["parents"]] == [lower["sha"]]
    assert team.change(first)["current_revision_number"] == 2
    assert team.change(second)["current_revision_number"] == 2

    # A conflict anywhere leaves every change of the chain as it was.
    rival = team.upload("a.txt", "rival\n", "Rival")
    _merge(team, rival)
    status, reason = refused(lambda: alice.post(f"/changes/{second}/rebase:chain", json={}))
    assert (status, reason) == (409, f"rebasing change {first} conflicts in: a.txt")
    assert [team.change(n)["current_revision_number"] for n in (first, second)] == [2, 2]
    assert refused(lambda: team.api(team.bob).post(f"/changes/{second}/rebase:chain",
                                                   json={}))[0] == 403


def test_pure_revert_and_the_commit_message_as_gerrit_answers_them(team: Team) -> None:
    n = team.upload("p.txt", "p\n", "Add p")
    _merge(team, n)
    alice = team.api(team.alice)
    r = alice.post(f"/changes/{n}/revert", json={})["_number"]
    assert alice.get(f"/changes/{r}/pure_revert") == {"is_pure_revert": True}
    original = _commit(team, n)["sha"]
    assert alice.get(f"/changes/{r}/pure_revert?o={original}") == {"is_pure_revert": True}

    message = alice.get(f"/changes/{r}/message")
    assert message["subject"] == 'Revert "Add p"'
    assert message["full_message"] == _commit(team, r)["message"]
    assert message["footers"]["Change-Id"] == team.change(r)["change_id"]

    # Another change is no revert of it; neither is a change that is no revert at all.
    other = team.upload("q.txt", "q\n", "Add q")
    # An open change's commit is on no branch: not one to compare with.
    status, reason = refused(lambda: alice.get(
        f"/changes/{r}/pure_revert?o={_commit(team, other)['sha']}"))
    assert status == 404 and "not on a branch or tag" in reason
    status, reason = refused(lambda: alice.get(f"/changes/{other}/pure_revert"))
    assert (status, reason) == (400, f"change {other} is not a revert; name the original "
                                     "commit with o=<sha>")
    assert refused(lambda: alice.get(f"/changes/{r}/pure_revert?o=HEAD"))[0] == 400
    _merge(team, other)
    assert alice.get(f"/changes/{r}/pure_revert?o={_commit(team, other)['sha']}") == {
        "is_pure_revert": False}
