"""Branches and tags made, listed and removed over REST with pygerrit2, as release scripts
do: the same access rules as a direct push, a ``ref-updated`` event for each, and refusals
for what Gerrit refuses (a ref that exists, the HEAD branch, a branch with open changes, a
revision the caller cannot read)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def ref_events(team: Team) -> list[tuple[str, str, str]]:
    return [(e["refUpdate"]["refName"], e["refUpdate"]["oldRev"][:7], e["refUpdate"]["newRev"][:7])
            for e in team.events() if e["type"] == "ref-updated"]


def test_branches_are_made_and_removed_under_the_access_rules(team: Team) -> None:
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}/branches"
    main = admin.get(f"{p}/main")["revision"]

    made = admin.put(f"{p}/stable%2F1.0", json={})
    assert made == {"ref": "refs/heads/stable/1.0", "revision": main, "can_delete": True}
    assert admin.get(f"{p}/stable%2F1.0")["revision"] == main
    assert "refs/heads/stable/1.0" in [b["ref"] for b in alice.get(f"{p}/")]
    assert ("refs/heads/stable/1.0", "0000000", main[:7]) in ref_events(team)
    fetched = team.git("ls-remote", "origin", "refs/heads/stable/1.0")
    assert fetched.startswith(main)

    status, reason = refused(lambda: alice.put(f"{p}/mine", json={}))
    assert status == 403 and "create" in reason
    assert refused(lambda: alice.delete(f"{p}/stable%2F1.0"))[0] == 403
    assert refused(lambda: admin.put(f"{p}/stable%2F1.0", json={}))[0] == 409
    assert refused(lambda: admin.put(f"{p}/bad..name", json={}))[0] == 400
    assert refused(lambda: admin.put(f"{p}/x", json={"revision": "f" * 40}))[0] == 400
    assert refused(lambda: admin.delete(f"{p}/main"))[0] == 409  # HEAD

    # A change open on the branch keeps it; without changes it goes.
    team.git("fetch", "-q", "origin")
    team.git("checkout", "-q", "--detach", "origin/stable/1.0")
    team.alice.commit(team.repo, "a.txt", "a\n", "Work on 1.0")
    pushed = team.alice.push(team.repo, "HEAD:refs/for/stable/1.0")
    assert pushed.returncode == 0, pushed.stderr
    status, reason = refused(lambda: admin.delete(f"{p}/stable%2F1.0"))
    assert status == 409 and "open changes" in reason
    admin.put(f"{p}/stable%2F2.0", json={"revision": main})
    admin.delete(f"{p}/stable%2F2.0")
    assert refused(lambda: admin.get(f"{p}/stable%2F2.0"))[0] == 404
    assert ("refs/heads/stable/2.0", main[:7], "0000000") in ref_events(team)


def test_a_branch_cannot_expose_a_private_changes_commit(team: Team) -> None:
    n = team.upload("secret.txt", "hidden\n", "Private work")
    team.api(team.alice).post(f"/changes/{n}/private", json={})
    sha = team.change(n, "CURRENT_REVISION", who=team.alice)["current_revision"]
    p = f"/projects/{team.quoted}/branches"
    status, reason = refused(lambda: team.api().put(f"{p}/leak", json={"revision": sha}))
    assert status == 400 and "not on a branch or tag" in reason


def test_tags_lightweight_and_annotated_follow_the_rules(team: Team) -> None:
    admin, carol, alice = team.api(), team.api(team.carol), team.api(team.alice)
    p = f"/projects/{team.quoted}/tags"
    main = admin.get(f"/projects/{team.quoted}/branches/main")["revision"]

    light = admin.put(f"{p}/0.9", json={})
    assert (light["ref"], light["revision"]) == ("refs/tags/0.9", main) and "object" not in light
    assert refused(lambda: carol.put(f"{p}/1.0", json={"message": "One"}))[0] == 403
    admin.post(f"/projects/{team.quoted}/access", json={"add": {"refs/tags/*": {
        "permissions": {"create": {"rules": {f"{team.project}-core": {"action": "ALLOW"}}}}}}})
    signed = carol.put(f"{p}/1.0", json={"message": "Release 1.0\n\nFirst one."})
    assert signed["object"] == main and signed["revision"] != main
    assert signed["message"] == "Release 1.0\n\nFirst one."
    assert signed["tagger"]["name"] and "can_delete" not in signed
    assert [t["ref"] for t in alice.get(f"{p}/")] == ["refs/tags/0.9", "refs/tags/1.0"]
    assert alice.get(f"{p}/1.0") == {k: v for k, v in signed.items() if k != "can_delete"}
    described = team.git("fetch", "-q", "origin", "--tags") or team.git(
        "cat-file", "-p", "refs/tags/1.0")
    assert "tag 1.0" in described and "Release 1.0" in described
    assert ("refs/tags/1.0", "0000000", signed["revision"][:7]) in ref_events(team)

    assert refused(lambda: carol.put(f"{p}/1.0", json={}))[0] == 409
    assert refused(lambda: carol.delete(f"{p}/1.0"))[0] == 403
    admin.delete(f"{p}/1.0")
    assert refused(lambda: alice.get(f"{p}/1.0"))[0] == 404
    assert refused(lambda: admin.delete(f"{p}/{quote('nope')}"))[0] == 404


def test_a_branch_the_caller_may_not_read_is_nowhere_to_be_seen(team: Team) -> None:
    """Blocked from reading refs/heads/secret, Alice finds it neither listed nor by name,
    cannot delete it (404, as if missing), and cannot start a change or cherry-pick onto it
    to learn its tip."""
    admin, alice = team.api(), team.api(team.alice)
    p = f"/projects/{team.quoted}/branches"
    assert admin.put(f"{p}/secret", json={})["ref"] == "refs/heads/secret"
    assert "refs/heads/secret" in [b["ref"] for b in alice.get(f"{p}/")]
    admin.post(f"/projects/{team.quoted}/access", json={"add": {"refs/heads/secret": {
        "permissions": {"read": {"rules": {"Registered Users": {"action": "BLOCK"}}}}}}})
    assert "refs/heads/secret" not in [b["ref"] for b in alice.get(f"{p}/")]
    assert refused(lambda: alice.get(f"{p}/secret"))[0] == 404
    assert refused(lambda: alice.delete(f"{p}/secret")) == refused(
        lambda: alice.delete(f"{p}/nothing-here"))[:1] + (
        f"branch secret not found in {team.project}",)
    status, reason = refused(lambda: alice.post("/changes/", json={
        "project": team.project, "branch": "secret", "subject": "Peek"}))
    assert (status, reason) == (400, f"branch secret not found in {team.project}")
    n = team.upload("p.txt", "p\n", "Pick me")
    status, reason = refused(lambda: alice.post(
        f"/changes/{n}/revisions/current/cherrypick", json={"destination": "secret"}))
    assert (status, reason) == (400, "branch secret not found")
