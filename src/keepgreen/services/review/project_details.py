"""A project's description, HEAD, repository statistics and housekeeping, the moves of its
branches, access checks for other accounts, and its settings proposed as changes to
``config``.

Where the site runs from its ``config`` project, the description and the default branch are
fields of the project's entry in ``resources/``, so changing them is a commit there (as
``PUT /projects/{name}/config`` makes it); HEAD of the repository follows. Reading a project
needs ``read`` on it (else not found); changing it needs ``owner``; statistics, garbage
collection and the consistency check are for administrators, as in Gerrit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from keepgreen.domain import acl
from keepgreen.domain.account import Account, Principal
from keepgreen.domain.change import NEW, Person
from keepgreen.domain.project import SITE_CONFIG, SUBMIT_TYPES, Project
from keepgreen.domain.refs import valid_branch_name
from keepgreen.git.repos import GitError, Repos
from keepgreen.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
)
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.review.revisions import RevisionService
from keepgreen.siteconf import edits
from keepgreen.siteconf.model import SiteState
from keepgreen.store import changes as change_store
from keepgreen.store import projects as store
from keepgreen.store import ref_log
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

HEADS = "refs/heads/"
MAX_DESCRIPTION = 64 * 1024
MAX_CHECKED_COMMITS = 10_000


class ConfigProposals(Protocol):
    """What proposing a change to the site's ``config`` project needs of it."""

    def active(self) -> bool: ...

    def branch(self) -> str: ...

    def commit_for_review(self, who: Person, message: str,
                          change: Callable[[SiteState], SiteState]) -> str: ...


@dataclass(frozen=True)
class RefMove:
    """One recorded move of a branch: from ``old`` to ``new``, by whom and when."""

    old: str
    new: str
    name: str
    email: str
    when: datetime


@dataclass(frozen=True)
class AccessAnswer:
    """Gerrit's AccessCheckInfo: an HTTP-like status and, for a refusal, why."""

    status: int
    message: str = ""


