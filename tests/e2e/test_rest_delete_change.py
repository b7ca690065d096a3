"""Deleting a change as Gerrit does: administrators may delete an open or abandoned
change, its owner only where the project grants ``deleteOwnChanges``; the change, its refs
and its review state are gone, a ``change-deleted`` event says so, and a merged change
stays. On SQLite and on PostgreSQL."""

from __future__ import annotations

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


def _change_refs(team: Team, number: int) -> list[str]:
    listed = team.git("ls-remote", "origin", f"refs/changes/{number % 100:02d}/{number}/*")
    return [line.split()[1] for line in listed.splitlines()]


def test_owners_delete_their_changes_only_where_allowed(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    team.amend("a.txt", "a2\n")
    team.review(team.carol, n, {"Code-Review": 1}, comments={"a.txt": [
        {"line": 1, "message": "Hm"}]})
    alice, bob = team.api(team.alice), team.api(team.bob)
    assert len(_change_refs(team, n)) == 2

    status, reason = refused(lambda: alice.delete(f"/changes/{n}"))
    assert status == 403 and "deleteOwnChanges" in reason
    team.api().post(f"/projects/{team.quoted}/access", json={"add": {"refs/heads/*": {
        "permissions": {"deleteOwnChanges": {"rules": {
            "Registered Users": {"action": "ALLOW"}}}}}}})
    assert refused(lambda: bob.delete(f"/changes/{n}"))[0] == 403  # not his change

    alice.delete(f"/changes/{n}")
    assert refused(lambda: alice.get(f"/changes/{n}"))[0] == 404
    assert alice.get(f"/changes/?q=project:{team.project}") == []
    assert _change_refs(team, n) == []
    deleted = [e for e in team.events() if e["type"] == "change-deleted"]
    assert [(e["change"]["number"], e["deleter"]["username"]) for e in deleted] == [
        (n, team.alice.username)]
    assert refused(lambda: alice.delete(f"/changes/{n}"))[0] == 404


def test_administrators_delete_abandoned_changes_but_not_merged_ones(team: Team) -> None:
    admin = team.api()
    gone = team.upload("b.txt", "b\n", "Add b")
    team.api(team.alice).post(f"/changes/{gone}/abandon", json={})
    admin.delete(f"/changes/{gone}")
    assert refused(lambda: admin.get(f"/changes/{gone}"))[0] == 404

    kept = team.upload("c.txt", "c\n", "Add c")
    team.approve(kept)
    assert team.submit(kept)["status"] == "MERGED"
    assert refused(lambda: admin.delete(f"/changes/{kept}")) == (
        409, f"change {kept} is merged; merged changes cannot be deleted")
    assert admin.get(f"/changes/{kept}")["status"] == "MERGED"
    with team.server.client() as anonymous:
        assert anonymous.delete(f"/changes/{kept}").status_code == 401
