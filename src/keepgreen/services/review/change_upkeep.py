"""Looking after changes once they exist: where a merged commit landed, whether a change's
rows and refs agree (and mending what can be mended), removing a change message an
administrator must take down, and reverting a whole submission."""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, NEW, Change, PatchSet
from keepgreen.domain.refs import HEADS, TAGS, ZERO, patch_set_ref
from keepgreen.git.repos import GitError
from keepgreen.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.review.revisions import RevisionService
from keepgreen.store import changes as store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow


@dataclass(frozen=True)
class Problem:
    """One disagreement between a change's rows and its repository (Gerrit's ProblemInfo)."""

    message: str
    status: str | None = None  # FIXED or FIX_FAILED once a fix was tried
    outcome: str | None = None


class ChangeUpkeep:
    def __init__(self, revisions: RevisionService, projects: ProjectService,
                 changes: ChangeService) -> None:
        self.revisions = revisions
        self.projects = projects
        self.changes = changes
        self.db = revisions.db
        self.repos = revisions.repos

    def _patch_sets(self, change: Change) -> list[PatchSet]:
        with self.db.read() as conn:
            return store.patch_sets_of(conn, [change.number])[change.number]

    def pure_revert(self, who: Principal, change: Change, claimed: str | None) -> bool:
        """Whether the change's current commit undoes exactly what the original did: the
        change it says it reverts, or the ``claimed`` commit (which must be on a branch or
        tag ``who`` may read)."""
        current = next(ps for ps in self._patch_sets(change)
                       if ps.number == change.current_patch_set)
        if len(current.parents) != 1:
            raise BadRequest(f"change {change.number} is a merge commit; only a commit with "
                             "one parent can be a pure revert")
        if claimed:
            original = self._readable_commit(who, change, claimed)
        elif change.revert_of is not None:
            reverted = self.changes.resolve(str(change.revert_of), who)
            original = next(ps.sha for ps in self._patch_sets(reverted)
                            if ps.number == reverted.current_patch_set)
        else:
            raise BadRequest(f"change {change.number} is not a revert; name the original "
                             "commit with o=<sha>")
        return self._diff(change.project, current.parents[0], current.sha) == self._diff(
            change.project, original, original + "^")

    def _readable_commit(self, who: Principal, change: Change, sha: str) -> str:
        missing = NotFound(f"commit {sha[:40]} is not on a branch or tag of "
                           f"{change.project} that you can read")
        if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
            raise BadRequest(f"o={sha[:40]} must be a full 40-character commit id")
        project = self.projects.exists(change.project)
        assert project is not None
        try:
            holders = self.repos.run(change.project, "for-each-ref", "--contains", sha,
                                     "--format=%(refname)", HEADS, TAGS).split()
        except GitError:
            raise missing from None
        if not any(self.projects.can(who, project, acl.READ, ref) for ref in holders):
            raise missing
        return sha

    def _diff(self, project: str, old: str, new: str) -> str:
        try:
            return self.repos.run(project, "diff", "--full-index", "--binary", "--no-renames",
                                  old, new, "--")
        except GitError:
            raise BadRequest(f"{new[:40]} has no parent to compare with") from None

    def included_in(self, who: Principal, change: Change) -> tuple[list[str], list[str]]:
        """The branches and tags (short names) holding the change's current commit that
        ``who`` may read."""
        current = next(ps for ps in self._patch_sets(change)
                       if ps.number == change.current_patch_set)
        project = self.projects.exists(change.project)
        assert project is not None
        try:
            out = self.repos.run(change.project, "for-each-ref", "--contains", current.sha,
                                 "--format=%(refname)", HEADS, TAGS)
        except GitError:
            return [], []
        readable = [ref for ref in out.split()
                    if self.projects.can(who, project, acl.READ, ref)]
        return (sorted(r[len(HEADS):] for r in readable if r.startswith(HEADS)),
                sorted(r[len(TAGS):] for r in readable if r.startswith(TAGS)))

    def check(self, who: Principal, change: Change, fix: bool = False) -> list[Problem]:
        """What is wrong with ``change``; with ``fix``, missing patch-set refs whose commit
        is still there are written again (owner or administrator only)."""
        if fix:
            if who.account is None:
                raise Unauthorized("fixing a change needs you to sign in")
            if who.account.id != change.owner_id and not who.is_admin:
                raise Forbidden(f"only the owner of change {change.number} or an "
                                "administrator may fix it")
        problems: list[Problem] = []
        sets = self._patch_sets(change)
        refs = dict(self.repos.refs(change.project,
                                    f"refs/changes/{change.number % 100:02d}/{change.number}/"))
        for ps in sets:
            ref = patch_set_ref(change.number, ps.number)
            if self.repos.resolve(change.project, ps.sha) is None:
                problems.append(Problem(f"Patch set {ps.number} ({ps.sha}) is missing from "
                                        "the repository"))
                continue
            if ref not in refs:
                problems.append(self._fix_ref(change, ref, ps.sha, fix))
            elif refs[ref] != ps.sha:
                problems.append(Problem(f"Ref {ref} points at {refs[ref]}, not at patch set "
                                        f"{ps.number} ({ps.sha})"))
        current = next((ps for ps in sets if ps.number == change.current_patch_set), None)
        if current is None:
            problems.append(Problem(f"Current patch set {change.current_patch_set} not found"))
            return problems
        branch = HEADS + change.branch
        tip = self.repos.resolve(change.project, branch)
        if tip is None:
            problems.append(Problem(f"Destination ref not found (may be new branch): {branch}"))
            return problems
        if self.repos.resolve(change.project, current.sha) is None:
            return problems
        merged = self.repos.is_ancestor(change.project, current.sha, tip)
        if change.status == MERGED and not merged:
            problems.append(Problem(f"Patch set {current.number} ({current.sha}) is not "
                                    f"merged into destination ref {branch} ({tip}), but "
                                    "change status is MERGED"))
        elif change.status == NEW and merged:
            problems.append(Problem(f"Patch set {current.number} ({current.sha}) is merged "
                                    f"into destination ref {branch} ({tip}), but change "
                                    "status is NEW"))
        return problems

    def _fix_ref(self, change: Change, ref: str, sha: str, fix: bool) -> Problem:
        message = f"Ref missing: {ref}"
        if not fix:
            return Problem(message)
        try:
            self.repos.update_refs(change.project, [(ref, sha, ZERO)])
        except GitError:
            return Problem(message, "FIX_FAILED", "Failed to update patch set ref")
        return Problem(message, "FIXED", "Repaired patch set ref")

    def remove_message(self, who: Principal, change: Change, message_id: str,
                       reason: str) -> None:
        """Replace a change message's text by a note of who removed it and why, as Gerrit
        does; for administrators."""
        if who.account is None:
            raise Unauthorized("removing a change message needs you to sign in")
        if not who.is_admin:
            raise Forbidden("removing change messages is for administrators")
        if not message_id.isdigit() or len(message_id) > 10:
            raise NotFound(f"message {message_id} not found on change {change.number}")
        text = f"Change message removed by: {who.account.name}"
        if reason.strip():
            text += f"\nReason: {reason.strip()}"
        with self.db.write() as conn:
            if not store.replace_message(conn, change.number, int(message_id), text):
                raise NotFound(f"message {message_id} not found on change {change.number}")
            store.update_change(conn, change.number, updated=utcnow())

    def revert_submission(self, who: Principal, change: Change, message: str | None,
                          topic: str | None, wip: bool) -> list[int]:
        """A revert of every change merged by the submit that merged ``change``, newest
        first, all on one topic; the numbers of the new changes. Every change must be one
        ``who`` may see, or nothing is reverted."""
        if who.account is None:
            raise Unauthorized("reverting needs you to sign in")
        if change.status != MERGED:
            raise Conflict(f"change {change.number} is {change.status.lower()}; only merged "
                           "changes can be reverted")
        with self.db.read() as conn:
            numbers = review_store.submitted_with(conn, change.project, change.number)
            together = store.changes_by_numbers(conn, numbers) if numbers else [change]
        hidden = [c for c in together if not self.changes.can_see(c, who)]
        if hidden:
            raise Forbidden(f"change {change.number} was submitted with {len(hidden)} "
                            "change(s) you cannot see; their reverts are not yours to make")
        already = [c.number for c in together if c.status != MERGED]
        if already:
            raise Conflict(f"change(s) {', '.join(map(str, already))} of this submission "
                           "are not merged")
        topic = topic or f"revert-{change.change_id[:10]}-{change.number}"
        return [self.revisions.revert(who, c, message, topic, wip)
                for c in sorted(together, key=lambda c: c.number, reverse=True)]

