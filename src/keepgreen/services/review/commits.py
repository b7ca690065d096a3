"""Commits of a project read by id, and a branch's files and mergeability, as Gerrit's
project commit and branch endpoints serve them.

A commit is shown only when a branch or tag that the caller may read contains it; any other
commit (one only a private change's patch set holds, one of a hidden branch, one that does
not exist) is not found, so ids cannot be probed. Branch endpoints take branches under
``refs/heads/`` only: change refs are read through their changes, which know who may see
them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Person, topic_problem
from keepgreen.domain.changeid import change_ids
from keepgreen.domain.project import Project
from keepgreen.domain.refs import valid_branch_name
from keepgreen.git.merges import FileChange, MergeConflict, Merger
from keepgreen.git.repos import EMPTY_TREE, GitError, Repos
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.review.revisions import RevisionService
from keepgreen.store.clock import utcnow

HEADS, TAGS = "refs/heads/", "refs/tags/"
MAX_FILE_BYTES = 8 * 1024 * 1024
_COMMIT_ID = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
_FORMAT = "%H%x00%P%x00%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd%x00%B"


@dataclass(frozen=True)
class Signature:
    name: str
    email: str
    date: datetime  # UTC, naive
    tz: int  # minutes east of UTC


@dataclass(frozen=True)
class CommitDetails:
    sha: str
    parents: tuple[tuple[str, str], ...]  # (sha, subject)
    author: Signature
    committer: Signature
    message: str

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class BranchMergeable:
    submit_type: str
    mergeable: bool
    commit_merged: bool
    content_merged: bool
    conflicts: tuple[str, ...] = ()


def _signature(name: str, email: str, raw: str) -> Signature:
    """A signature from git's ``raw`` date (``<epoch> <+hhmm>``)."""
    epoch, _, zone = raw.partition(" ")
    minutes = 0
    if re.fullmatch(r"[+-]\d{4}", zone):
        minutes = int(zone[1:3]) * 60 + int(zone[3:])
        minutes = -minutes if zone[0] == "-" else minutes
    when = datetime.fromtimestamp(int(epoch) if epoch.isdigit() else 0, UTC)
    return Signature(name, email, when.replace(tzinfo=None), minutes)


