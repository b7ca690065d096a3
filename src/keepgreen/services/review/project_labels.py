"""A project's labels and submit requirements as Gerrit's REST API shows them.

keepgreen's labels (Code-Review, Verified, Workflow) and submit requirements are built in
and the same on every project; they are shown as defined in ``All-Projects``, the root
Gerrit projects inherit from. The one thing a project sets is how many Code-Review
approvals it needs (``required-approvals``); a project that needs other than the default
shows its own ``Code-Review`` requirement. Reading needs read access to the project
(``All-Projects`` is readable by everyone); edits are refused, after the same access checks
Gerrit makes, with the sentence saying where the setting lives.
"""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain import acl, labels, requirements
from keepgreen.domain.account import Principal
from keepgreen.domain.project import SITE_CONFIG, Project
from keepgreen.services.errors import Forbidden, MethodNotAllowed, NotFound, Unauthorized
from keepgreen.services.review.projects import ProjectService

ALL_PROJECTS = "All-Projects"
DEFAULT_APPROVALS = 2
LABEL_FUNCTION = "NoBlock"  # votes alone never block: the submit requirements decide


@dataclass(frozen=True)
class LabelDefinition:
    project: str  # where it is defined
    label: labels.LabelType


@dataclass(frozen=True)
class RequirementDefinition:
    project: str
    requirement: requirements.Requirement


def copy_condition(label: labels.LabelType) -> str:
    """The label's copy rules (``labels.copied_votes``) as Gerrit's copyCondition query."""
    kinds = []
    if label.copy_all_on_trivial_rebase:
        kinds += [labels.NO_CHANGE, labels.TRIVIAL_REBASE]
    if label.copy_all_if_no_code_change:
        kinds.append(labels.NO_CODE_CHANGE)
    parts = [f"changekind:{kind}" for kind in kinds]
    if label.copy_min:
        parts.append("is:MIN")
    return " OR ".join(parts)


def _where(name: str) -> str:
    return f"project {name!r} in resources/ of the {SITE_CONFIG!r} project"


class ProjectLabels:
    def __init__(self, projects: ProjectService) -> None:
        self.projects = projects

    def project(self, caller: Principal, name: str) -> Project | None:
        """The project, or None for ``All-Projects`` (the site's own definitions)."""
        if name == ALL_PROJECTS:
            return None
        return self.projects.get(name, caller)

    # -- labels ---------------------------------------------------------------------------

    def labels(self, caller: Principal, name: str, inherited: bool) -> list[LabelDefinition]:
        """The labels defined in the project (with ``inherited``, also those it inherits)."""
        project = self.project(caller, name)
        if project is not None and not inherited:
            return []
        return [LabelDefinition(ALL_PROJECTS, label) for label in labels.DEFAULT_LABELS]

    def label(self, caller: Principal, name: str, label_name: str) -> LabelDefinition:
        """The label ``label_name`` (any case) in effect on the project."""
        self.project(caller, name)
        found = labels.find(label_name)
        if found is None:
            known = ", ".join(lt.name for lt in labels.DEFAULT_LABELS)
            raise NotFound(f"label {label_name!r} is not defined (labels: {known})")
        return LabelDefinition(ALL_PROJECTS, found)

    # -- submit requirements --------------------------------------------------------------

    def requirements(self, caller: Principal, name: str,
                     inherited: bool) -> list[RequirementDefinition]:
        project = self.project(caller, name)
        site = [RequirementDefinition(ALL_PROJECTS, r)
                for r in requirements.default_requirements(DEFAULT_APPROVALS)]
        if project is None:
            return site
        own = []
        if project.required_approvals != DEFAULT_APPROVALS:
            own = [RequirementDefinition(project.name, r)
                   for r in requirements.default_requirements(project.required_approvals)
                   if r.name == "Code-Review"]
        if not inherited:
            return own
        mine = {d.requirement.name for d in own}
        return own + [d for d in site if d.requirement.name not in mine]

    def requirement(self, caller: Principal, name: str,
                    requirement_name: str) -> RequirementDefinition:
        for found in self.requirements(caller, name, inherited=True):
            if found.requirement.name == requirement_name:
                return found
        raise NotFound(f"submit requirement {requirement_name!r} is not defined for {name}")

    # -- edits ----------------------------------------------------------------------------

    def check_owner(self, caller: Principal, name: str, what: str) -> Project | None:
        """Refuse callers who could not change the project's configuration anyway."""
        project = self.project(caller, name)
        if caller.account is None:
            raise Unauthorized(f"changing {what} needs you to sign in")
        if project is None:
            if not caller.is_admin:
                raise Forbidden(f"changing the {what} of {ALL_PROJECTS} needs membership in "
                                "Administrators")
        elif not self.projects.can(caller, project, acl.OWNER, "refs/*"):
            raise Forbidden(f"changing the {what} of {project.name} needs the owner permission")
        return project

    @staticmethod
    def refuse_label_edit(project: Project | None) -> MethodNotAllowed:
        names = ", ".join(lt.name for lt in labels.DEFAULT_LABELS)
        who = f"under `access` of {_where(project.name)}" if project is not None else (
            f"under `access` of each project in resources/ of the {SITE_CONFIG!r} project")
        return MethodNotAllowed(
            f"keepgreen's labels ({names}) are built in and the same on every project; "
            f"change who may vote which values {who}, through review")

    @staticmethod
    def refuse_requirement_edit(project: Project | None) -> MethodNotAllowed:
        where = _where(project.name) if project is not None else (
            f"each project in resources/ of the {SITE_CONFIG!r} project")
        return MethodNotAllowed(
            "keepgreen's submit requirements are built in; the number of Code-Review "
            f"approvals a change needs is `required-approvals` of {where}, changed through "
            "review (or with PUT /projects/<name>/config)")
