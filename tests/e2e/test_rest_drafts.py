"""Draft comments as gertty and pygerrit2 keep them: a reviewer writes, rereads, edits and
deletes their own drafts, nobody else sees or touches them, and publishing a review turns
them into comments. On SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def test_a_reviewer_edits_and_deletes_their_own_drafts(team: Team) -> None:
    n = team.upload("a.txt", "one\ntwo\n", "Add a")
    carol = team.api(team.carol)
    drafts = f"/changes/{n}/revisions/current/drafts"

    made = carol.put(drafts, json={"path": "a.txt", "line": 1, "message": "Why one?"})
    draft = f"{drafts}/{made['id']}"
    assert (made["path"], made["line"], made["message"]) == ("a.txt", 1, "Why one?")
    assert carol.get(draft)["message"] == "Why one?"

    edited = carol.put(draft, json={"line": 2, "message": "Why two?", "unresolved": True})
    assert (edited["id"], edited["path"], edited["line"], edited["message"],
            edited["unresolved"]) == (made["id"], "a.txt", 2, "Why two?", True)
    assert [d["message"] for d in carol.get(f"/changes/{n}/drafts")["a.txt"]] == ["Why two?"]

    second = carol.put(drafts, json={"path": "a.txt", "line": 1, "message": "Scratch that"})
    carol.delete(f"{drafts}/{second['id']}")
    assert refused(lambda: carol.get(f"{drafts}/{second['id']}"))[0] == 404
    assert [d["id"] for d in carol.get(drafts)["a.txt"]] == [made["id"]]

    team.review(team.carol, n, {}, drafts="PUBLISH")
    assert carol.get(drafts) == {}
    published = carol.get(f"/changes/{n}/comments")["a.txt"]
    assert [(c["line"], c["message"]) for c in published] == [(2, "Why two?")]
    # A published comment is no longer a draft to edit.
    assert refused(lambda: carol.put(draft, json={"message": "late"}))[0] == 404


def test_nobody_else_sees_or_touches_a_draft(team: Team) -> None:
    n = team.upload("a.txt", "one\n", "Add a")
    carol, dave = team.api(team.carol), team.api(team.dave)
    drafts = f"/changes/{n}/revisions/current/drafts"
    made = carol.put(drafts, json={"path": "a.txt", "line": 1, "message": "Mine"})
    draft = f"{drafts}/{made['id']}"

    assert dave.get(drafts) == {}
    assert dave.get(f"/changes/{n}/drafts") == {}
    for call in (lambda: dave.get(draft), lambda: dave.put(draft, json={"message": "x"}),
                 lambda: dave.delete(draft)):
        status, reason = refused(call)
        assert status == 404 and made["id"] in reason
    with team.server.client() as anonymous:
        assert anonymous.get(f"/changes/{n}/revisions/current/drafts").status_code == 200
        assert anonymous.delete(draft).status_code == 401
    assert carol.get(draft)["message"] == "Mine"

    for body, status in [({"message": "x" * (16 * 1024 + 1)}, 400),
                         ({"line": -1, "message": "x"}, 400),
                         ({"path": "", "message": "x"}, 400)]:
        assert refused(lambda b=body: carol.put(draft, json=b))[0] == status, body
    assert carol.get(draft)["message"] == "Mine"
    other = team.upload("b.txt", "b\n", "Add b")
    assert refused(lambda: carol.get(
        f"/changes/{other}/revisions/current/drafts/{made['id']}"))[0] == 404