class CommitService:
    def __init__(self, repos: Repos, merger: Merger, projects: ProjectService) -> None:
        self.repos = repos
        self.merger = merger
        self.projects = projects

    # -- which commits and refs the caller sees ---------------------------------------------

    def readable_refs(self, caller: Principal, project: Project, sha: str) -> list[str]:
        """The branches and tags containing ``sha`` that ``caller`` may read."""
        rules = self.projects.rules(project)
        holders = self.repos.run(project.name, "for-each-ref", "--contains", sha,
                                 "--format=%(refname)", HEADS, TAGS).split()
        return [ref for ref in holders if acl.check(rules, caller, acl.READ, ref)]

    def commit(self, caller: Principal, project: Project, commit_id: str) -> str:
        """The full id of ``commit_id`` when a branch or tag the caller reads holds it."""
        text = commit_id.strip().lower()
        if _COMMIT_ID.match(text):
            sha = self.repos.resolve(project.name, text)
            if sha is not None and self.readable_refs(caller, project, sha):
                return sha
        raise NotFound(f"commit {commit_id[:80]} not found in {project.name}")

    def branch(self, caller: Principal, project: Project, branch: str) -> tuple[str, str]:
        """(ref, tip) of a branch the caller may read; not found otherwise."""
        ref = branch if branch.startswith("refs/") else HEADS + branch
        tip = None
        if ref.startswith(HEADS) and valid_branch_name(ref[len(HEADS):]):
            if self.projects.can(caller, project, acl.READ, ref):
                tip = self.repos.resolve(project.name, ref)
        if tip is None:
            raise NotFound(f"branch {branch[:80]} not found in {project.name}")
        return ref, tip

    # -- reading ----------------------------------------------------------------------------

    def details(self, project: Project, sha: str) -> CommitDetails:
        out = self.repos.run(project.name, "show", "-s", "--date=raw", "--encoding=UTF-8",
                             f"--format={_FORMAT}", sha)
        full, parents, an, ae, ad, cn, ce, cd, body = out.split("\x00", 8)
        parent_ids = parents.split()
        subjects: dict[str, str] = {}
        if parent_ids:
            lines = self.repos.run(project.name, "show", "-s", "--no-walk=unsorted",
                                   "--format=%H %s", *parent_ids).splitlines()
            subjects = {line.partition(" ")[0]: line.partition(" ")[2] for line in lines}
        message = body.rstrip("\n") + "\n" if body.strip() else body
        return CommitDetails(full, tuple((p, subjects.get(p, "")) for p in parent_ids),
                             _signature(an, ae, ad), _signature(cn, ce, cd), message)

    def included_in(self, caller: Principal, project: Project,
                    sha: str) -> tuple[list[str], list[str]]:
        """Short names of the readable branches and tags that contain ``sha``."""
        refs = self.readable_refs(caller, project, sha)
        return ([r[len(HEADS):] for r in refs if r.startswith(HEADS)],
                [r[len(TAGS):] for r in refs if r.startswith(TAGS)])

    def commits_in(self, caller: Principal, project: Project, commits: list[str],
                   refs: list[str]) -> dict[str, list[str]]:
        """For each readable commit, which of ``refs`` (readable branches or tags, full
        names) contain it; commits no ref contains are left out."""
        rules = self.projects.rules(project)
        wanted = {r for r in refs if r.startswith((HEADS, TAGS))
                  and acl.check(rules, caller, acl.READ, r)}
        result: dict[str, list[str]] = {}
        for commit_id in dict.fromkeys(commits):
            try:
                sha = self.commit(caller, project, commit_id)
            except NotFound:
                continue
            holders = self.repos.run(project.name, "for-each-ref", "--contains", sha,
                                     "--format=%(refname)", HEADS, TAGS).split()
            found = sorted(r for r in holders if r in wanted)
            if found:
                result[commit_id] = found
        return result

    def file(self, project: Project, sha: str, path: str) -> bytes:
        try:
            data = self.repos.read_blob(project.name, sha, path, MAX_FILE_BYTES)
        except GitError as exc:
            raise BadRequest(str(exc)) from None
        if data is None:
            raise NotFound(f"file {path[:200]} not found in commit {sha[:12]}")
        return data

    def files(self, project: Project, sha: str,
              parent: int | None) -> tuple[CommitDetails, list[FileChange]]:
        details = self.details(project, sha)
        base: str | None = None
        if parent is not None:
            if not 1 <= parent <= len(details.parents):
                raise BadRequest(f"parent={parent} must be between 1 and "
                                 f"{len(details.parents)}")
            base = details.parents[parent - 1][0]
        elif not details.parents:
            base = EMPTY_TREE
        return details, self.merger.files(project.name, sha, base)

    # -- branch mergeability ----------------------------------------------------------------

    def source(self, caller: Principal, project: Project, source: str) -> str:
        """The commit ``source`` names: a readable branch or tag, or a readable commit id."""
        if _COMMIT_ID.match(source.strip().lower()):
            return self.commit(caller, project, source)
        for ref in ((source,) if source.startswith("refs/") else (HEADS + source,
                                                                 TAGS + source)):
            prefix = HEADS if ref.startswith(HEADS) else TAGS if ref.startswith(TAGS) else ""
            # Only plain names: "secret~0" must not read around a rule on "secret".
            if not prefix or not valid_branch_name(ref[len(prefix):]):
                continue
            if ref in dict(self.repos.refs(project.name, prefix)) and self.projects.can(
                    caller, project, acl.READ, ref):
                sha = self.repos.resolve(project.name, ref)
                if sha is not None and self.readable_refs(caller, project, sha):
                    return sha
        raise BadRequest(f"source {source[:80]!r} is not a branch, tag or commit of "
                         f"{project.name} that you can read")

    def mergeable(self, project: Project, tip: str, sha: str) -> BranchMergeable:
        """Would merging ``sha`` into ``tip`` succeed under the project's submit type."""
        kind = project.submit_type
        if self.repos.is_ancestor(project.name, sha, tip):
            return BranchMergeable(kind, True, True, True)
        if self.repos.is_ancestor(project.name, tip, sha):
            return BranchMergeable(kind, True, False, False)
        if kind == "FAST_FORWARD_ONLY":
            return BranchMergeable(kind, False, False, False)
        try:
            tree = self.merger.merge_tree(project.name, tip, sha)
        except MergeConflict as exc:
            return BranchMergeable(kind, False, False, False, tuple(exc.files))
        same = self.repos.run(project.name, "rev-parse", f"{tip}^{{tree}}").strip() == tree
        return BranchMergeable(kind, True, False, same)

    # -- cherry-picks ---------------------------------------------------------------------

    def cherry_pick(self, caller: Principal, project: Project, sha: str, destination: str,
                    message: str | None, parent: int | None, topic: str | None,
                    revisions: RevisionService) -> int:
        """A new change on ``destination`` re-applying ``sha``; its number."""
        if caller.account is None:
            raise Unauthorized("cherry-picking needs you to sign in")
        branch = destination.removeprefix(HEADS)
        if not branch:
            raise BadRequest("cherry-pick needs a destination branch")
        if not valid_branch_name(branch):
            raise BadRequest(f"{destination[:80]!r} is not a valid branch name")
        problem = topic_problem(topic) if topic else None
        if problem:
            raise BadRequest(problem)
        details = self.details(project, sha)
        if parent is not None and not 1 <= parent <= max(len(details.parents), 1):
            raise BadRequest(f"parent must be between 1 and {max(len(details.parents), 1)}")
        if len(details.parents) > 1 and parent != 1:
            raise BadRequest(f"{sha[:12]} is a merge commit; cherry-pick it relative to its "
                             "first parent with parent: 1")
        _, tip = self.branch(caller, project, branch)
        decision = self.projects.can(caller, project, acl.PUSH, f"refs/for/{HEADS}{branch}")
        if not decision:
            raise Forbidden(f"cherry-picking is not permitted: {decision.reason}")
        text = message if message is not None and message.strip() else details.message
        if not change_ids(text):
            seed = f"cherry-pick\n{project.name}\n{sha}\n{branch}\n{utcnow().isoformat()}"
            text = (text.rstrip("\n") + "\n\nChange-Id: I"
                    + hashlib.sha1(seed.encode()).hexdigest() + "\n")
        account = caller.account
        committer = Person(account.name, account.email or "", utcnow())
        try:
            picked = self.merger.cherry_pick(project.name, sha, tip, committer, text)
        except MergeConflict as exc:
            raise Conflict(f"cherry-pick conflicts in: {', '.join(exc.files)}") from None
        return revisions.propose_commit(caller, project.name, branch, picked, topic)
