"""Submitting a whole topic (Gerrit's change.submitWholeTopic): with the setting on, a
submit merges every open change of the topic across projects, or none of them, and
``submitted_together`` says so beforehand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server, gerrit_json, start_server


@pytest.fixture(scope="module")
def topic_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("site") / "site",
                          extra_env={"KEEPGREEN_SUBMIT_WHOLE_TOPIC": "1",
                                     "KEEPGREEN_RUN_JOBS": "0"})
    yield server
    server.stop()


@pytest.fixture
def teams(topic_server: Server, make_user: Any, project_name: str,
          tmp_path: Path) -> tuple[Team, str, Path]:
    """Alice's team on one project, and a second project where Carol is core too."""
    team = Team.start(topic_server, make_user, project_name, tmp_path)
    team.configure("MERGE_IF_NECESSARY", required_approvals=1)
    other = project_name + "-lib"
    topic_server.create_project(other)
    admin = team.api()
    admin.put(f"/projects/{quote(other, safe='')}/config",
              json={"submit_type": "MERGE_IF_NECESSARY", "required_approvals": 1})
    admin.put(f"/groups/{quote(other + '-core', safe='')}/members/{team.carol.username}")
    return team, other, team.alice.clone(other, tmp_path / "lib-work")


def _upload(team: Team, repo: Path, path: str, subject: str, *options: str) -> int:
    team.alice.commit(repo, path, "x\n", subject)
    pushed = team.alice.push(repo, "HEAD:refs/for/main", *options)
    assert pushed.returncode == 0, pushed.stderr
    return int(re.findall(r"/\+/(\d+) ", pushed.stderr)[0])


def test_a_topic_merges_across_projects_all_or_nothing(
        teams: tuple[Team, str, Path]) -> None:
    team, other, lib = teams
    app_change = _upload(team, team.repo, "app.txt", "Use the new call", "topic=new-call")
    lib_change = _upload(team, lib, "lib.txt", "Add the new call", "topic=new-call")
    carol = team.api(team.carol)
    with team.server.client() as c:
        info = gerrit_json(c.get("/config/server/info"))
    assert info["change"]["submit_whole_topic"] is True

    team.approve(app_change)
    status, reason = refused(lambda: team.submit(app_change))
    assert status == 409
    assert reason.startswith(f"cannot submit: change {lib_change} of topic new-call cannot "
                             "merge:")
    assert [team.change(n)["status"] for n in (app_change, lib_change)] == ["NEW", "NEW"]

    team.approve(lib_change)
    together = carol.get(f"/changes/{app_change}/submitted_together")
    assert [c["_number"] for c in together] == [lib_change, app_change]
    assert team.submit(app_change)["status"] == "MERGED"
    assert team.change(lib_change)["status"] == "MERGED"
    lib_tip = team.api().get(f"/projects/{quote(other, safe='')}/branches/main")["revision"]
    assert team.change(lib_change, "CURRENT_REVISION")["current_revision"] == lib_tip


def test_a_topic_with_a_change_the_submitter_cannot_see_is_refused(
        teams: tuple[Team, str, Path]) -> None:
    team, _, lib = teams
    shown = _upload(team, team.repo, "a.txt", "Shown", "topic=secret-plan")
    hidden = _upload(team, lib, "b.txt", "Hidden", "topic=secret-plan", "private")
    team.approve(shown)
    team.review(None, hidden, {"Code-Review": 2, "Workflow": 1})  # the administrator
    status, reason = refused(lambda: team.submit(shown))
    assert (status, reason) == (409, f"cannot submit change {shown}: 1 of the changes its "
                                     "topic takes along are ones you cannot see")
    assert team.change(shown)["status"] == "NEW"
    assert team.change(hidden, who=None)["status"] == "NEW"
    # Without a topic a change still goes alone.
    alone = team.upload("c.txt", "c\n", "Alone")
    team.approve(alone)
    assert team.submit(alone)["status"] == "MERGED"


def test_an_ancestors_topic_comes_along(teams: tuple[Team, str, Path]) -> None:
    """A change without a topic on top of one with a topic takes that topic along, in the
    other project too, as Gerrit gathers it."""
    team, _, lib = teams
    base = _upload(team, team.repo, "base.txt", "Base of the plan", "topic=layered")
    top = _upload(team, team.repo, "top.txt", "On top of the plan")
    partner = _upload(team, lib, "partner.txt", "Partner of the plan", "topic=layered")
    for number in (base, top, partner):
        team.approve(number)
    together = team.api(team.carol).get(f"/changes/{top}/submitted_together")
    assert sorted(c["_number"] for c in together) == sorted([base, top, partner])
    assert team.submit(top)["status"] == "MERGED"
    assert [team.change(n)["status"] for n in (base, partner)] == ["MERGED", "MERGED"]
