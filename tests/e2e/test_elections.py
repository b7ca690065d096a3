"""A PTL election end to end on a real server (SQLite and PostgreSQL): the election defined
in config, candidacies checked and approved through review, 20 voters' ballots over REST,
the Schulze result equal to pref-voting's, and the winner proposed into the team's PTL
group and merged."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.election_support import Config, api, election, election_file
from tests.e2e.gitreview_support import git_review, gitreview_clone, review_change
from tests.e2e.pipeline_support import (
    approve,
    change_info,
    ci_messages,
    ci_verified,
    make_core,
    only_change,
    push_change,
    status,
    wait_for,
)
from tests.support import GitUser, Server, gerrit_json


def merge(server: Server, number: int, core1: GitUser, core2: GitUser,
          submit: bool = False) -> None:
    """Approve; the gate merges changes to config, a core submits a project without jobs."""
    approve(server, number, core1, core2)
    if submit:
        with server.client(core1.username, core1.password) as c:
            submitted = c.post(f"/a/changes/{number}/submit")
            assert submitted.status_code == 200, submitted.text
    wait_for(f"change {number} to merge", lambda: status(server, number) == "MERGED", server)


def random_ranking(rng: random.Random, candidates: list[str]) -> list[list[str]]:
    """Some candidates ranked, in groups of tied ones; the rest left out."""
    chosen = rng.sample(candidates, rng.randint(1, len(candidates)))
    groups: list[list[str]] = []
    for name in chosen:
        if groups and rng.random() < 0.3:
            groups[-1].append(name)
        else:
            groups.append([name])
    return groups


def pref_voting_winners(ballots: list[list[list[str]]], candidates: list[str]) -> list[str]:
    from pref_voting.margin_based_methods import beat_path
    from pref_voting.profiles_with_ties import ProfileWithTies

    index = {name: i for i, name in enumerate(candidates)}
    profile = ProfileWithTies(
        [{index[n]: rank for rank, group in enumerate(b) for n in group} for b in ballots],
        candidates=list(range(len(candidates))))
    # As keepgreen counts them: candidates a ballot leaves out rank below those it names.
    profile.use_extended_strict_preference()
    return [candidates[i] for i in beat_path(profile, strength_function=profile.support)]


def test_a_ptl_election_from_nominations_to_the_ptl_group(server: Server, make_user,  # type: ignore[no-untyped-def]
                                                          tmp_path: Path) -> None:
    with server.admin_client() as admin:
        made = admin.put("/a/groups/election-officials", json={})
        assert made.status_code in (201, 409), made.text
    officials = [make_user(server, "official", groups=["Administrators",
                                                       "election-officials"])
                 for _ in range(2)]
    project = f"org/team{uuid.uuid4().hex[:6]}"
    server.create_project(project)
    make_core(server, project, *officials)
    ana, bo, cy, dee = (make_user(server, n) for n in ("ana", "bo", "cy", "dee"))
    voters = [make_user(server, f"v{i:02d}") for i in range(17)]
    outsider = make_user(server, "outsider")

    # ana and bo are in the electorate by their merged work; cy and 17 others are listed.
    for author in (ana, bo):
        clone = author.clone(project, tmp_path / f"team-{author.username}")
        push_change(author, clone, {f"{author.username}.txt": "work\n"},
                    f"Work by {author.username}")
        merge(server, only_change(server, project, f"Work by {author.username}"),
              *officials, submit=True)

    name = f"{project.rsplit('/', 1)[1]}-2027"
    path = f"elections/{name}.yaml"
    extra = [cy.username] + [v.username for v in voters]
    config = Config(GitUser(tmp_path / "admin", server, server.admin, server.admin_password),
                    tmp_path / "config-admin")
    config.publish({path: election_file(project, extra,
                                        (-timedelta(hours=1), timedelta(hours=2)),
                                        (timedelta(hours=2), timedelta(hours=3)))},
                   f"Announce election {name}")
    found = wait_for("the election", lambda: election(server, name), server, timeout=60)
    assert found["phase"] == "nominating" and found["electorate_size"] == 20
    assert found["group"] == f"team-{project.rsplit('/', 1)[1]}-ptl"

    # Candidacies: changes to config, checked, approved by the officials, merged.
    def stand(user: GitUser) -> int:
        repo = gitreview_clone(user, "config", tmp_path / f"config-{user.username}")
        git_review(user, repo, "-s")
        review_change(user, repo, {f"candidates/{name}/{user.username}.txt":
                                   f"I, {user.username}, will keep it green.\n"},
                      f"Candidacy of {user.username}")
        number = only_change(server, "config", f"Candidacy of {user.username}")
        wait_for("the candidacy check", lambda: ci_verified(change_info(server, number)),
                 server)
        return number

    refused = stand(dee)
    info = change_info(server, refused)
    assert ci_verified(info) == -1
    assert f"{dee.username} is not in the electorate" in "\n".join(ci_messages(info, 1))
    order = [bo, ana, cy]  # the order of acceptance is the tie-break
    for user in order:
        number = stand(user)
        info = change_info(server, number)
        assert ci_verified(info) == 1
        assert f"accept the candidacy of {user.username}" in "\n".join(ci_messages(info, 1))
        merge(server, number, *officials)
        wait_for(f"{user.username}'s candidacy", lambda u=user: u.username in
                 (election(server, name) or {}).get("candidates", []), server, timeout=60)
    candidates = [u.username for u in order]
    assert election(server, name)["tie_break"] == candidates

    # Approved by administrators who are not the officials: merged, but it does not count.
    admins = [make_user(server, "admin", groups=["Administrators"]) for _ in range(2)]
    hopeful = voters[1]
    number = stand(hopeful)
    merge(server, number, *admins)
    wait_for("the candidacy to be judged", lambda: any(
        c["username"] == hopeful.username for c in election(server, name)["candidacies"]),
        server, timeout=60)
    found = election(server, name)
    assert found["candidates"] == candidates
    assert {c["username"]: c["status"] for c in found["candidacies"]}[hopeful.username] == \
        "NOT_APPROVED"
    with api(server) as c:
        page = c.get(f"/elections/{name}")
        assert page.status_code == 200 and all(n in page.text for n in candidates)
        assert "not counted: needs Code-Review +2 from election-officials" in page.text
        assert c.get("/elections/no-such-election").status_code == 404

    with api(server, ana) as c:
        early = c.put(f"/api/elections/{name}/ballot", json={"ranking": [[ana.username]]})
    assert early.status_code == 409 and "not open yet" in early.text

    # Officials move the schedule: nominations closed, voting open (just now, so the work
    # merged above still falls before it).
    opened = datetime.now(UTC) - timedelta(seconds=1)
    config.publish({path: election_file(project, extra,
                                        (-timedelta(hours=3), -timedelta(seconds=1)),
                                        (-timedelta(seconds=1), timedelta(hours=1)))},
                   f"Open voting in {name}")
    wait_for("voting to open", lambda: election(server, name)["phase"] == "voting", server,
             timeout=60)

    rng = random.Random(14)
    electorate = [ana, bo, cy, *voters]
    cast: dict[str, list[list[str]]] = {}
    receipts: dict[str, dict[str, Any]] = {}
    for voter in electorate:
        ranking = random_ranking(rng, candidates)
        with api(server, voter) as c:
            answer = c.put(f"/api/elections/{name}/ballot", json={"ranking": ranking})
        assert answer.status_code == 201, answer.text
        cast[voter.username], receipts[voter.username] = ranking, answer.json()

    # A voter changes their mind with the receipt; without it a second ballot is refused.
    changed = voters[0]
    with api(server, changed) as c:
        twice = c.put(f"/api/elections/{name}/ballot", json={"ranking": [[bo.username]]})
        assert twice.status_code == 409 and "receipt" in twice.text
        again = c.put(f"/api/elections/{name}/ballot", json={
            "ranking": [[cy.username], [ana.username, bo.username]],
            "receipt": receipts[changed.username]["receipt"]})
        assert again.status_code == 200, again.text
        cast[changed.username] = [[cy.username], [ana.username, bo.username]]
        mine = c.get(f"/api/elections/{name}/ballot",
                     headers={"X-Ballot-Receipt": receipts[changed.username]["receipt"]})
        assert mine.json()["ranking"] == cast[changed.username]
        assert mine.json()["voted"] is True
        bad = c.put(f"/api/elections/{name}/ballot", json={"ranking": [["nobody"]]})
        assert bad.status_code == 400 and '"nobody" is not a candidate' in bad.text
    with api(server, outsider) as c:
        outside = c.put(f"/api/elections/{name}/ballot", json={"ranking": [[ana.username]]})
    assert outside.status_code == 403 and "may not vote" in outside.text
    with api(server) as c:
        anonymous = c.put(f"/api/elections/{name}/ballot", json={"ranking": [[ana.username]]})
        assert anonymous.status_code == 401
        pending = c.get(f"/api/elections/{name}/result").json()
        assert pending["decided"] is False and "pairwise" not in pending
        assert c.get("/api/elections/no-such").status_code == 404
    assert election(server, name)["ballots_cast"] == 20

    since_open = opened - datetime.now(UTC)  # the same opening, so the same electorate
    config.publish({path: election_file(project, extra, (-timedelta(hours=3), since_open),
                                        (since_open, -timedelta(seconds=1)))},
                   f"Close voting in {name}")
    wait_for("voting to close", lambda: election(server, name)["phase"] == "closed", server,
             timeout=60)
    assert election(server, name)["electorate_size"] == 20
    with api(server, bo) as c:
        late = c.put(f"/api/elections/{name}/ballot", json={"ranking": [[bo.username]]})
    assert late.status_code == 409 and "closed" in late.text

    with api(server) as c:
        result = c.get(f"/api/elections/{name}/result").json()
    ballots = list(cast.values())
    expected = pref_voting_winners(ballots, candidates)
    assert result["decided"] is True and result["ballots"] == 20
    assert result["winner"] == next(n for n in candidates if n in expected)
    assert sorted(result["winners"]) == sorted(expected)
    for a in candidates:
        for b in candidates:
            if a != b:
                assert result["pairwise"][a][b] == sum(
                    1 for r in ballots if _rank(r, a) < _rank(r, b)), (a, b)
    hashes = {r["receipt_hash"]: r["ranking"] for r in result["receipts"]}
    assert {h["receipt_hash"] for h in receipts.values()} == set(hashes)
    assert hashes[receipts[changed.username]["receipt_hash"]] == cast[changed.username]

    # The winner into the PTL group: keepgreen proposes the change as voting closes (an
    # official could ask at once; no one else may), the officials approve, it merges.
    winner, group = result["winner"], result["group"]
    number = wait_for("the proposal of the winner", lambda: (r := fetch_result(server, name))
                      and r["proposal_change"], server, timeout=60)
    with api(server, ana) as c:
        refused = c.post(f"/api/elections/{name}/proposal")
        assert refused.status_code == 403 and "election-officials" in refused.text
    with api(server, officials[0]) as c:
        again = c.post(f"/api/elections/{name}/proposal")
        assert again.status_code == 409 and f"change {number}" in again.text
    info = change_info(server, number)
    assert info["subject"] == f"Make {winner} PTL of {group.removesuffix('-ptl')}"
    assert info["owner"]["username"] == "keepgreen-ci"
    wait_for("the proposal's check", lambda: ci_verified(change_info(server, number)) == 1,
             server)
    merge(server, number, *officials)
    with server.admin_client() as admin:
        members = wait_for("the PTL group", lambda: (r := admin.get(
            f"/a/groups/{group}/members")).status_code == 200 and gerrit_json(r), server,
            timeout=60)
    assert [m["username"] for m in members] == [winner]


def fetch_result(server: Server, name: str) -> Any:
    with server.client() as c:
        return c.get(f"/api/elections/{name}/result").json()


def _rank(ranking: list[list[str]], name: str) -> int:
    return next((i for i, group in enumerate(ranking) if name in group), len(ranking))
