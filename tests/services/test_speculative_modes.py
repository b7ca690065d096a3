"""Speculative states by merge mode, on a real bare repository: each mode gives the shape a
Zuul user expects, every mode the same tree, and the same inputs the very same commits."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from keepgreen.domain.change import NEW, Change, PatchSet, Person
from keepgreen.services.gating.gate import (
    MERGE_MODES,
    MergeItem,
    SpeculativeConflict,
    SpeculativeMerger,
    merge_mode_for,
)
from tests.services.git_support import Repo

T1 = datetime(2024, 3, 2, 12, 0, 0)


def item(number: int, sha: str) -> MergeItem:
    change = Change(number=number, change_id=f"I{number:040d}", project="p", branch="main",
                    owner_id=1, subject=f"change {number}", status=NEW, current_patch_set=1,
                    created=T1, updated=T1)
    who = Person("Alice", "alice@example.com", T1)
    patch_set = PatchSet(change_number=number, number=1, sha=sha, parents=(), uploader_id=1,
                         created=T1, message=f"change {number}\n", author=who, committer=who)
    return MergeItem(change, patch_set)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def states(repo: Repo) -> tuple[str, dict[str, str], SpeculativeMerger, list[MergeItem]]:
    """A branch that moved on after two changes were made on its old tip."""
    base = repo.commit(None, {"a.txt": "a\n"})
    tip = repo.commit(base, {"a.txt": "a\n", "tip.txt": "tip\n"})
    repo.git("update-ref", "refs/heads/main", tip)
    one = repo.commit(base, {"a.txt": "a\n", "one.txt": "one\n"}, "change 1\n")
    two = repo.commit(base, {"a.txt": "a\n", "two.txt": "two\n"}, "change 2\n")
    merger = SpeculativeMerger(repo.repos, repo.merger, "keepgreen-ci", "ci@keepgreen.invalid")
    items = [item(1, one), item(2, two)]
    return tip, {mode: merger.merge("p", "main", items, mode) for mode in MERGE_MODES}, \
        merger, items


def parents(repo: Repo, sha: str) -> list[str]:
    return repo.git("rev-list", "--parents", "-n", "1", sha).split()[1:]


def test_every_mode_tests_the_same_tree_in_its_own_shape(repo: Repo) -> None:
    tip, made, _, _ = states(repo)
    trees = {mode: repo.git("rev-parse", f"{sha}^{{tree}}").strip() for mode, sha in made.items()}
    assert len(set(trees.values())) == 1
    files = repo.git("ls-tree", "--name-only", made["merge"]).split()
    assert files == ["a.txt", "one.txt", "tip.txt", "two.txt"]
    # merge and merge-resolve: a merge commit per change, on top of the branch tip.
    assert len(parents(repo, made["merge"])) == 2
    assert parents(repo, made["merge-resolve"])[1] != tip
    # cherry-pick, rebase and squash-merge: a straight line of one-parent commits.
    for mode in ("cherry-pick", "rebase", "squash-merge"):
        first = parents(repo, made[mode])
        assert len(first) == 1 and parents(repo, first[0]) == [tip], mode
    assert repo.git("log", "-1", "--format=%s", made["cherry-pick"]).strip() == "change 2"
    assert repo.git("log", "-1", "--format=%s", made["squash-merge"]).strip() == (
        "Squashed change 2,1")


def test_the_same_state_twice_gives_the_same_commits(repo: Repo) -> None:
    _, made, merger, items = states(repo)
    for mode in MERGE_MODES:
        assert merger.merge("p", "main", items, mode) == made[mode], mode


def test_a_conflict_names_the_change_in_every_mode(repo: Repo) -> None:
    base = repo.commit(None, {"a.txt": "a\n"})
    tip = repo.commit(base, {"a.txt": "tip\n"})
    repo.git("update-ref", "refs/heads/main", tip)
    clash = repo.commit(base, {"a.txt": "mine\n"})
    merger = SpeculativeMerger(repo.repos, repo.merger, "keepgreen-ci", "ci@keepgreen.invalid")
    for mode in MERGE_MODES:
        with pytest.raises(SpeculativeConflict, match=r"change 7,1 .* conflicts in a\.txt"):
            merger.merge("p", "main", [item(7, clash)], mode)
    with pytest.raises(SpeculativeConflict, match="merge mode 'octopus'"):
        merger.merge("p", "main", [item(7, clash)], "octopus")


def test_the_mode_follows_the_project_stanza_then_the_submit_type() -> None:
    assert merge_mode_for("MERGE_IF_NECESSARY", None) == "merge-resolve"
    assert merge_mode_for("CHERRY_PICK", None) == "cherry-pick"
    assert merge_mode_for("REBASE_ALWAYS", None) == "rebase"
    assert merge_mode_for("CHERRY_PICK", "squash-merge") == "squash-merge"

