"""Submitting reviewed changes: what blocks them, how each submit type moves the branch,
stacks that merge together, and the events a CI system would follow.

Alice uploads with plain git; Carol and Dave (core reviewers) approve and submit through
pygerrit2; the branch is read back with git, as a developer would see it after fetching.
Unless a test is about the default of two approvals, projects need one (``Team.configure``),
so that one core vote and Workflow +1 make a change submittable. Every test runs on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def tip(team: Team) -> str:
    """Where the project's main branch points now."""
    return str(team.api().get(f"/projects/{team.quoted}/branches/main")["revision"])


def parents(team: Team, commit: str) -> list[str]:
    team.git("fetch", "-q", "origin")
    return team.git("log", "-1", "--format=%P", commit).split()


def sha(team: Team, number: int) -> str:
    return str(team.change(number, "CURRENT_REVISION")["current_revision"])


def two_changes_on_the_tip(team: Team) -> tuple[int, int]:
    """Two approved changes that both start from today's tip, touching different files."""
    first = team.upload("first.txt", "first\n", "Add the first file")
    second = team.upload("second.txt", "second\n", "Add the second file")
    team.approve(first)
    team.approve(second)
    return first, second



def test_submit_requirements_say_what_is_missing(team: Team, make_user: Any) -> None:
    n = team.upload("feature.txt", "feature\n", "Add a feature")

    change = team.change(n, "SUBMIT_REQUIREMENTS", who=team.carol)
    requirements = {r["name"]: r for r in change["submit_requirements"]}
    assert {name: r["status"] for name, r in requirements.items()} == {
        "Code-Review": "UNSATISFIED", "Workflow": "UNSATISFIED", "Verified": "NOT_APPLICABLE"}
    assert requirements["Code-Review"]["reason"] == (
        "needs 2 Code-Review +2 votes from different reviewers (has 0)")
    assert requirements["Workflow"]["reason"] == "needs Workflow +1"
    assert change["submittable"] is False
    status, reason = refused(lambda: team.submit(n))
    assert status == 409 and "needs 2 Code-Review +2 votes" in reason

    team.approve(n)
    team.review(team.dave, n, {"Code-Review": 2})
    change = team.change(n, "SUBMIT_REQUIREMENTS", "CURRENT_ACTIONS", "CURRENT_REVISION",
                         who=team.carol)
    assert change["submittable"] is True
    assert "submit" in change["actions"]
    assert "submit" in change["revisions"][change["current_revision"]]["actions"]

    # Bob sees a submittable change, but submitting is for core reviewers.
    assert "submit" not in team.change(n, "CURRENT_ACTIONS", who=team.bob)["actions"]
    status, reason = refused(lambda: team.submit(n, who=team.bob))
    assert status == 403 and "submit" in reason

    # A third core reviewer's veto stops it, and everyone is told whose veto it is.
    erin = make_user(team.server, "erin")
    team.make_core(erin)
    team.review(erin, n, {"Code-Review": -2})
    change = team.change(n, "SUBMIT_REQUIREMENTS", who=team.carol)
    blocked = f"blocked by a Code-Review -2 ({erin.username})"
    assert change["submittable"] is False
    assert [r["reason"] for r in change["submit_requirements"] if "reason" in r] == [blocked]
    status, reason = refused(lambda: team.submit(n))
    assert status == 409 and blocked in reason


def test_merge_if_necessary_fast_forwards_when_it_can_and_merges_when_it_must(
        team: Team) -> None:
    team.configure("MERGE_IF_NECESSARY")
    first, second = two_changes_on_the_tip(team)

    assert team.submit(first)["status"] == "MERGED"
    assert tip(team) == sha(team, first)
    assert team.submit(second)["status"] == "MERGED"
    assert parents(team, tip(team)) == [sha(team, first), sha(team, second)]


def test_fast_forward_only_refuses_once_the_branch_moved(team: Team) -> None:
    team.configure("FAST_FORWARD_ONLY")
    first, second = two_changes_on_the_tip(team)
    team.submit(first)
    assert tip(team) == sha(team, first)

    status, reason = refused(lambda: team.submit(second))
    assert status == 409 and "fast-forward" in reason
    assert tip(team) == sha(team, first)
    assert team.change(second)["status"] == "NEW"


def test_rebase_if_necessary_rebases_the_change_onto_the_branch(team: Team) -> None:
    team.configure("REBASE_IF_NECESSARY")
    first, second = two_changes_on_the_tip(team)
    team.submit(first)

    merged = team.submit(second)
    assert (merged["status"], merged["current_revision_number"]) == ("MERGED", 2)
    assert tip(team) == sha(team, second)
    assert parents(team, tip(team)) == [sha(team, first)]


