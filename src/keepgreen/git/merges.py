"""Merges, cherry-picks, rebases and diffs without a work tree.

Everything runs in the bare repository with ``git merge-tree --write-tree`` and
``git commit-tree``, so git's own merge semantics apply and no checkout is ever made.
Commit dates are given by the caller, so the same inputs always give the same commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain.change import Person
from keepgreen.git.repos import Repos


class MergeConflict(Exception):
    """The merge (or cherry-pick, or rebase) conflicts in ``files``."""

    def __init__(self, files: tuple[str, ...], message: str = "") -> None:
        super().__init__(message or f"conflicts in {', '.join(files)}")
        self.files = files


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # "A", "D", "R", "C", "M" (modified), "T" (type change)
    old_path: str | None
    lines_inserted: int
    lines_deleted: int
    size: int
    size_delta: int
    binary: bool = False


class Merger:
    def __init__(self, repos: Repos) -> None:
        self.repos = repos

    def merge_tree(self, project: str, ours: str, theirs: str,
                   merge_base: str | None = None) -> str:
        """The tree of merging ``theirs`` into ``ours``; raises MergeConflict."""
        raise NotImplementedError

    def merge_commit(self, project: str, ours: str, theirs: str, message: str,
                     committer: Person) -> str:
        """A merge commit with parents (ours, theirs); raises MergeConflict."""
        raise NotImplementedError

    def cherry_pick(self, project: str, commit: str, onto: str, committer: Person,
                    message: str | None = None) -> str:
        """``commit`` re-applied on ``onto`` (author kept, committer given)."""
        raise NotImplementedError

    def rebase(self, project: str, commits: list[str], onto: str,
               committer: Person) -> list[str]:
        """Re-apply ``commits`` (oldest first) on ``onto``; the new commits, in order."""
        raise NotImplementedError

    def change_kind(self, project: str, old: str, new: str) -> str:
        """Gerrit's change kind of patch set ``new`` relative to ``old``."""
        raise NotImplementedError

    def files(self, project: str, commit: str, base: str | None = None) -> list[FileChange]:
        """Files ``commit`` changes against ``base`` (default: its first parent)."""
        raise NotImplementedError
