"""Whether a change would merge cleanly into its branch now, as Gerrit's ``mergeable``
endpoint and ``is:mergeable`` answer it.

A check is the merge the project's submit type would make, done on the object store
without touching a work tree or a ref. Its answer is kept on the change with the patch set
and branch tip it was made for, so it stays valid until either moves; ``is:mergeable``
first re-checks the open changes whose kept answer is stale.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain.change import NEW, Change, PatchSet
from keepgreen.git.merges import MergeConflict, Merger
from keepgreen.git.repos import Repos
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as store
from keepgreen.store.db import Database

MAX_REFRESH = 2000  # open changes re-checked for one query; the rest keep their answer


@dataclass(frozen=True)
class Mergeable:
    submit_type: str
    mergeable: bool
    commit_merged: bool = False
    conflicts: tuple[str, ...] = ()


class Mergeability:
    def __init__(self, db: Database, repos: Repos, merger: Merger,
                 projects: ProjectService) -> None:
        self.db = db
        self.repos = repos
        self.merger = merger
        self.projects = projects

    def check(self, change: Change, ps: PatchSet) -> Mergeable:
        """Would ``ps`` of ``change`` merge into the branch tip now (and remember it)."""
        project = self.projects.exists(change.project)
        kind = project.submit_type if project is not None else "MERGE_IF_NECESSARY"
        tip = self.repos.resolve(change.project, "refs/heads/" + change.branch)
        result = self._check(change.project, kind, ps, tip)
        if change.status == NEW and ps.number == change.current_patch_set:
            with self.db.write() as conn:
                store.update_change(conn, change.number, mergeable=result.mergeable,
                                    mergeable_key=_key(ps, tip))
        return result

    def _check(self, project: str, kind: str, ps: PatchSet, tip: str | None) -> Mergeable:
        if tip is None:
            return Mergeable(kind, True)
        if self.repos.is_ancestor(project, ps.sha, tip):
            return Mergeable(kind, True, commit_merged=True)
        if self.repos.is_ancestor(project, tip, ps.sha):
            return Mergeable(kind, True)
        if kind == "FAST_FORWARD_ONLY":
            return Mergeable(kind, False)
        try:
            if kind == "CHERRY_PICK" and ps.parents:
                self.merger.merge_tree(project, tip, ps.sha, merge_base=ps.parents[0])
            else:
                self.merger.merge_tree(project, tip, ps.sha)
        except MergeConflict as exc:
            return Mergeable(kind, False, conflicts=exc.files)
        return Mergeable(kind, True)

    def refresh_open(self) -> int:
        """Re-check the open changes whose kept answer is for another patch set or tip;
        how many were checked."""
        with self.db.read() as conn:
            rows = store.open_mergeability(conn)
            wanted = {number: patch_set for number, _, _, patch_set, _ in rows}
            current = {ps.change_number: ps
                       for sets in store.patch_sets_of(conn, list(wanted)).values()
                       for ps in sets if wanted[ps.change_number] == ps.number}
        tips: dict[tuple[str, str], str | None] = {}
        checked = 0
        for number, project, branch, _, key in rows:
            if checked >= MAX_REFRESH:
                break
            if (project, branch) not in tips:
                tips[project, branch] = self.repos.resolve(project, "refs/heads/" + branch)
            ps = current.get(number)
            if ps is None or key == _key(ps, tips[project, branch]):
                continue
            found = self.projects.exists(project)
            kind = found.submit_type if found is not None else "MERGE_IF_NECESSARY"
            result = self._check(project, kind, ps, tips[project, branch])
            with self.db.write() as conn:
                store.update_change(conn, number, mergeable=result.mergeable,
                                    mergeable_key=_key(ps, tips[project, branch]))
            checked += 1
        return checked


def _key(ps: PatchSet, tip: str | None) -> str:
    return f"{ps.number}:{tip or '-'}"
