"""Trying things out against one change and several projects, as review tools do: a submit
requirement given by hand (``check.submit_requirement``), a change query expression
(``/changes/{id}/query``) and the access rights of several projects (``/access/``).

Alice uploads with plain git, Carol (core) votes, Bob is a registered user and Eve a
stranger kept out; every test runs once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from pygerrit2 import Anonymous, GerritRestAPI

from tests.e2e.test_review_votes import Team, refused
from tests.support import GitUser, Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def anonymous(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=Anonymous())


def hide_from(team: Team, who: GitUser, project: str | None = None) -> None:
    """Block ``who`` (through a group of their own) from reading the project."""
    group = f"outsiders-{uuid.uuid4().hex[:6]}"
    admin = team.api()
    admin.put(f"/groups/{group}", json={"members": [who.username]})
    admin.post(f"/projects/{quote(project or team.project, safe='')}/access", json={"add": {
        "refs/*": {"permissions": {"read": {"rules": {group: {"action": "BLOCK"}}}}}}})


def check(team: Team, number: int, *, who: GitUser | None = None, **requirement: Any) -> Any:
    return team.api(who or team.bob).post(f"/changes/{number}/check.submit_requirement",
                                          json=requirement)


def evaluate(team: Team, number: int, expression: str, who: GitUser | None = None) -> Any:
    return team.api(who or team.bob).get(
        f"/changes/{number}/query?expression={quote(expression, safe='')}")


# -- check.submit_requirement ---------------------------------------------------------------

def test_a_requirement_given_by_hand_is_evaluated_without_being_saved(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    review: dict[str, Any] = {"name": "Review", "description": "one +2 please",
                              "submittability_expression":
                                  "label:Code-Review=+2 AND -label:Code-Review=-2"}

    result = check(team, n, **review)
    assert result["name"] == "Review" and result["description"] == "one +2 please"
    assert result["status"] == "UNSATISFIED" and result["is_legacy"] is False
    submittability = result["submittability_expression_result"]
    assert submittability["expression"] == review["submittability_expression"]
    assert submittability["fulfilled"] is False and submittability["status"] == "FAIL"
    # Atoms are reported as they hold on their own: nobody voted -2 either.
    assert submittability["failing_atoms"] == ["label:Code-Review=+2", "label:Code-Review=-2"]
    assert submittability["passing_atoms"] == []
    assert "applicability_expression_result" not in result

    team.review(team.carol, n, {"Code-Review": 2})
    result = check(team, n, **review)
    assert result["status"] == "SATISFIED"
    assert result["submittability_expression_result"]["status"] == "PASS"
    assert result["submittability_expression_result"]["passing_atoms"] == ["label:Code-Review=+2"]

    # Nothing was stored: the change still has only the site's requirements.
    names = {r["name"] for r in team.change(n, "SUBMIT_REQUIREMENTS")["submit_requirements"]}
    assert "Review" not in names


def test_applicability_override_and_errors_show_in_the_status(team: Team) -> None:
    n = team.upload("b.txt", "b\n", "Add b")
    not_here = check(team, n, name="Elsewhere", applicability_expression="project:elsewhere",
                     submittability_expression="label:Code-Review=+2")
    assert not_here["status"] == "NOT_APPLICABLE"
    assert not_here["applicability_expression_result"] == {
        "expression": "project:elsewhere", "fulfilled": False, "status": "FAIL",
        "passing_atoms": [], "failing_atoms": ["project:elsewhere"]}
    assert "submittability_expression_result" not in not_here

    overridden = check(team, n, name="Hotfix", submittability_expression="label:Code-Review=+2",
                       override_expression=f"project:{team.project}",
                       allow_override_in_child_projects=True)
    assert overridden["status"] == "OVERRIDDEN"
    assert overridden["override_expression_result"]["fulfilled"] is True
    assert "applicability_expression_result" not in overridden

    broken = check(team, n, name="Odd", submittability_expression="is:submittable")
    assert broken["status"] == "ERROR"
    assert "is:submittable" in broken["submittability_expression_result"]["error_message"]


def test_bad_requirements_are_refused_in_one_sentence(team: Team) -> None:
    n = team.upload("c.txt", "c\n", "Add c")
    bob = team.bob
    status, reason = refused(lambda: check(team, n, name="X",
                                           submittability_expression="label:Code-Review=+2 AND ("))
    assert status == 400 and "submittability expression" in reason
    status, reason = refused(lambda: check(team, n, name="X", submittability_expression="is:open",
                                           override_expression="OR"))
    assert status == 400 and "override expression" in reason
    status, reason = refused(lambda: check(team, n, name="X", submittability_expression="is:open",
                                           applicability_expression="((x"))
    assert status == 400 and "applicability expression" in reason
    assert refused(lambda: check(team, n, name="X"))[0] == 400
    assert refused(lambda: check(team, n, submittability_expression="is:open"))[0] == 400
    assert refused(lambda: check(team, n, name=7, submittability_expression="is:open"))[0] == 400
    assert refused(lambda: check(team, n, name="X", submittability_expression="is:open",
                                 allow_override_in_child_projects="yes"))[0] == 400
    assert refused(lambda: team.api(bob).post(f"/changes/{n}/check.submit_requirement",
                                              json=[1]))[0] == 400
    assert refused(lambda: check(team, 999999, name="X",
                                 submittability_expression="is:open"))[0] == 404


def test_only_those_who_see_the_change_may_check_it(team: Team, make_user: Any) -> None:
    n = team.upload("d.txt", "d\n", "Add d")
    requirement = {"name": "X", "submittability_expression": "is:open"}
    # Anyone who may see the change may check; signing in is needed for a POST.
    assert check(team, n, who=team.bob, **requirement)["status"] == "SATISFIED"
    assert refused(lambda: anonymous(team.server).post(
        f"/changes/{n}/check.submit_requirement", json=requirement))[0] == 401

    team.api(team.alice).post(f"/changes/{n}/private", json={})
    assert check(team, n, who=team.alice, **requirement)["status"] == "SATISFIED"
    status, reason = refused(lambda: check(team, n, who=team.bob, **requirement))
    assert status == 404 and "not found" in reason

    eve = make_user(team.server, "eve")
    m = team.upload("e.txt", "e\n", "Add e")
    hide_from(team, eve)
    assert refused(lambda: check(team, m, who=eve, **requirement))[0] == 404


# -- /changes/{id}/query --------------------------------------------------------------------

def test_a_query_expression_is_evaluated_atom_by_atom(team: Team) -> None:
    n = team.upload("f.txt", "f\n", "Add f")
    assert evaluate(team, n, "status:open") == {
        "status": True, "passing_atoms": ["status:open"], "failing_atoms": []}

    result = evaluate(team, n, f"status:open -is:wip (status:merged OR project:{team.project})")
    assert result["status"] is True
    assert result["passing_atoms"] == ["status:open", f"project:{team.project}"]
    assert result["failing_atoms"] == ["is:wip", "status:merged"]

    result = evaluate(team, n, "status:open label:Code-Review=+2")
    assert result["status"] is False and result["failing_atoms"] == ["label:Code-Review=+2"]
    team.review(team.carol, n, {"Code-Review": 2})
    assert evaluate(team, n, "status:open label:Code-Review=+2")["status"] is True

    # "self" is the caller: the change is Alice's, not Bob's.
    assert evaluate(team, n, "owner:self", team.alice)["status"] is True
    assert evaluate(team, n, "owner:self", team.bob)["status"] is False
    # Another change's number never matches this one.
    assert evaluate(team, n, f"change:{n + 1000}")["status"] is False

    # Anonymous callers may evaluate expressions on public changes.
    anon = anonymous(team.server).get(f"/changes/{n}/query?expression=is:open")
    assert anon["status"] is True


def test_bad_or_hidden_query_evaluations_are_refused(team: Team, make_user: Any) -> None:
    n = team.upload("g.txt", "g\n", "Add g")
    for bad in ("(status:open", "status:open OR", ""):
        status, reason = refused(lambda bad=bad: evaluate(team, n, bad))  # type: ignore[misc]
        assert status == 400, (bad, reason)
    assert "expression is required" in refused(
        lambda: team.api(team.bob).get(f"/changes/{n}/query"))[1]
    assert "invalid query expression" in refused(lambda: evaluate(team, n, "nosuch:thing"))[1]
    assert refused(lambda: evaluate(team, n, " OR ".join(["is:open"] * 70)))[0] == 400
    assert refused(lambda: evaluate(team, 999999, "is:open"))[0] == 404

    team.api(team.alice).post(f"/changes/{n}/private", json={})
    assert evaluate(team, n, "is:private", team.alice)["status"] is True
    assert refused(lambda: evaluate(team, n, "is:open", team.bob))[0] == 404
    assert refused(lambda: anonymous(team.server).get(
        f"/changes/{n}/query?expression=is:open"))[0] == 404

    eve = make_user(team.server, "eve")
    m = team.upload("h.txt", "h\n", "Add h")
    hide_from(team, eve)
    assert refused(lambda: evaluate(team, m, "is:open", eve))[0] == 404


# -- /access/ -------------------------------------------------------------------------------

def test_access_of_several_projects_at_once(team: Team, make_user: Any) -> None:
    other = f"{team.project}-other"
    team.server.create_project(other)
    admin = team.api()
    single = admin.get(f"/projects/{team.quoted}/access")
    both = admin.get(f"/access/?project={team.quoted}&project={quote(other, safe='')}")
    assert sorted(both) == sorted([team.project, other])
    assert both[team.project] == single
    assert both[other]["inherits_from"]["name"] == "All-Projects"
    assert team.api(team.bob).get(f"/access/?p={team.quoted}")[team.project]["is_owner"] is False
    assert anonymous(team.server).get(f"/access/?project={team.quoted}")[team.project]
    assert admin.get("/access/") == {}

    # A project the caller may not see answers exactly as an unknown one: 404 for all.
    eve = make_user(team.server, "eve")
    hide_from(team, eve, other)
    assert team.api(eve).get(f"/access/?project={team.quoted}")[team.project]
    hidden = refused(lambda: team.api(eve).get(
        f"/access/?project={team.quoted}&project={quote(other, safe='')}"))
    missing = f"no-such-{uuid.uuid4().hex[:6]}"
    unknown = refused(lambda: team.api(eve).get(
        f"/access/?project={team.quoted}&project={missing}"))
    assert hidden[0] == unknown[0] == 404
    assert hidden[1].replace(other, "?") == unknown[1].replace(missing, "?")
    assert refused(lambda: admin.get(
        "/access/?" + "&".join(f"project=p{i}" for i in range(101))))[0] == 400
