"""In-process reads and ref creation with libgit2 (pygit2), for the push path.

A review upload reads the new commits and creates one ``refs/changes/...`` ref per patch
set; doing both without starting git processes keeps the proc-receive round trip short.
libgit2 follows git's repository format and locking, so git and keepgreen see the same
objects and refs. Everything else goes through the ``git`` binary (``repos.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pygit2

from keepgreen.domain.change import Person
from keepgreen.git.repos import CommitData, FileStats, GitError


def _person(signature: pygit2.Signature) -> Person:
    when = datetime.fromtimestamp(signature.time, UTC).replace(tzinfo=None)
    return Person(signature.name, signature.email, when)


def _commit_data(commit: pygit2.Commit) -> CommitData:
    message = commit.message
    return CommitData(str(commit.id), tuple(str(p) for p in commit.parent_ids),
                      _person(commit.author), _person(commit.committer), message)


def _stats(repo: pygit2.Repository, commit: pygit2.Commit) -> FileStats:
    if len(commit.parents) > 1:
        return FileStats((), 0, 0)  # like git log --numstat: no diff for merges
    if commit.parents:
        diff = repo.diff(commit.parents[0], commit)
    else:
        diff = commit.tree.diff_to_tree(swap=True)
    paths: list[str] = []
    for delta in diff.deltas:
        for path in (delta.old_file.path, delta.new_file.path):
            if path and path not in paths:
                paths.append(path)
    stats = diff.stats
    return FileStats(tuple(paths), stats.insertions, stats.deletions)


def new_commit_data(path: Path, tip: str,
                    limit: int) -> list[tuple[CommitData, FileStats]]:
    """Commits reachable from ``tip`` and from no branch or tag, oldest first, with the
    files each touches and its line counts (the same answer as ``git log --reverse
    --topo-order --numstat TIP --not --branches --tags``)."""
    try:
        repo = pygit2.Repository(str(path))
        walker = repo.walk(pygit2.Oid(hex=tip),
                           pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
        for name in repo.references:
            if name.startswith(("refs/heads/", "refs/tags/")):
                target = repo.references[name].peel(pygit2.Commit)
                walker.hide(target.id)
        result = []
        for commit in walker:
            result.append((_commit_data(commit), _stats(repo, commit)))
            if len(result) > limit:
                break
        return result
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise GitError(f"reading commits of {path.name} failed: {exc}") from None


def ref_target(path: Path, ref: str) -> str | None:
    """The commit ``ref`` points at, or None; read in-process because access checks ask it
    on nearly every request."""
    try:
        found = pygit2.Repository(str(path)).references.get(ref)
        return str(found.peel(pygit2.Commit).id) if found is not None else None
    except (pygit2.GitError, KeyError, ValueError):
        return None


def create_refs(path: Path, refs: list[tuple[str, str]]) -> None:
    """Create new refs (name, commit); fails if any already exists, creating none then."""
    repo = pygit2.Repository(str(path))
    created = []
    try:
        for name, target in refs:
            repo.references.create(name, pygit2.Oid(hex=target), force=False)
            created.append(name)
    except (pygit2.GitError, pygit2.AlreadyExistsError, ValueError) as exc:
        for name in created:
            repo.references.delete(name)
        raise GitError(f"creating {', '.join(n for n, _ in refs)} failed: {exc}") from None


def delete_refs(path: Path, refs: list[tuple[str, str]]) -> None:
    """Remove refs made by ``create_refs`` when what they belong to was not stored; refs
    that are missing or point elsewhere are left alone."""
    if not refs:
        return
    repo = pygit2.Repository(str(path))
    for name, target in refs:
        ref = repo.references.get(name)
        if ref is not None and str(ref.target) == target:
            repo.references.delete(name)
