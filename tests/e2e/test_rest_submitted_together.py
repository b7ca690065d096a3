"""``submitted_together`` tells a reviewer what a submit would merge: the change and its open
ancestors in the relation chain (newest first), nothing for a change that goes alone, and
only what the caller may see, with a count of the rest on request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_review_votes import Team
from tests.support import Server


@pytest.fixture
def team(server: Server, make_user: Any, project_name: str, tmp_path: Path) -> Team:
    return Team.start(server, make_user, project_name, tmp_path)


def test_a_chain_is_submitted_together_and_a_lone_change_alone(team: Team) -> None:
    first = team.upload("a.txt", "a\n", "First")
    team.alice.commit(team.repo, "b.txt", "b\n", "Second")
    second = max(team.push())
    lone = team.upload("c.txt", "c\n", "Alone")
    alice = team.api(team.alice)

    together = alice.get(f"/changes/{second}/submitted_together")
    assert [c["_number"] for c in together] == [second, first]
    assert alice.get(f"/changes/{first}/submitted_together") == []
    assert alice.get(f"/changes/{lone}/submitted_together") == []

    team.api(team.alice).post(f"/changes/{first}/private", json={})
    bob = team.api(team.bob)
    assert [c["_number"] for c in bob.get(f"/changes/{second}/submitted_together")] == [
        second]
    counted = bob.get(f"/changes/{second}/submitted_together?o=NON_VISIBLE_CHANGES")
    assert counted["non_visible_changes"] == 1
    assert [c["_number"] for c in counted["changes"]] == [second]
