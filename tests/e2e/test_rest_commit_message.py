"""Changing a change's commit message over REST, at once (``PUT /changes/{id}/message``)
or through a change edit that can be read back and thrown away. On SQLite and on
PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team, refused
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def _message(team: Team, number: int) -> str:
    change = team.change(number, "CURRENT_REVISION", "CURRENT_COMMIT")
    return change["revisions"][change["current_revision"]]["commit"]["message"]


def test_the_owner_sets_the_message_at_once(team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    change_id = team.change(n)["change_id"]

    alice.put(f"/changes/{n}/message", json={"message": "Add the letter a\n\nBecause."})
    change = team.change(n)
    assert (change["subject"], change["current_revision_number"]) == ("Add the letter a", 2)
    assert _message(team, n) == f"Add the letter a\n\nBecause.\n\nChange-Id: {change_id}\n"

    for who, body, status in [
            (alice, {"message": "  "}, 400),
            (alice, {"message": "Other\n\nChange-Id: I" + "0" * 40}, 400),
            (alice, {"message": _message(team, n)}, 409),
            (team.api(team.bob), {"message": "Bob's words"}, 403)]:
        assert refused(lambda w=who, b=body: w.put(f"/changes/{n}/message", json=b))[0] \
            == status, body
    assert team.change(n)["current_revision_number"] == 2


def test_a_change_edit_is_read_back_blocks_a_direct_set_and_can_be_dropped(
        team: Team) -> None:
    n = team.upload("a.txt", "a\n", "Add a")
    alice = team.api(team.alice)
    assert alice.get(f"/changes/{n}/edit:message") == _message(team, n)

    alice.put(f"/changes/{n}/edit:message", json={"message": "Edited subject"})
    assert alice.get(f"/changes/{n}/edit:message").startswith("Edited subject\n")
    status, reason = refused(lambda: alice.put(f"/changes/{n}/message",
                                               json={"message": "Direct"}))
    assert status == 409 and "change edit" in reason

    alice.delete(f"/changes/{n}/edit")
    assert alice.get(f"/changes/{n}/edit", return_response=True)[1].status_code == 204
    assert alice.get(f"/changes/{n}/edit:message") == _message(team, n)
    assert refused(lambda: alice.delete(f"/changes/{n}/edit"))[0] == 404
    assert team.change(n)["current_revision_number"] == 1
