"""Reviewers suggested and removed over REST, as review tools offer them: suggestions for a
typed prefix among accounts that may read the change (never to anonymous callers), and
removal, with the reviewer's votes, by the change owner, the reviewer or a project owner
only, recorded as a message and a ``reviewer-deleted`` event."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def test_suggestions_match_a_prefix_of_who_may_read_the_change(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    carol = team.carol.username
    found = alice.get(f"/changes/{n}/suggest_reviewers?q={carol[:4]}&n=5")
    names = [s["account"]["username"] for s in found]
    assert carol in names and team.alice.username not in names  # never the owner
    assert all(name.startswith(carol[:4]) for name in names)
    assert alice.get(f"/changes/{n}/suggest_reviewers?q=%25") == []  # % is not a wildcard
    assert alice.get(f"/changes/{n}/suggest_reviewers?q=") == []
    assert refused(lambda: alice.get(f"/changes/{n}/suggest_reviewers?q=a&n=0"))[0] == 400

    anonymous = team.server.client()
    with anonymous:
        answer = anonymous.get(f"/changes/{n}/suggest_reviewers?q={carol[:4]}")
    assert answer.status_code == 401


def test_a_reviewer_goes_with_their_votes_only_by_whom_gerrit_allows(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.carol, n, {"Code-Review": 2}, message="Fine by me.")
    team.api(team.alice).post(f"/changes/{n}/reviewers", json={"reviewer": team.bob.username})
    assert ("Code-Review", team.carol.username) in team.votes(n)

    # Neither another reviewer nor a core member may take Carol off Alice's change.
    for who in (team.bob, team.dave):
        status, _ = refused(lambda who=who: team.api(who).delete(
            f"/changes/{n}/reviewers/{team.carol.username}"))
        assert status == 403
    # Bob may take himself off; Alice, the owner, removes Carol and her +2.
    team.api(team.bob).delete(f"/changes/{n}/reviewers/{team.bob.username}")
    team.api(team.alice).delete(f"/changes/{n}/reviewers/{team.carol.username}")
    assert ("Code-Review", team.carol.username) not in team.votes(n)
    reviewers = team.api(team.alice).get(f"/changes/{n}/reviewers")
    assert {r["username"] for r in reviewers} & {team.bob.username,
                                                  team.carol.username} == set()
    message = team.api(team.alice).get(f"/changes/{n}/messages")[-1]["message"]
    assert message.startswith("Removed reviewer") and "Code-Review+2" in message
    deleted = [e for e in team.events() if e["type"] == "reviewer-deleted"]
    assert [e["reviewer"]["username"] for e in deleted] == [team.bob.username,
                                                            team.carol.username]
    assert deleted[-1]["approvals"] == [{"type": "Code-Review", "value": "2"}]
    assert deleted[-1]["remover"]["username"] == team.alice.username

    assert refused(lambda: team.api(team.alice).delete(
        f"/changes/{n}/reviewers/{team.carol.username}"))[0] == 404
    assert refused(lambda: team.api(team.alice).delete(
        f"/changes/{n}/reviewers/nobody-at-all"))[0] == 404


def test_accounts_are_searched_by_signed_in_callers(team: Team) -> None:
    alice = team.api(team.alice)
    carol, dave = team.carol.username, team.dave.username
    prefix = carol[:3]  # "car"
    found = [a["username"] for a in alice.get(f"/accounts/?q={prefix}&n=100")]
    assert carol in found and dave not in found
    assert [a["username"] for a in alice.get(f"/accounts/?q=username:{carol}")] == [carol]
    assert alice.get(f"/accounts/?q=username:{carol}%20{dave[:3]}") == []
    assert alice.get("/accounts/?q=zzz-nobody") == []
    page = alice.get(f"/accounts/?q={team.alice.username[:1]}&n=1")
    assert len(page) == 1
    assert refused(lambda: alice.get("/accounts/?q=a&n=0"))[0] == 400
    assert refused(lambda: alice.get("/accounts/?q=cansee:1"))[0] == 400
    with team.server.client() as anonymous:
        assert anonymous.get(f"/accounts/?q={prefix}").status_code == 401


def test_reviewed_tracking_ids_and_reviewer_updates_add_their_fields(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.bob.username})
    alice.post(f"/changes/{n}/reviewers", json={"reviewer": team.dave.username,
                                                "state": "CC"})
    alice.delete(f"/changes/{n}/reviewers/{team.bob.username}")
    team.review(team.carol, n, {"Code-Review": 1}, message="Reviewed.")

    plain = team.change(n, who=team.carol)
    assert not {"reviewed", "tracking_ids", "reviewer_updates"} & set(plain)
    seen = team.change(n, "REVIEWED", "TRACKING_IDS", "REVIEWER_UPDATES", who=team.carol)
    assert seen["reviewed"] is True and seen["tracking_ids"] == []
    assert "reviewed" not in team.change(n, "REVIEWED", who=team.bob)
    updates = [(u["reviewer"]["username"], u["state"], u["updated_by"]["username"])
               for u in seen["reviewer_updates"]]
    assert updates == [(team.bob.username, "REVIEWER", team.alice.username),
                       (team.dave.username, "CC", team.alice.username),
                       (team.bob.username, "REMOVED", team.alice.username)]
    # A new patch set is not yet reviewed by Carol.
    team.amend("a.txt", "a, again\n")
    assert "reviewed" not in team.change(n, "REVIEWED", who=team.carol)
