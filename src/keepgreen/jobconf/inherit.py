"""How one job definition is applied on top of the job being frozen (Zuul's rules).

The same step serves inheritance (a child applied after its parents), variants (later
definitions of the same name) and project-pipeline variants:

- ``run`` is replaced; ``pre-run`` playbooks are appended (the parent's run before the
  child's) and ``post-run`` playbooks prepended (the child's run before the parent's), so
  they nest.
- ``vars`` (and ``extra-vars``, ``host-vars``, ``group-vars``) are deep-merged, the later
  definition winning; ``!override`` replaces them instead.
- ``required-projects`` and ``tags`` are merged without duplicates unless ``!override``;
  ``dependencies``, ``files`` and ``irrelevant-files`` are replaced unless ``!inherit``.
- ``semaphores``, ``provides`` and ``requires`` accumulate; ``allowed-projects`` narrows
  (each definition that sets it leaves only the projects it also names), and an untrusted
  definition with secrets allows only its own project. Other single values are replaced;
  a ``description`` belongs to its own job and is not inherited.
- ``final`` and ``protected`` can only be switched on. ``abstract`` is switched on by any
  variant and reset by a child. ``post-review`` sticks once set, and an untrusted
  definition with secrets sets it.
- A final job refuses every change but voting, matchers, dependencies and tags; a protected
  job refuses those changes from other projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeVar

from keepgreen.jobconf.frozen import FrozenJob, Playbook
from keepgreen.jobconf.model import (
    Dependency,
    Job,
    Layout,
    Matcher,
    Nodeset,
    RequiredProject,
    RoleRepo,
    Secret,
    SecretUse,
    SourceContext,
    implicit_role_name,
)
from keepgreen.jobconf.source import ConfigError, Position

# Attributes that change how a job runs: a final (or protected) job keeps them.
EXECUTION_ATTRIBUTES = ("nodeset", "pre_run", "run", "post_run", "vars", "extra_vars",
                        "host_vars", "group_vars", "required_projects", "timeout", "pre_timeout",
                        "post_timeout", "attempts", "override_checkout", "semaphores",
                        "secrets", "post_review")
VARIABLE_ATTRIBUTES = ("vars", "extra_vars", "host_vars", "group_vars")
CONTEXT_ATTRIBUTES = "voting, branches, files, irrelevant-files, dependencies and tags"

T = TypeVar("T")


def deep_merge(base: Mapping[str, object], update: Mapping[str, object]) -> Mapping[str, object]:
    """``update`` merged into ``base``: nested mappings merge, anything else is replaced."""
    merged = dict(base)
    for key, value in update.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return MappingProxyType(merged)


def union(old: tuple[T, ...], new: tuple[T, ...]) -> tuple[T, ...]:
    return old + tuple(item for item in new if item not in old)


def resolve_nodeset(layout: Layout, nodeset: str | Nodeset, where: Position,
                    seen: tuple[str, ...] = ()) -> Nodeset:
    """A nodeset with every alternative named by reference replaced by its definition."""
    if isinstance(nodeset, str):
        found = layout.nodesets.get(nodeset)
        if found is None:
            raise ConfigError.at(where, f'nodeset "{nodeset}" is not defined')
        if nodeset in seen:
            raise ConfigError.at(where, f'nodeset "{nodeset}" is an alternative of itself')
        return resolve_nodeset(layout, found, where, (*seen, nodeset))
    if not nodeset.alternatives:
        return nodeset
    alternatives = tuple(resolve_nodeset(layout, alt, where, seen)
                         for alt in nodeset.alternatives)
    return Nodeset(nodeset.name, nodeset.nodes, nodeset.groups, alternatives, nodeset.source)


class JobBuilder:
    """The state of one job while its definitions are applied in order."""

    def __init__(self, name: str, layout: Layout) -> None:
        self.name = name
        self.layout = layout
        self.source: SourceContext | None = None
        self.current: str | None = None  # name of the last definition applied
        self.final_at: Position | None = None
        self.protected_by: str | None = None
        self.inheritance: list[str] = []
        self.updated: set[tuple[str, str]] = set()  # (project, path) of config and playbooks
        self.description: str | None = None
        self.abstract = False
        self.post_review = False
        self.nodeset = Nodeset()
        self.pre_run: tuple[Playbook, ...] = ()
        self.run: tuple[Playbook, ...] = ()
        self.post_run: tuple[Playbook, ...] = ()
        self.variables: dict[str, Mapping[str, object]] = {
            attr: MappingProxyType({}) for attr in VARIABLE_ATTRIBUTES}
        self.required_projects: tuple[RequiredProject, ...] = ()
        self.timeout: int | None = None
        self.pre_timeout: int | None = None
        self.post_timeout: int | None = None
        self.override_checkout: str | None = None
        self.allowed_projects: tuple[str, ...] | None = None
        self.allowed_at: Position | None = None  # the definition that last narrowed them
        self.provides: tuple[str, ...] = ()
        self.requires: tuple[str, ...] = ()
        self.attempts = 3
        self.voting = True
        self.match_on_config_updates = True
        self.files: tuple[Matcher, ...] = ()
        self.irrelevant_files: tuple[Matcher, ...] = ()
        self.dependencies: tuple[Dependency, ...] = ()
        self.semaphores: tuple[str, ...] = ()
        self.roles: tuple[RoleRepo, ...] = ()
        self.secrets: dict[str, Secret] = {}
        self.tags: tuple[str, ...] = ()

    def apply(self, job: Job, who: str) -> None:
        """Apply ``job``; ``who`` names the definition in errors (``this variant``...)."""
        self._check_allowed(job, who)
        inheriting = self.current is not None and job.name != self.current
        if self.source is None or inheriting:
            self.source = job.source
        if job.final:
            self.final_at = job.source.position
        if job.protected:
            self.protected_by = job.source.project
        # A variant may set abstract but never clear it; a child starts out concrete.
        self.abstract = bool(job.abstract) if inheriting else self.abstract or bool(job.abstract)
        if inheriting or job.description is not None:
            self.description = job.description  # a description is not inherited
        if job.timeout is not None:
            self.timeout = job.timeout
        for attr in ("pre_timeout", "post_timeout", "override_checkout"):
            if getattr(job, attr) is not None:
                setattr(self, attr, getattr(job, attr))
        if job.attempts is not None:
            self.attempts = job.attempts
        if job.voting is not None:
            self.voting = job.voting
        if job.match_on_config_updates is not None:
            self.match_on_config_updates = job.match_on_config_updates
        if job.nodeset is not None:
            self.nodeset = resolve_nodeset(self.layout, job.nodeset, job.where("nodeset"))
        self._secrets_and_playbooks(job)
        for attr in VARIABLE_ATTRIBUTES:
            value: Mapping[str, object] | None = getattr(job, attr)
            if value is not None:
                self.variables[attr] = (value if attr in job.override
                                        else deep_merge(self.variables[attr], value))
        self._lists(job)
        self._allowed_projects(job)
        if job.post_review or (job.secrets and not job.source.trusted):
            self.post_review = True
        self.inheritance.append(f"{job.name} ({job.source})")
        self.updated.add((job.source.project, job.source.path))
        self.current = job.name

    def _check_allowed(self, job: Job, who: str) -> None:
        changing = [a for a in EXECUTION_ATTRIBUTES if getattr(job, a) is not None]
        if not changing:
            return
        key = changing[0].replace("_", "-")
        if self.final_at is not None:
            raise ConfigError.at(job.where(changing[0]), f'{who} may not change "{key}" of '
                                 f'job "{self.current}", which is final ({self.final_at}); '
                                 f"only {CONTEXT_ATTRIBUTES} may change")
        if self.protected_by not in (None, job.source.project):
            raise ConfigError.at(job.where(changing[0]), f'{who} may not change "{key}" of '
                                 f'job "{self.current}", which is protected: only project '
                                 f'"{self.protected_by}" may')

    def _secrets_and_playbooks(self, job: Job) -> None:
        uses = job.secrets or ()
        for use in uses:
            secret = self.layout.secrets.get(use.secret)
            if secret is None:
                raise ConfigError.at(use.position or job.where("secrets"),
                                     f'secret "{use.secret}" is not defined')
            self.secrets[use.secret] = secret
        passed = tuple(u for u in uses if u.pass_to_parent)
        if passed:  # the child's secrets also reach the playbooks its parents added
            self.pre_run = tuple(_with_secrets(pb, passed) for pb in self.pre_run)
            self.run = tuple(_with_secrets(pb, passed) for pb in self.run)
            self.post_run = tuple(_with_secrets(pb, passed) for pb in self.post_run)
        src = job.source

        def books(paths: tuple[str, ...]) -> tuple[Playbook, ...]:
            self.updated.update((src.project, path) for path in paths)
            return tuple(Playbook(p, src.project, src.branch, src.trusted, uses) for p in paths)

        if job.pre_run is not None:
            self.pre_run = self.pre_run + books(job.pre_run)
        if job.run is not None:
            self.run = books(job.run)
        if job.post_run is not None:
            self.post_run = books(job.post_run) + self.post_run

    def _allowed_projects(self, job: Job) -> None:
        allowed = job.allowed_projects
        where = job.where("allowed_projects")
        if job.secrets and not job.source.trusted:
            own = (job.source.project,)
            allowed = own if allowed is None else tuple(p for p in allowed if p in own)
            where = job.where("secrets") if job.allowed_projects is None else where
        if allowed is None:
            return
        self.allowed_projects = (allowed if self.allowed_projects is None else
                                 tuple(p for p in self.allowed_projects if p in allowed))
        self.allowed_at = where

    def _lists(self, job: Job) -> None:
        if job.required_projects is not None:
            if "required_projects" in job.override:
                self.required_projects = job.required_projects
            else:
                names = {p.name for p in job.required_projects}
                self.required_projects = tuple(p for p in self.required_projects
                                               if p.name not in names) + job.required_projects
        if job.tags is not None:
            self.tags = job.tags if "tags" in job.override else union(self.tags, job.tags)
        if job.semaphores is not None:
            self.semaphores = union(self.semaphores, job.semaphores)
        # Roles add up along inheritance, as in Zuul; each definition also offers its own
        # project's roles (an implicit role repository).
        own = job.source.project
        offered = (RoleRepo(own, implicit_role_name(own), implicit=True), *(job.roles or ()))
        for role in offered:
            if all(r.project != role.project for r in self.roles):
                self.roles = (*self.roles, role)
            elif not role.implicit:  # an explicit entry wins over the implicit one
                self.roles = tuple(role if r.project == role.project and r.implicit else r
                                   for r in self.roles)
        if job.provides is not None:
            self.provides = union(self.provides, job.provides)
        if job.requires is not None:
            self.requires = union(self.requires, job.requires)
        if job.dependencies is not None:
            if "dependencies" in job.inherit:
                names = {d.name for d in job.dependencies}
                self.dependencies = tuple(d for d in self.dependencies
                                          if d.name not in names) + job.dependencies
            else:
                self.dependencies = job.dependencies
        if job.files is not None:
            self.files = union(self.files, job.files) if "files" in job.inherit else job.files
        if job.irrelevant_files is not None:
            self.irrelevant_files = (union(self.irrelevant_files, job.irrelevant_files)
                                     if "irrelevant_files" in job.inherit
                                     else job.irrelevant_files)

    def freeze(self, parent: str | None, project_vars: Mapping[str, object]) -> FrozenJob:
        assert self.source is not None, "apply at least one definition first"
        return FrozenJob(
            name=self.name, source=self.source, parent=parent,
            inheritance=tuple(self.inheritance), description=self.description,
            nodeset=self.nodeset, pre_run=self.pre_run, run=self.run, post_run=self.post_run,
            vars=self.variables["vars"], extra_vars=self.variables["extra_vars"],
            host_vars=self.variables["host_vars"], group_vars=self.variables["group_vars"],
            project_vars=project_vars, required_projects=self.required_projects,
            timeout=self.timeout, pre_timeout=self.pre_timeout,
            post_timeout=self.post_timeout, override_checkout=self.override_checkout,
            allowed_projects=self.allowed_projects, provides=self.provides,
            requires=self.requires, attempts=self.attempts, voting=self.voting,
            files=self.files, irrelevant_files=self.irrelevant_files,
            dependencies=self.dependencies, semaphores=self.semaphores, roles=self.roles,
            secrets=MappingProxyType(dict(self.secrets)), tags=self.tags,
            abstract=self.abstract, final=self.final_at is not None,
            protected=self.protected_by is not None, post_review=self.post_review,
            match_on_config_updates=self.match_on_config_updates)


def _with_secrets(playbook: Playbook, passed: tuple[SecretUse, ...]) -> Playbook:
    names = {use.name for use in playbook.secrets}
    extra = tuple(use for use in passed if use.name not in names)
    if not extra:
        return playbook
    return Playbook(playbook.path, playbook.project, playbook.branch, playbook.trusted,
                    playbook.secrets + extra)

