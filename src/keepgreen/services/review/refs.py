"""Branches and tags made and removed through the REST API.

They follow the rules of a direct push: creating ``refs/heads/x`` or ``refs/tags/x`` needs
``create`` on that ref, removing one needs ``push+force``, and each change is recorded as a
``ref-updated`` event in the same transaction that moves the ref, so pipelines see it. A new
ref may only point at a commit the caller can already read on a branch or tag of the project
(never at a private change's patch set); the branch HEAD names, and a branch with open
changes, cannot be deleted (409, as in Gerrit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from keepgreen.domain import acl, events
from keepgreen.domain.account import Principal
from keepgreen.domain.project import Project
from keepgreen.domain.refs import ZERO, valid_branch_name
from keepgreen.git.repos import GitError, Repos
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as change_store
from keepgreen.store import events as event_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

HEADS, TAGS = "refs/heads/", "refs/tags/"
MAX_TAG_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class Tag:
    ref: str
    revision: str  # the tag object of an annotated tag, else the commit
    commit: str
    message: str | None = None
    tagger_name: str | None = None
    tagger_email: str | None = None
    tagger_date: datetime | None = None


def _clean(text: str) -> str:
    """A tagger's name or email as a tag header may hold them."""
    return "".join(c for c in text if c not in "<>\n\r\x00").strip() or "unknown"


def full_ref(name: str, prefix: str) -> str:
    return name if name.startswith(prefix) else prefix + name


class RefService:
    def __init__(self, db: Database, repos: Repos, projects: ProjectService) -> None:
        self.db = db
        self.repos = repos
        self.projects = projects

    def _commit(self, caller: Principal, project: Project, revision: str | None) -> str:
        if not revision:
            head = self.repos.resolve(project.name, self.repos.head(project.name))
            if head is None:
                raise BadRequest(f"{project.name} has no HEAD commit; give a revision")
            return head
        if revision.startswith("-") or len(revision) > 255:
            raise BadRequest(f"revision {revision[:40]!r} is not a commit of {project.name}")
        sha = self.repos.resolve(project.name, revision)
        if sha is None:
            raise BadRequest(f"revision {revision!r} is not a commit of {project.name}")
        rules = self.projects.rules(project)
        holders = self.repos.run(project.name, "for-each-ref", "--contains", sha,
                                 "--format=%(refname)", HEADS, TAGS).split()
        if any(acl.check(rules, caller, acl.READ, ref) for ref in holders):
            return sha
        raise BadRequest(f"revision {revision!r} is not on a branch or tag of "
                         f"{project.name} that you can read")

    def _allowed(self, caller: Principal, project: Project, permission: str, ref: str) -> None:
        decision = self.projects.can(caller, project, permission, ref)
        if not decision:
            raise Forbidden(decision.reason)

    def _move(self, caller: Principal, project: Project, ref: str, old: str, new: str) -> None:
        now = utcnow()
        with self.db.write() as conn:
            event_store.record(conn, "ref-updated",
                               events.ref_updated(project.name, ref, old, new,
                                                  caller.account, now),
                               now, project=project.name)
            try:
                self.repos.update_refs(project.name, [(ref, new, old)])
            except GitError as exc:
                raise Conflict(f"{ref} changed while it was being updated; try again") from exc

    def create_branch(self, caller: Principal, project: Project, branch: str,
                      revision: str | None) -> tuple[str, str]:
        ref = full_ref(branch, HEADS)
        if not ref.startswith(HEADS) or not valid_branch_name(ref[len(HEADS):]):
            raise BadRequest(f"{branch!r} is not a valid branch name")
        self._allowed(caller, project, acl.CREATE, ref)
        if self.repos.resolve(project.name, ref) is not None:
            raise Conflict(f"branch {ref} already exists in {project.name}")
        sha = self._commit(caller, project, revision)
        self._move(caller, project, ref, ZERO, sha)
        return ref, sha

    def delete_branch(self, caller: Principal, project: Project, branch: str) -> None:
        ref = full_ref(branch, HEADS)
        sha = self.repos.resolve(project.name, ref) if ref.startswith(HEADS) else None
        if sha is None or not self.projects.can(caller, project, acl.READ, ref):
            raise NotFound(f"branch {branch} not found in {project.name}")
        self._allowed(caller, project, acl.FORCE_PUSH, ref)
        if ref == self.repos.head(project.name):
            raise Conflict(f"{ref} is the HEAD of {project.name} and cannot be deleted")
        with self.db.read() as conn:
            if change_store.has_open_changes(conn, project.name, ref[len(HEADS):]):
                raise Conflict(f"branch {ref} has open changes; abandon or move them first")
        self._move(caller, project, ref, sha, ZERO)

    def tags(self, caller: Principal, project: Project) -> list[Tag]:
        rules = self.projects.rules(project)
        fields = ("%(refname)", "%(objectname)", "%(objecttype)", "%(*objectname)",
                  "%(taggername)", "%(taggeremail:trim)", "%(taggerdate:unix)", "%(contents)")
        out = self.repos.run(project.name, "for-each-ref", "--format=" + "%00".join(fields)
                             + "%00%1e", TAGS)
        found = []
        for record in out.split("\x1e"):
            parts = record.lstrip("\n").split("\x00")
            if len(parts) < 8 or not acl.check(rules, caller, acl.READ, parts[0]):
                continue
            ref, sha, kind, target, name, email, date, message = parts[:8]
            if kind != "tag":
                found.append(Tag(ref, sha, sha))
                continue
            when = datetime.fromtimestamp(int(date)) if date.isdigit() else None
            found.append(Tag(ref, sha, target, message.rstrip("\n"), name or None,
                             email or None, when))
        return sorted(found, key=lambda t: t.ref)

    def create_tag(self, caller: Principal, project: Project, tag: str,
                   revision: str | None, message: str | None) -> Tag:
        ref = full_ref(tag, TAGS)
        if not ref.startswith(TAGS) or not valid_branch_name(ref[len(TAGS):]):
            raise BadRequest(f"{tag!r} is not a valid tag name")
        if message is not None and len(message) > MAX_TAG_MESSAGE:
            raise BadRequest(f"message is longer than {MAX_TAG_MESSAGE} characters")
        self._allowed(caller, project, acl.CREATE, ref)
        if ref in dict(self.repos.refs(project.name, TAGS)):
            raise Conflict(f"tag {ref} already exists in {project.name}")
        sha = self._commit(caller, project, revision)
        target = sha
        if message:
            account = caller.account
            name = _clean(account.name or account.username) if account else "keepgreen"
            email = _clean(account.email or "") if account else ""
            stamp = int(utcnow().timestamp())
            body = (f"object {sha}\ntype commit\ntag {ref[len(TAGS):]}\n"
                    f"tagger {name} <{email}> {stamp} +0000\n\n{message.rstrip()}\n")
            target = self.repos.run(project.name, "mktag", input_text=body).strip()
        self._move(caller, project, ref, ZERO, target)
        return next(t for t in self.tags(caller, project) if t.ref == ref)

    def delete_tag(self, caller: Principal, project: Project, tag: str) -> None:
        ref = full_ref(tag, TAGS)
        current = dict(self.repos.refs(project.name, TAGS)).get(ref)
        if current is None or not acl.check(self.projects.rules(project), caller,
                                            acl.READ, ref):
            raise NotFound(f"tag {tag} not found in {project.name}")
        self._allowed(caller, project, acl.FORCE_PUSH, ref)
        self._move(caller, project, ref, current, ZERO)
