"""Which branch of a project outside the item's state a build checks out (Zuul's rule)."""

from __future__ import annotations

from keepgreen.services.gating.builds import pick_branch

BRANCHES = {"main", "stable/2024.1", "feature/x"}


def test_an_override_the_project_has_wins() -> None:
    assert pick_branch(BRANCHES, "main", "feature/x", "stable/2024.1") == "stable/2024.1"


def test_the_first_override_the_project_has_is_used() -> None:
    assert pick_branch(BRANCHES, "main", "main", "stable/1999", "feature/x") == "feature/x"


def test_else_the_items_branch_if_the_project_has_it() -> None:
    assert pick_branch(BRANCHES, "main", "feature/x", None) == "feature/x"


def test_else_the_default_branch() -> None:
    assert pick_branch(BRANCHES, "main", "stable/2023.2", "nope") == "main"
    assert pick_branch({"master"}, "master", "main") == "master"
