"""Projects: repositories, their core groups, and who may read or push them."""

from __future__ import annotations

from keepgreen.domain import acl, events
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Person
from keepgreen.domain.project import DEFAULT_BRANCH, SUBMIT_TYPES, Project, name_problem
from keepgreen.domain.refs import ZERO, valid_branch_name
from keepgreen.git import odb
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import config_paths
from keepgreen.services.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HiddenFromAnonymous,
    NotFound,
    Unauthorized,
)
from keepgreen.services.review.site_editor import SiteEditor
from keepgreen.siteconf import edits
from keepgreen.siteconf.model import ProjectSpec
from keepgreen.store import accounts as account_store
from keepgreen.store import events as event_store
from keepgreen.store import projects as store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database


class ProjectService:
    def __init__(self, db: Database, repos: Repos, anonymous_read: bool) -> None:
        self.db = db
        self.repos = repos
        self.anonymous_read = anonymous_read
        # project name -> (tip sha, answer): the tip's tree only changes with the tip, and
        # access checks ask on nearly every request, so only the ref is read each time.
        self._ci_jobs: dict[str, tuple[str, bool]] = {}
        # Set on a site run from its config project: changes to projects and access rules
        # are then made as commits there (sites without one change the store directly).
        self.site: SiteEditor | None = None

    def _site(self) -> SiteEditor | None:
        return self.site if self.site is not None and self.site.active() else None

    def has_ci_jobs(self, project: Project) -> bool:
        """Whether the tip of the project's default branch carries job config (Zuul's
        ``zuul.yaml``, ``zuul.d/``, ``.zuul.yaml`` or ``.zuul.d/``). Then the gate tests
        every change, so Verified is required and cores cannot submit around it."""
        tip = odb.ref_target(self.repos.path(project.name), project.head)
        if tip is None:
            return False  # an empty repository has no config yet
        cached = self._ci_jobs.get(project.name)
        if cached is not None and cached[0] == tip:
            return cached[1]
        try:
            paths = self.repos.run(project.name, "ls-tree", "-r", "--name-only", "-z",
                                   tip).split("\0")
        except GitError:
            # Unreadable tree: answer "no jobs" (the pre-gating behaviour) without caching,
            # so the next request looks again.
            return False
        answer = bool(config_paths(paths))
        self._ci_jobs[project.name] = (tip, answer)
        return answer

    def rules(self, project: Project, own: list[acl.Rule] | None = None) -> list[acl.Rule]:
        """The project's access rules: the defaults, then its own (blocks win)."""
        if own is None:
            with self.db.read() as conn:
                own = review_store.rules_of(conn, project.name)
        return acl.default_rules(project.name, project.anonymous_read,
                                 self.has_ci_jobs(project)) + own

    def get(self, name: str, caller: Principal) -> Project:
        """The project if it exists and ``caller`` may read it; otherwise not found (or 401
        for an anonymous caller, so clients retry with credentials)."""
        return self.get_with_rules(name, caller)[0]

    def get_with_rules(self, name: str, caller: Principal) -> tuple[Project, list[acl.Rule]]:
        """``get``, plus the project's access rules, read in one go."""
        with self.db.read() as conn:
            project = store.project_by_name(conn, name)
            own = review_store.rules_of(conn, name) if project is not None else []
        if project is not None and project.state == "HIDDEN":
            project = None  # deleted through the config project; its repository is archived
        rules = self.rules(project, own) if project is not None else []
        if project is None or not acl.check(rules, caller, acl.READ, "refs/heads/*"):
            if project is not None and caller.is_anonymous:
                raise HiddenFromAnonymous(f"project {name!r} needs you to sign in",
                                          f"project {name!r} not found")
            raise NotFound(f"project {name!r} not found")
        return project, rules

    def exists(self, name: str) -> Project | None:
        with self.db.read() as conn:
            return store.project_by_name(conn, name)

    def can(self, caller: Principal, project: Project, permission: str, ref: str) -> acl.Decision:
        return acl.check(self.rules(project), caller, permission, ref)

    def visible(self, caller: Principal) -> list[Project]:
        return [p for p, _ in self._readable(caller)]

    def _readable(self, caller: Principal) -> list[tuple[Project, list[acl.Rule]]]:
        with self.db.read() as conn:
            projects = store.all_projects(conn)
            own = review_store.all_rules(conn)
        # Reading does not depend on whether CI jobs run, so the listing need not look
        # into every repository.
        pairs = [(p, acl.default_rules(p.name, p.anonymous_read) + own.get(p.name, []))
                 for p in projects if p.state != "HIDDEN"]
        return [(p, rules) for p, rules in pairs
                if acl.check(rules, caller, acl.READ, "refs/heads/*")]

    def change_readers(self, caller: Principal) -> tuple[list[str], list[str]]:
        """The projects whose changes ``caller`` may read, and among them those where they
        may also read private changes they are not involved in."""
        readable = self._readable(caller)
        return ([p.name for p, _ in readable],
                [p.name for p, rules in readable
                 if acl.check(rules, caller, acl.VIEW_PRIVATE, "refs/heads/*")])

    def create(self, caller: Principal, name: str, description: str = "",
               create_empty_commit: bool = False, branches: list[str] | None = None,
               anonymous_read: bool | None = None) -> Project:
        if caller.account is None:
            raise Unauthorized("creating a project needs you to sign in")
        if not caller.is_admin:
            raise Forbidden("creating projects needs membership in Administrators")
        problem = name_problem(name)
        if problem:
            raise BadRequest(problem)
        names = [b.removeprefix("refs/heads/") for b in (branches or [DEFAULT_BRANCH])]
        for branch in names:
            if not valid_branch_name(branch):
                raise BadRequest(f"{branch!r} is not a valid branch name")
        head = names[0]
        project = Project(name, description, "refs/heads/" + head,
                          self.anonymous_read if anonymous_read is None else anonymous_read)
        core = f"{name}-core"
        site = self._site()
        if site is not None:
            return self._create_in_config(site, caller, project, create_empty_commit, names)
        with self.db.write() as conn:
            if store.project_by_name(conn, name) or self.repos.exists(name):
                raise Conflict(f"project {name!r} already exists")
            store.add_project(conn, project)
            event_store.record(conn, "project-created",
                               events.project_created(name, project.head, utcnow()), utcnow(),
                               project=name)
            group = account_store.group_by_name(conn, core)
            if group is None:
                group = account_store.add_group(conn, core, f"Core reviewers of {name}", core)
            account_store.add_member(conn, group.id, caller.account.id)
            try:
                self.repos.create(name, head)
                if create_empty_commit:
                    who = Person(caller.account.name, caller.account.email or "", utcnow())
                    sha = self.repos.create_empty_commit(name, head, who,
                                                         "Initial empty repository")
                    # Further branches start at the same commit, as Gerrit makes them.
                    others = [(f"refs/heads/{b}", sha, ZERO) for b in dict.fromkeys(names[1:])
                              if b != head]
                    if others:
                        self.repos.update_refs(name, others)
            except GitError as exc:
                # Leave nothing behind that would block a retry under the same name.
                self.repos.remove(name)
                raise BadRequest(f"cannot create the repository of {name}: {exc}") from None
        return project

    def _create_in_config(self, site: SiteEditor, caller: Principal, project: Project,
                          create_empty_commit: bool, names: list[str]) -> Project:
        """Make the repository as asked, then the project as a commit on ``config``."""
        assert caller.account is not None
        name, head = project.name, names[0]
        existing = self.exists(name)
        if (existing is not None and existing.state != "HIDDEN") or self.repos.exists(name):
            raise Conflict(f"project {name!r} already exists")
        try:
            self.repos.create(name, head)
            if create_empty_commit:
                who = Person(caller.account.name, caller.account.email or "", utcnow())
                sha = self.repos.create_empty_commit(name, head, who, "Initial empty repository")
                others = [(f"refs/heads/{b}", sha, ZERO) for b in dict.fromkeys(names[1:])
                          if b != head]
                if others:
                    self.repos.update_refs(name, others)
        except GitError as exc:
            self.repos.remove(name)
            raise BadRequest(f"cannot create the repository of {name}: {exc}") from None
        spec = ProjectSpec(name, project.description, head, project.submit_type,
                           project.required_approvals, project.anonymous_read)
        try:
            site.edit(caller, f"Create project {name}",
                      lambda state: edits.create_project(state, spec, caller.account.username
                                                         if caller.account else ""))
        except BaseException:
            self.repos.remove(name)
            raise
        created = self.exists(name)
        assert created is not None
        return created

    def branches(self, project: Project) -> list[tuple[str, str]]:
        return self.repos.refs(project.name, "refs/heads/")

    def readable_branches(self, caller: Principal, project: Project) -> list[tuple[str, str]]:
        """The branches ``caller`` may read: the others are not listed at all."""
        rules = self.rules(project)
        return [(ref, sha) for ref, sha in self.branches(project)
                if acl.check(rules, caller, acl.READ, ref)]

    def head(self, project: Project) -> str:
        return self.repos.head(project.name)

    def configure(self, caller: Principal, project: Project, submit_type: str | None,
                  required_approvals: int | None, description: str | None) -> Project:
        """Change a project's review settings; needs ``owner`` on the project."""
        decision = self.can(caller, project, acl.OWNER, "refs/*")
        if not decision:
            raise Forbidden(f"changing {project.name} needs the owner permission")
        values: dict[str, object] = {}
        if submit_type is not None:
            if submit_type not in SUBMIT_TYPES:
                raise BadRequest(f"submit_type must be one of {', '.join(SUBMIT_TYPES)}")
            values["submit_type"] = submit_type
        if required_approvals is not None:
            if not 1 <= required_approvals <= 10:
                raise BadRequest("required_approvals must be from 1 to 10")
            values["required_approvals"] = required_approvals
        if description is not None:
            values["description"] = description
        site = self._site()
        if site is not None:
            if values:
                renamed = {k: values[k] for k in values}
                site.edit(caller, f"Configure project {project.name}",
                          lambda state: edits.configure_project(state, project.name, **renamed))
            updated = self.exists(project.name)
            assert updated is not None
            return updated
        with self.db.write() as conn:
            if values:
                store.update_project(conn, project.name, **values)
            updated = store.project_by_name(conn, project.name)
        assert updated is not None
        return updated

    def change_access(self, caller: Principal, project: Project, add: list[acl.Rule],
                      remove: list[tuple[str, str | None, str | None]]) -> list[acl.Rule]:
        """Add and remove the project's own access rules; needs ``owner``."""
        decision = self.can(caller, project, acl.OWNER, "refs/*")
        if not decision:
            raise Forbidden(f"changing the access rules of {project.name} needs the owner "
                            "permission")
        site = self._site()
        if site is not None:
            with self.db.read() as conn:
                for rule in add:
                    if account_store.group_by_name(conn, rule.group) is None:
                        raise BadRequest(f"group {rule.group!r} does not exist")
            site.edit(caller, f"Change access rules of {project.name}",
                      lambda state: edits.change_access(state, project.name, add, remove))
            with self.db.read() as conn:
                return review_store.rules_of(conn, project.name)
        with self.db.write() as conn:
            for rule in add:
                if account_store.group_by_name(conn, rule.group) is None:
                    raise BadRequest(f"group {rule.group!r} does not exist")
            for ref, permission, group in remove:
                review_store.remove_rules(conn, project.name, ref, permission, group)
            for rule in add:
                review_store.add_rule(conn, project.name, rule)
            return review_store.rules_of(conn, project.name)
