"""New patch sets made from a merge or from a patch: Gerrit's ``POST /changes/{id}/merge``
and ``POST /changes/{id}/patch:apply``.

Both replace the change's current commit with one made on the server: a merge commit of a
first parent (the branch tip, the current patch set's parent or a given base) and a source
the caller may read, or the result of applying a unified diff to a base. The commit keeps
the change's Change-Id and is published through ``RevisionService.add_patch_set``, so
votes are copied, events recorded and CI starts as for any other patch set.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import NEW, Change, Person
from keepgreen.domain.changeid import change_ids
from keepgreen.domain.refs import HEADS, TAGS
from keepgreen.git.merges import MergeConflict
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, Unauthorized
from keepgreen.services.review.revisions import RevisionService
from keepgreen.store.clock import utcnow

STRATEGIES = (None, "", "recursive", "ort")
MAX_MESSAGE = 16_000


@dataclass(frozen=True)
class MergeRequest:
    """What ``MergePatchSetInput`` asks for."""

    source: str
    source_branch: str | None = None
    subject: str | None = None
    strategy: str | None = None
    allow_conflicts: bool = False
    inherit_parent: bool = False
    base: str | None = None  # a commit (the base change's current patch set)


class MergePatchSets:
    def __init__(self, revisions: RevisionService) -> None:
        self.revisions = revisions
        self.db = revisions.db
        self.repos = revisions.repos
        self.projects = revisions.projects

    # -- who may ------------------------------------------------------------------------

    def _adder(self, who: Principal, change: Change, action: str) -> Person:
        """The committer of the new patch set, or the refusal: sign-in, then Add Patch Set
        (the owner always has it), then an open change."""
        if who.account is None:
            raise Unauthorized(f"{action} needs you to sign in")
        if who.account.id != change.owner_id and not who.is_admin:
            project = self.projects.exists(change.project)
            assert project is not None
            decision = self.projects.can(who, project, acl.ADD_PATCH_SET,
                                         "refs/for/" + HEADS + change.branch)
            if not decision:
                raise Forbidden(f"adding a patch set to change {change.number} is not "
                                f"permitted: {decision.reason}")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}; only open "
                           "changes get new patch sets")
        return Person(who.account.name, who.account.email or "", utcnow())

    def _readable_commit(self, who: Principal, change: Change, rev: str, what: str) -> str:
        """The commit ``rev`` names (a branch, a tag or a commit id) when the caller may
        read it: a branch or tag they may read, or a commit on one. Otherwise a 400 that
        reads the same whether it does not exist or is hidden."""
        project = self.projects.exists(change.project)
        assert project is not None
        unknown = BadRequest(f"{what} {rev!r} not found in {change.project}")
        if not rev or len(rev) > 1000 or rev.startswith("-") or any(
                c.isspace() or c in "~^:?*[\\" or ord(c) < 32 for c in rev):
            raise unknown
        for ref in (rev if rev.startswith("refs/") else None, HEADS + rev, TAGS + rev):
            if ref is None or not ref.startswith((HEADS, TAGS)):
                continue
            sha = self.repos.resolve(change.project, ref)
            if sha is not None:
                if not self.projects.can(who, project, acl.READ, ref):
                    raise unknown
                return self._peeled(change.project, sha, unknown)
        if len(rev) < 4 or not all(c in "0123456789abcdef" for c in rev.lower()):
            raise unknown
        sha = self._peeled(change.project, rev, unknown)
        try:
            out = self.repos.run(change.project, "for-each-ref", "--contains", sha,
                                 "--format=%(refname)", HEADS, TAGS)
        except GitError:
            raise unknown from None
        if not any(self.projects.can(who, project, acl.READ, ref) for ref in out.split()):
            raise unknown
        return sha

    def _peeled(self, project: str, rev: str, unknown: BadRequest) -> str:
        try:
            return self.repos.run(project, "rev-parse", "--verify", "--quiet",
                                  f"{rev}^{{commit}}").strip()
        except GitError:
            raise unknown from None

    def _message(self, change: Change, text: str) -> str:
        """``text`` as the new commit message, with the change's Change-Id footer."""
        if not text.strip():
            raise BadRequest("the commit message must not be empty")
        if len(text) > MAX_MESSAGE:
            raise BadRequest(f"the commit message must be at most {MAX_MESSAGE} characters")
        ids = change_ids(text)
        if ids and change.change_id not in ids:
            raise BadRequest("the Change-Id footer must stay " + change.change_id)
        if not ids:
            text = text.rstrip("\n") + f"\n\nChange-Id: {change.change_id}\n"
        return text if text.endswith("\n") else text + "\n"

    def _commit(self, change: Change, tree: str, parents: list[str], message: str,
                author: Person, committer: Person) -> str:
        env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
               "GIT_AUTHOR_DATE": _date(author), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _date(committer)}
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        return self.repos.run(change.project, *args, input_text=message, env=env).strip()

    # -- merge --------------------------------------------------------------------------

    def merge(self, who: Principal, change: Change, wanted: MergeRequest) -> None:
        """A merge of ``wanted.source`` into the first parent as the next patch set."""
        committer = self._adder(who, change, "creating a merge patch set")
        if wanted.strategy not in STRATEGIES:
            raise BadRequest(f"merge strategy {wanted.strategy!r} is not supported; "
                             "keepgreen merges with git's default (ort) strategy")
        if wanted.allow_conflicts:
            raise BadRequest("keepgreen does not commit conflict markers; resolve the "
                             "conflicts and upload the merge instead")
        if not wanted.source:
            raise BadRequest("merge.source is required")
        ps = self.revisions.current_patch_set(change)
        source = self._readable_commit(who, change, wanted.source, "merge source")
        if wanted.source_branch:
            branch = self._readable_commit(who, change, wanted.source_branch,
                                           "merge source branch")
            if not self._is_ancestor(change.project, source, branch):
                raise BadRequest(f"merge source {wanted.source!r} is not on "
                                 f"{wanted.source_branch}")
        if wanted.base:
            first = wanted.base
        elif wanted.inherit_parent:
            if not ps.parents:
                raise Conflict(f"patch set {ps.number} has no parent to inherit")
            first = ps.parents[0]
        else:
            tip = self.repos.resolve(change.project, HEADS + change.branch)
            if tip is None:
                raise Conflict(f"branch {change.branch} of {change.project} not found")
            first = tip
        if self._is_ancestor(change.project, source, first):
            raise Conflict(f"{wanted.source} is already merged into the patch set's parent")
        try:
            tree = self.revisions.merger.merge_tree(change.project, first, source)
        except MergeConflict as exc:
            raise Conflict("merging " + wanted.source + " conflicts in: "
                           + (", ".join(exc.files) or "the tree")) from None
        message = self._message(change, wanted.subject or ps.message)
        sha = self._commit(change, tree, [first, source], message, committer, committer)
        self.revisions.add_patch_set(who, change, sha, f"Patch Set {ps.number + 1}: "
                                     f"Merged {wanted.source} into the change.")

    def _is_ancestor(self, project: str, older: str, newer: str) -> bool:
        proc = self.repos.process(project, "merge-base", "--is-ancestor", older, newer)
        return proc.returncode == 0

    # -- patch --------------------------------------------------------------------------

    def apply_patch(self, who: Principal, change: Change, patch: str, message: str | None,
                    base: str | None, author: Person | None) -> None:
        """``patch`` applied to ``base`` (default: the current patch set's parent) as the
        next patch set; the author is the caller unless ``author`` is given, which needs
        Forge Author."""
        committer = self._adder(who, change, "applying a patch")
        if not patch.strip():
            raise BadRequest("patch.patch is required: the unified diff to apply")
        if "\0" in patch:
            raise BadRequest("the patch must be text")
        ps = self.revisions.current_patch_set(change)
        project = self.projects.exists(change.project)
        assert project is not None
        if author is not None and (author.name, author.email) != (committer.name,
                                                                    committer.email):
            decision = self.projects.can(who, project, acl.FORGE_AUTHOR, HEADS + change.branch)
            if not decision:
                raise Forbidden(f"naming another author is not permitted: {decision.reason}")
        if base:
            onto = self._readable_commit(who, change, base, "base")
            tip = self.repos.resolve(change.project, HEADS + change.branch)
            if tip is None or not self._is_ancestor(change.project, onto, tip):
                raise BadRequest(f"base {base} is not merged into {change.branch}")
        elif ps.parents:
            onto = ps.parents[0]
        else:
            raise Conflict(f"patch set {ps.number} has no parent; give a base")
        tree = self._applied(change.project, onto, patch)
        text = self._message(change, message if message else ps.message)
        sha = self._commit(change, tree, [onto], text, author or committer, committer)
        self.revisions.add_patch_set(who, change, sha, f"Patch Set {ps.number + 1}: "
                                     "Applied a patch.")

    def _applied(self, project: str, onto: str, patch: str) -> str:
        """The tree of ``onto`` with ``patch`` applied, made in a throw-away index."""
        with tempfile.TemporaryDirectory(prefix="keepgreen-apply-") as scratch:
            env = {"GIT_INDEX_FILE": os.path.join(scratch, "index")}
            self.repos.run(project, "read-tree", onto, env=env)
            proc = self.repos.process(project, "apply", "--cached", "--whitespace=nowarn", "-",
                                      stdin=patch, env=env)
            if proc.returncode != 0:
                lines = [line.removeprefix("error: ").strip()
                         for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
                reason = lines[-1] if lines else "git apply failed"
                if proc.returncode == 128:  # not a patch, or one naming bad paths
                    raise BadRequest(f"the patch is refused: {reason}")
                raise Conflict(f"the patch does not apply: {reason}")
            written = self.repos.process(project, "write-tree", env=env)
            if written.returncode != 0:
                raise Conflict("the patched files cannot be stored as a tree")
            return written.stdout.strip()


def _date(person: Person) -> str:
    return f"{int(person.date.replace(tzinfo=UTC).timestamp())} +0000"