def test_merge_always_makes_a_merge_commit_even_for_a_fast_forward(team: Team) -> None:
    team.configure("MERGE_ALWAYS")
    base = tip(team)
    n = team.upload("lonely.txt", "lonely\n", "Add a lonely file")
    team.approve(n)
    team.submit(n)

    assert parents(team, tip(team)) == [base, sha(team, n)]


def test_cherry_pick_puts_one_commit_on_top_of_the_branch(team: Team) -> None:
    team.configure("CHERRY_PICK")
    first, second = two_changes_on_the_tip(team)
    team.submit(first)
    before = tip(team)

    assert team.submit(second)["status"] == "MERGED"
    after = tip(team)
    assert parents(team, after) == [before]
    assert team.git("log", "--format=%s", f"{before}..{after}") == "Add the second file"
    assert team.git("show", f"{after}:second.txt") == "second"
    assert team.git("show", f"{after}:first.txt") == "first"
    assert sha(team, second) == after  # the change shows the commit that merged


@pytest.mark.parametrize("submit_type",
                         ["MERGE_IF_NECESSARY", "REBASE_IF_NECESSARY", "CHERRY_PICK"])
def test_a_conflict_names_the_file_and_leaves_the_branch_alone(team: Team,
                                                               submit_type: str) -> None:
    team.configure(submit_type)
    english = team.upload("greeting.txt", "hello\n", "Greet in English")
    french = team.upload("greeting.txt", "bonjour\n", "Greet in French")
    team.approve(english)
    team.approve(french)
    team.submit(english)
    before = tip(team)

    status, reason = refused(lambda: team.submit(french))
    assert status == 409 and "greeting.txt" in reason
    assert tip(team) == before
    assert team.change(french)["status"] == "NEW"


def test_a_stack_is_submitted_together(team: Team) -> None:
    team.configure("MERGE_IF_NECESSARY")
    team.git("checkout", "-q", "--detach", "origin/main")
    for step in ("parse", "check", "report"):
        team.alice.commit(team.repo, f"{step}.py", f"{step}()\n", f"Add {step}")
    bottom, middle, top = sorted(team.push())
    assert [team.change(c)["subject"] for c in (bottom, middle, top)] == [
        "Add parse", "Add check", "Add report"]
    related = team.api(team.bob).get(f"/changes/{top}/revisions/current/related")["changes"]
    assert [c["_change_number"] for c in related] == [top, middle, bottom]

    # The middle change has no approval yet, so the top cannot go in.
    team.approve(bottom)
    team.approve(top)
    status, reason = refused(lambda: team.submit(top))
    assert status == 409 and f"change {middle}" in reason
    assert [team.change(c)["status"] for c in (bottom, middle, top)] == ["NEW"] * 3

    team.approve(middle)
    assert team.submit(top)["status"] == "MERGED"
    assert [team.change(c)["status"] for c in (bottom, middle, top)] == ["MERGED"] * 3
    assert tip(team) == sha(team, top)


def test_the_event_log_follows_a_change_from_upload_to_merge(team: Team) -> None:
    team.configure("MERGE_IF_NECESSARY")
    base = tip(team)
    n = team.upload("news.txt", "news\n", "Share the news")
    team.review(team.carol, n, {"Code-Review": 1})
    team.review(team.carol, n, {"Code-Review": 2, "Workflow": 1}, message="Ship it")
    team.submit(n)

    events = team.events()
    start = next(i for i, e in enumerate(events) if e["type"] == "patchset-created")
    story = events[start:]
    assert [e["type"] for e in story] == [
        "patchset-created", "comment-added", "comment-added", "change-merged", "ref-updated"]
    uploaded, liked, approved, merged, moved = story

    assert (uploaded["change"]["number"], uploaded["patchSet"]["number"]) == (n, 1)
    assert uploaded["uploader"]["username"] == team.alice.username

    def approvals(event: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
        return {a["type"]: (a["value"], a.get("oldValue")) for a in event["approvals"]}

    assert approvals(liked) == {"Code-Review": ("1", None)}
    assert approvals(approved) == {"Code-Review": ("2", "1"), "Workflow": ("1", None)}
    assert approved["author"]["username"] == team.carol.username
    assert "Ship it" in approved["comment"]

    # CI pairs the branch update with the merge through newRev, so the merge comes first.
    assert merged["submitter"]["username"] == team.carol.username
    assert merged["newRev"] == moved["refUpdate"]["newRev"] == tip(team)
    assert (moved["refUpdate"]["refName"], moved["refUpdate"]["oldRev"]) == (
        "refs/heads/main", base)
