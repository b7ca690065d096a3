"""The attention set as a team sees it through pygerrit2: adding a reviewer gives them the
turn, a reviewer's reply hands it back to the owner, bots hand it over only with a negative
vote, the set empties when a change is set to work in progress or merged, and
``attention:`` finds whose turn it is. On SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import GitUser, Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    team = Team.start(server, make_user, project_name, tmp_path)
    team.configure("MERGE_IF_NECESSARY", required_approvals=1)
    return team


def _role(team: Team, username: str) -> str:
    """The part a user plays in the team ("alice", "carol", ...) for a username."""
    return next(role for role in ("alice", "bob", "carol", "dave", "ci")
                if getattr(team, role).username == username)


def _holders(team: Team, number: int) -> dict[str, str]:
    """Who is in the set, by role, with the reason they are there."""
    return {_role(team, e["account"]["username"]): e["reason"]
            for e in team.api(team.alice).get(f"/changes/{number}/attention")}


def _turn_of(team: Team, who: GitUser) -> list[int]:
    return [c["_number"] for c in team.api(who).get(
        f"/changes/?q=attention:self+project:{team.project}")]


def test_the_turn_passes_between_reviewers_and_the_owner(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice, carol = team.api(team.alice), team.api(team.carol)
    assert _holders(team, n) == {}

    carol_info = alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.carol.username})
    assert _holders(team, n) == {"carol": "added as a reviewer"}
    assert _turn_of(team, team.carol) == [n] and _turn_of(team, team.alice) == []
    change = team.change(n)
    carol_id = str(carol_info["reviewers"][0]["_account_id"])
    assert change["attention_set"][carol_id]["reason"] == "added as a reviewer"
    assert change["attention_set"][carol_id]["reason_account"]["username"] == team.alice.username

    team.review(team.carol, n, {"Code-Review": 1}, message="Looks fine")
    assert _holders(team, n) == {"alice": "a reviewer replied"}
    assert _turn_of(team, team.carol) == [] and _turn_of(team, team.alice) == [n]
    gone = team.change(n)["removed_from_attention_set"]
    assert gone[carol_id]["reason"] == "replied on the change"

    team.review(team.alice, n, {}, message="Thanks")
    assert _holders(team, n) == {}

    # By hand: the owner asks Carol to look again, then takes it back.
    entry = alice.post(f"/changes/{n}/attention", json={"user": team.carol.username,
                                                        "reason": "please look again"})
    assert (_role(team, entry["account"]["username"]), entry["reason"]) == (
        "carol", "please look again")
    assert _turn_of(team, team.carol) == [n]
    alice.delete(f"/changes/{n}/attention/{team.carol.username}")
    assert _holders(team, n) == {}

    # A reply may say whose turn it is, and skip the automatic rules.
    team.review(team.dave, n, {}, message="Carol should decide",
                add_to_attention_set=[{"user": team.carol.username,
                                       "reason": "she owns this area"}],
                ignore_automatic_attention_set_rules=True)
    assert _holders(team, n) == {"carol": "she owns this area"}
    carol.post(f"/changes/{n}/attention/self/delete", json={"reason": "seen"})
    assert _holders(team, n) == {}


def test_bots_hand_over_the_turn_only_with_a_negative_vote(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.ci, n, {"Verified": 1})
    assert _holders(team, n) == {}
    team.review(team.ci, n, {"Verified": -1})
    assert _holders(team, n) == {"alice": "a reviewer replied"}
    status, reason = refused(lambda: team.api(team.alice).post(
        f"/changes/{n}/attention", json={"user": team.ci.username, "reason": "look"}))
    assert (status, reason) == (400, f"{team.ci.username} is a service user; bots are never "
                                     "in the attention set")


def test_work_in_progress_and_merging_empty_the_set(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.carol.username})
    alice.post(f"/changes/{n}/wip", json={})
    assert _holders(team, n) == {}
    alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.dave.username})
    assert _holders(team, n) == {}  # nobody is added while the change is in progress
    alice.post(f"/changes/{n}/ready", json={})

    team.review(team.carol, n, {"Code-Review": 2, "Workflow": 1})
    assert "alice" in _holders(team, n)
    assert team.submit(n)["status"] == "MERGED"
    assert _holders(team, n) == {}
    assert team.change(n)["removed_from_attention_set"]
    assert refused(lambda: alice.post(f"/changes/{n}/attention", json={
        "user": team.alice.username, "reason": "x"}))[0] == 409


def test_the_set_refuses_strangers_bad_input_and_anonymous_callers(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    bob, me = team.bob.username, team.alice.username
    for body, expected in [({"user": bob, "reason": "look"},
                            f"{bob} is not the owner, the uploader, a reviewer or a CC of "
                            f"change {n}"),
                           ({"user": "nobody-here", "reason": "look"},
                            "'nobody-here' is not a registered account"),
                           ({"user": me}, "say why in 'reason'"),
                           ({"reason": "look"}, "name the user in 'user'"),
                           ({"user": me, "reason": "x" * 300},
                            "the reason is longer than 255 characters")]:
        assert refused(lambda b=body: alice.post(f"/changes/{n}/attention", json=b)) == (
            400, expected)
    assert refused(lambda: alice.delete(f"/changes/{n}/attention/nobody-here"))[0] == 404
    assert refused(lambda: team.review(team.carol, n, {}, add_to_attention_set=[
        {"user": bob, "reason": "x"}]))[0] == 400
    assert team.change(n)["total_comment_count"] == 0
    # Nothing of the refused reply was written.
    assert [m for m in alice.get(f"/changes/{n}/messages")
            if m.get("author", {}).get("username") == team.carol.username] == []
    with team.server.client() as anonymous:
        assert anonymous.post(f"/changes/{n}/attention",
                              json={"user": me, "reason": "x"}).status_code == 401
        assert anonymous.get("/changes/?q=attention:self").status_code == 400


def test_removing_someones_vote_asks_them_to_look_again(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.carol, n, {"Code-Review": -1})
    alice = team.api(team.alice)
    votes = f"/changes/{n}/reviewers/{team.carol.username}/votes"
    assert alice.get(votes) == {"Code-Review": -1}
    assert refused(lambda: team.api(team.bob).delete(f"{votes}/Code-Review"))[0] == 403
    alice.delete(f"{votes}/Code-Review")
    assert team.votes(n) == {}
    assert _holders(team, n)["carol"] == "their vote was removed"
    deleted = [e for e in team.events() if e["type"] == "vote-deleted"]
    assert [(_role(team, e["reviewer"]["username"]), _role(team, e["remover"]["username"]),
             e["approvals"]) for e in deleted] == [
        ("carol", "alice", [{"type": "Code-Review", "value": "0", "oldValue": "-1"}])]
    said = [m["message"] for m in alice.get(f"/changes/{n}/messages")]
    assert any(m.startswith("Removed Code-Review-1 by") for m in said)
    assert refused(lambda: alice.post(f"{votes}/Code-Review/delete", json={}))[0] == 404


def test_a_new_patch_set_that_drops_a_vote_asks_the_voter_again(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.carol, n, {"Code-Review": 1})
    team.review(team.dave, n, {"Code-Review": -2})  # the minimum is sticky: it stays
    team.review(team.alice, n, {}, message="Reworking")
    assert _holders(team, n) == {}
    team.amend("a.txt", "a, reworked\n")
    assert _holders(team, n) == {"carol": "a new patch set dropped their vote"}
    assert team.votes(n) == {("Code-Review", team.dave.username): -2}


def test_replying_in_a_comment_thread_asks_the_people_of_the_thread(team: Team) -> None:
    n = team.upload("t.txt", "t\n", "Add t")
    alice = team.api(team.alice)
    for reviewer in (team.carol, team.dave):
        alice.post(f"/changes/{n}/reviewers", json={"reviewer": reviewer.username})
    team.review(team.carol, n, {}, comments={"t.txt": [
        {"line": 1, "message": "Why t?", "unresolved": True}]})
    team.review(team.dave, n, {"Code-Review": 1})
    first = team.api(team.carol).get(f"/changes/{n}/comments")["t.txt"][0]["id"]
    team.review(team.dave, n, {}, comments={"t.txt": [
        {"line": 1, "message": "Same question", "in_reply_to": first}]})
    team.review(team.carol, n, {})
    team.review(team.dave, n, {})
    assert _holders(team, n) == {"alice": "a reviewer replied"}

    # The owner answers the unresolved thread: both who wrote in it are asked again.
    team.review(team.alice, n, {}, comments={"t.txt": [
        {"line": 1, "message": "Because", "in_reply_to": first, "unresolved": True}]})
    reason = "someone replied in their comment thread"
    assert _holders(team, n) == {"carol": reason, "dave": reason}

    team.review(team.carol, n, {})
    team.review(team.dave, n, {})
    # Resolving it asks only those who have not voted Code-Review yet.
    team.review(team.alice, n, {}, comments={"t.txt": [
        {"line": 1, "message": "Done", "in_reply_to": first, "unresolved": False}]})
    assert _holders(team, n) == {"carol": reason}


def test_a_reply_must_name_a_comment_of_the_same_change(team: Team) -> None:
    one = team.upload("u.txt", "u\n", "Add u")
    other = team.upload("v.txt", "v\n", "Add v")
    team.review(team.carol, one, {}, comments={"u.txt": [{"line": 1, "message": "Hm"}]})
    foreign = team.api(team.carol).get(f"/changes/{one}/comments")["u.txt"][0]["id"]
    status, reason = refused(lambda: team.review(team.carol, other, {}, comments={
        "v.txt": [{"line": 1, "message": "Reply", "in_reply_to": foreign}]}))
    assert status == 400 and f"does not exist on change {other}" in reason
    assert team.api(team.carol).get(f"/changes/{other}/comments") == {}
