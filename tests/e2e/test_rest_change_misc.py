"""The change endpoints around the edges of review, as their users meet them: where a
merged change landed, a consistency check that finds (and mends) a lost patch-set ref, an
administrator taking down a change message, reverting a whole submission, and the plain
answers for plugin features keepgreen does not have. On SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def _status(api: Any, method: str, path: str, **kwargs: Any) -> int:
    response = api.session.request(method, api.make_url(path), auth=api.auth, **kwargs)
    return int(response.status_code)


def test_included_in_names_the_branches_and_tags_holding_a_merged_change(team: Team) -> None:
    team.configure("MERGE_IF_NECESSARY", 1)
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    assert alice.get(f"/changes/{n}/in") == {"branches": [], "tags": []}
    team.approve(n)
    team.submit(n)
    admin = team.api()
    tip = admin.get(f"/projects/{team.quoted}/branches/main")["revision"]
    admin.put(f"/projects/{team.quoted}/tags/v1", json={"revision": tip})
    admin.put(f"/projects/{team.quoted}/branches/stable", json={"revision": tip})
    assert alice.get(f"/changes/{n}/in") == {"branches": ["main", "stable"], "tags": ["v1"]}


def test_the_consistency_check_finds_and_mends_a_lost_patch_set_ref(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice, bob = team.api(team.alice), team.api(team.bob)
    healthy = alice.get(f"/changes/{n}/check")
    assert (healthy["_number"], healthy["problems"]) == (n, [])

    ref = f"refs/changes/{n % 100:02d}/{n}/1"
    repo = team.server.site / "git" / f"{team.project}.git"
    subprocess.run(["git", "--git-dir", str(repo), "update-ref", "-d", ref], check=True)
    assert alice.get(f"/changes/{n}/check")["problems"] == [{"message": f"Ref missing: {ref}"}]
    assert refused(lambda: bob.post(f"/changes/{n}/check", json={}))[0] == 403
    fixed = alice.post(f"/changes/{n}/check", json={})
    assert fixed["problems"] == [{"message": f"Ref missing: {ref}", "status": "FIXED",
                                  "outcome": "Repaired patch set ref"}]
    assert bob.get(f"/changes/{n}/check")["problems"] == []
    assert refused(lambda: alice.post(f"/changes/{n}/check", json={"delete_patch_set_"
                                                                     "if_commit_missing": 3}))[0] \
        == 400


def test_an_administrator_takes_down_a_change_message(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.review(team.bob, n, {}, message="Something nobody should read")
    alice, admin = team.api(team.alice), team.api()
    message = alice.get(f"/changes/{n}/messages")[-1]
    assert message["message"].endswith("Something nobody should read")

    assert refused(lambda: alice.delete(f"/changes/{n}/messages/{message['id']}"))[0] == 403
    removed = admin.post(f"/changes/{n}/messages/{message['id']}/delete",
                         json={"reason": "spam"})
    name = admin.get("/accounts/self")["name"]
    assert removed["message"] == f"Change message removed by: {name}\nReason: spam"
    assert alice.get(f"/changes/{n}/messages")[-1]["message"] == removed["message"]
    admin.delete(f"/changes/{n}/messages/{message['id']}")
    assert alice.get(f"/changes/{n}/messages/{message['id']}")["message"] \
        == f"Change message removed by: {name}"
    for bad in ["999999999", "nope", "1" * 30]:
        assert refused(lambda b=bad: admin.delete(f"/changes/{n}/messages/{b}"))[0] == 404


def test_reverting_a_submission_reverts_every_change_it_merged(team: Team) -> None:
    team.configure("MERGE_IF_NECESSARY", 1)
    first = team.upload("a.txt", "a\n", "Add a")
    team.git("checkout", "-q", "HEAD")
    second = team.upload("b.txt", "b\n", "Add b", base="HEAD")
    for n in (first, second):
        team.approve(n)
    alice = team.api(team.alice)
    assert refused(lambda: alice.post(f"/changes/{second}/revert_submission",
                                      json={}))[0] == 409
    team.submit(second)
    assert team.change(first)["status"] == "MERGED"

    reverts = alice.post(f"/changes/{first}/revert_submission", json={})["revert_changes"]
    assert [r["subject"] for r in reverts] == ['Revert "Add b"', 'Revert "Add a"']
    assert len({r["topic"] for r in reverts}) == 1
    assert all(r["status"] == "NEW" for r in reverts)
    messages = alice.get(f"/changes/{second}/messages")
    assert messages[-1]["message"].startswith("Created a revert of this change")


def test_plugin_features_answer_plainly_and_hidden_changes_stay_hidden(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice, bob = team.api(team.alice), team.api(team.bob)
    assert alice.get(f"/changes/{n}/validation-options") == {"validation_options": []}
    assert alice.get(f"/changes/{n}/custom_keyed_values") == {}
    status, reason = refused(lambda: alice.post(f"/changes/{n}/custom_keyed_values",
                                                json={"add": {"k": "v"}}))
    assert status == 405 and "hashtags" in reason

    alice.post(f"/changes/{n}/private", json={})
    message = alice.get(f"/changes/{n}/messages")[0]["id"]
    for method, path in [("GET", "in"), ("GET", "check"), ("POST", "check"),
                         ("GET", "validation-options"), ("GET", "custom_keyed_values"),
                         ("POST", f"messages/{message}/delete"), ("POST", "revert_submission")]:
        assert _status(bob, method, f"/changes/{n}/{path}", json={}) == 404, path
    assert team.server.client().get(f"/changes/{n}/in").status_code == 404