class ProjectDetails:
    def __init__(self, db: Database, repos: Repos, projects: ProjectService) -> None:
        self.db = db
        self.repos = repos
        self.projects = projects

    # -- rights ---------------------------------------------------------------------------

    def require_owner(self, caller: Principal, project: Project, what: str) -> None:
        decision = self.projects.can(caller, project, acl.OWNER, "refs/*")
        if not decision:
            raise Forbidden(f"{what} of {project.name} needs the owner permission")

    @staticmethod
    def require_admin(caller: Principal, what: str) -> None:
        if caller.account is None:
            raise Unauthorized(f"{what} needs you to sign in")
        if not caller.is_admin:
            raise Forbidden(f"{what} needs membership in Administrators")

    # -- description and HEAD -------------------------------------------------------------

    def set_description(self, caller: Principal, project: Project,
                        description: str) -> Project:
        """Set (or, with an empty text, remove) the description; needs ``owner``."""
        self.require_owner(caller, project, "changing the description")
        if len(description) > MAX_DESCRIPTION:
            raise BadRequest(f"description is longer than {MAX_DESCRIPTION} characters")
        return self.projects.configure(caller, project, None, None, description.strip())

    def set_head(self, caller: Principal, project: Project, ref: str) -> str:
        """Point HEAD (the default branch) at the existing branch ``ref``; needs ``owner``."""
        self.require_owner(caller, project, "setting HEAD")
        full = ref if ref.startswith("refs/") else HEADS + ref
        branch = full.removeprefix(HEADS)
        if not full.startswith(HEADS) or not valid_branch_name(branch):
            raise BadRequest(f"{ref[:80]!r} is not a branch name")
        if self.repos.resolve(project.name, full) is None or not self.projects.can(
                caller, project, acl.READ, full):
            raise BadRequest(f"branch {full} does not exist in {project.name}")
        if self.repos.head(project.name) == full and project.head == full:
            return full
        site = self.projects.site
        if site is not None and site.active():
            site.edit(caller, f"Set the default branch of {project.name} to {branch}",
                      _refusing(lambda state: edits.configure_project(
                          state, project.name, default_branch=branch)))
        else:
            with self.db.write() as conn:
                store.update_project(conn, project.name, head=full)
        self.repos.run(project.name, "symbolic-ref", "HEAD", full)
        return full

    # -- the repository -------------------------------------------------------------------

    def statistics(self, caller: Principal, project: Project) -> dict[str, int]:
        """Gerrit's RepositoryStatisticsInfo of the project's repository (administrators)."""
        self.require_admin(caller, "reading repository statistics")
        counts: dict[str, int] = {}
        for line in self.repos.run(project.name, "count-objects", "-v").splitlines():
            key, _, value = line.partition(":")
            if value.strip().isdigit():
                counts[key.strip()] = int(value.strip())
        root = self.repos.path(project.name)
        loose_refs = sum(1 for p in (root / "refs").rglob("*")
                         if p.is_file() and not p.name.endswith(".lock"))
        packed = root / "packed-refs"
        packed_refs = 0
        if packed.exists():
            packed_refs = sum(1 for line in packed.read_text(errors="replace").splitlines()
                              if line and not line.startswith(("#", "^")))
        return {"number_of_loose_objects": counts.get("count", 0),
                "number_of_loose_refs": loose_refs,
                "number_of_pack_files": counts.get("packs", 0),
                "number_of_packed_objects": counts.get("in-pack", 0),
                "number_of_packed_refs": packed_refs,
                "size_of_loose_objects": counts.get("size", 0) * 1024,
                "size_of_packed_objects": counts.get("size-pack", 0) * 1024}

    def gc(self, caller: Principal, project: Project, aggressive: bool) -> str:
        """Run ``git gc`` on the repository while the caller waits; its report."""
        self.require_admin(caller, "running garbage collection")
        args = ["gc", "--quiet"] + (["--aggressive"] if aggressive else [])
        try:
            self.repos.run(project.name, *args)
        except GitError as exc:
            raise Conflict(f"garbage collection of {project.name} did not finish: "
                           f"{exc}") from None
        return f'collecting garbage for "{project.name}":\ndone.\n'

    def reflog(self, caller: Principal, project: Project, ref: str, limit: int,
               since: datetime | None, until: datetime | None) -> list[RefMove]:
        """The recorded moves of branch ``ref``, newest first (owners only, as in Gerrit)."""
        self.require_owner(caller, project, "reading the reflog")
        with self.db.read() as conn:
            rows = ref_log.ref_updates(conn, project.name, ref, limit, since, until)
        moves = []
        for created, payload in rows:
            update, who = payload.get("refUpdate", {}), payload.get("submitter") or {}
            moves.append(RefMove(str(update.get("oldRev", "")), str(update.get("newRev", "")),
                                 str(who.get("name") or who.get("username") or ""),
                                 str(who.get("email") or ""), created))
        return moves

    # -- checks -------------------------------------------------------------------------

    def check_access(self, caller: Principal, project: Project, account: Account,
                     principal: Principal, permission: str | None,
                     ref: str | None) -> AccessAnswer:
        """Whether ``account`` may read the project, or use ``permission`` on ``ref``."""
        self.require_owner(caller, project, "checking access")
        if permission is not None and ref is None:
            raise BadRequest("ref must be given together with perm")
        if ref is not None and not ref.startswith("refs/"):
            raise BadRequest(f"ref {ref[:80]!r} must start with refs/")
        if permission is not None and (permission not in acl.PERMISSIONS
                                       and not permission.startswith("label-")):
            raise BadRequest(f"perm {permission[:80]!r} is not a permission; use one of "
                             f"{', '.join(acl.PERMISSIONS)} or label-<name>")
        who = f"user {account.username} ({account.id})"
        try:
            _, rules = self.projects.get_with_rules(project.name, principal)
        except ServiceError:
            return AccessAnswer(403, f"{who} cannot see project {project.name}")
        if ref is None:
            return AccessAnswer(200)
        wanted = permission or acl.READ
        decision = acl.check(rules, principal, wanted, ref)
        if not decision:
            verb = "cannot see ref" if wanted == acl.READ else f"lacks permission {wanted} for"
            return AccessAnswer(403, f"{who} {verb} {ref} in project {project.name}")
        return AccessAnswer(200)

    def closeable_changes(self, caller: Principal, project: Project, ref: str,
                          skip: int, limit: int) -> list[tuple[int, int, str]]:
        """Open changes for branch ``ref`` whose patch set is already on it: (change, patch
        set, commit) found among ``limit`` commits of the branch after skipping ``skip``."""
        self.require_admin(caller, "checking a project's consistency")
        full = ref if ref.startswith("refs/") else HEADS + ref
        tip = self.repos.resolve(project.name, full) if full.startswith(HEADS) else None
        if tip is None:
            raise BadRequest(f"branch {ref} not found in {project.name}")
        shas = self.repos.run(project.name, "rev-list", f"--max-count={limit}",
                              f"--skip={skip}", tip).split()
        found: list[tuple[int, int, str]] = []
        with self.db.read() as conn:
            for start in range(0, len(shas), 500):
                for number, ps, sha, status in change_store.patch_sets_with_shas(
                        conn, project.name, shas[start:start + 500]):
                    if status == NEW:
                        found.append((number, ps, sha))
            destined = {c.number for c in change_store.changes_by_numbers(
                conn, sorted({n for n, _, _ in found})) if c.branch == full[len(HEADS):]}
        return sorted(f for f in found if f[0] in destined)

    # -- settings proposed for review ------------------------------------------------------

    def propose(self, caller: Principal, project: Project, subject: str, detail: str,
                change: Callable[[SiteState], SiteState], revisions: RevisionService,
                siteconf: ConfigProposals | None) -> int:
        """A change to ``config`` that makes ``change`` to the site's resources, owned by
        the caller; its number. Needs the right to upload changes to ``config``."""
        if caller.account is None:
            raise Unauthorized("proposing a change needs you to sign in")
        if siteconf is None or not siteconf.active():
            raise Conflict(f"this site keeps no {SITE_CONFIG} project; change "
                           f"{project.name} with PUT /projects/{{name}}/config or "
                           "/access instead")
        branch = siteconf.branch().removeprefix(HEADS)
        try:
            config = self.projects.get(SITE_CONFIG, caller)
        except ServiceError:
            raise Forbidden(f"proposing changes to {SITE_CONFIG} needs read access to "
                            f"{SITE_CONFIG}") from None
        decision = self.projects.can(caller, config, acl.PUSH, f"refs/for/{HEADS}{branch}")
        if not decision:
            raise Forbidden(f"proposing changes to {SITE_CONFIG}: {decision.reason}")
        account = caller.account
        who = Person(account.name or account.username,
                     account.email or f"{account.username}@keepgreen.invalid", utcnow())
        seed = f"{project.name}\n{subject}\n{detail}\n{who.date.isoformat()}"
        change_id = "I" + hashlib.sha1(seed.encode()).hexdigest()
        message = subject + (f"\n\n{detail.strip()}" if detail.strip() else "")
        message += f"\n\nChange-Id: {change_id}\n"
        sha = siteconf.commit_for_review(who, message, _refusing(change))
        return revisions.propose_commit(caller, SITE_CONFIG, branch, sha)


def config_values(description: str | None, submit_type: str | None,
                  required_approvals: int | None) -> dict[str, object]:
    """The ProjectSpec fields a ConfigInput sets, checked as ``configure`` checks them."""
    values: dict[str, object] = {}
    if description is not None:
        if len(description) > MAX_DESCRIPTION:
            raise BadRequest(f"description is longer than {MAX_DESCRIPTION} characters")
        values["description"] = description.strip()
    if submit_type is not None:
        if submit_type not in SUBMIT_TYPES:
            raise BadRequest(f"submit_type must be one of {', '.join(SUBMIT_TYPES)}")
        values["submit_type"] = submit_type
    if required_approvals is not None:
        if not 1 <= required_approvals <= 10:
            raise BadRequest("required_approvals must be from 1 to 10")
        values["required_approvals"] = required_approvals
    return values


def _refusing(change: Callable[[SiteState], SiteState]) -> Callable[[SiteState], SiteState]:
    """``change`` with its refusals as the errors REST callers read."""
    def run(state: SiteState) -> SiteState:
        try:
            return change(state)
        except edits.EditRefused as exc:
            kind = {"conflict": Conflict, "not-found": NotFound}.get(exc.kind, BadRequest)
            raise kind(exc.message) from None
    return run
