"""Who may fetch from or push to a project's repository, and what of it they may not see.

One decision for every git transport (smart HTTP, SSH): the transports only speak the
protocol, through git's own programs, with what is hidden here kept out of sight.
"""

from __future__ import annotations

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.project import Project
from keepgreen.domain.refs import HEADS, TAGS
from keepgreen.git.repos import Repos
from keepgreen.services.errors import Forbidden
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService


class GitAccess:
    def __init__(self, projects: ProjectService, changes: ChangeService, repos: Repos) -> None:
        self.projects = projects
        self.changes = changes
        self.repos = repos

    def authorise(self, who: Principal, name: str,
                  push: bool) -> tuple[Project, list[acl.Rule]]:
        """The project and its rules when ``who`` may read it (and, for a push, push to it
        for review or to a branch); otherwise the refusal (not found when unreadable)."""
        project, rules = self.projects.get_with_rules(name, who)
        if push and not (acl.check(rules, who, acl.PUSH, "refs/for/refs/heads/*")
                         or acl.check(rules, who, acl.PUSH, "refs/heads/*")):
            username = who.account.username if who.account else "you"
            raise Forbidden(f"{username} may not push to {name}")
        return project, rules

    def hidden(self, who: Principal, project: Project,
               rules: list[acl.Rule]) -> tuple[list[int], list[str]]:
        """The changes, and the branches and tags, of ``project`` that ``who`` may not read."""
        if who.is_admin:
            return [], []
        names = sorted(self.repos.ref_names(project.name, HEADS)
                       | self.repos.ref_names(project.name, TAGS))
        unreadable = [r for r in names if not acl.check(rules, who, acl.READ, r)]
        return self.changes.hidden_numbers(project.name, who), unreadable
