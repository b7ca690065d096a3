"""Build a ``Layout`` from the configuration files of several projects, in Zuul's order.

The config project comes first, then every other project branch as given. In each one the
files are read as Zuul reads them: ``zuul.yaml``, ``zuul.d/**/*.yaml`` in sorted path order,
``.zuul.yaml``, ``.zuul.d/**/*.yaml`` (directories holding ``.zuul.ignore`` are skipped). A
project branch may use only one of these four places.

Names: a job may have several variants, all in one project. A second nodeset, semaphore,
queue, secret or pipeline of the same name is an error naming both places, except that the
same definition may appear on several branches of one project. References are then checked:
parents, nodesets, templates, pipelines, jobs, secrets and dependencies must exist; no job
inherits from a ``final`` job, or from a ``protected`` one in another project.

Zuul's built-in ``noop`` job is part of every layout: a base job with no nodes and no
playbooks that succeeds at once. It belongs to no repository, so no project may redefine it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from keepgreen.jobconf.model import (
    Job,
    Layout,
    Nodeset,
    Pipeline,
    ProjectConfig,
    ProjectPipeline,
    ProjectTemplate,
    Queue,
    Secret,
    Semaphore,
    SourceContext,
)
from keepgreen.jobconf.parser import PROJECT_ATTRIBUTES, parse_file
from keepgreen.jobconf.schema import did_you_mean
from keepgreen.jobconf.source import ConfigError, Located, Position

CONFIG_ROOTS = ("zuul.yaml", "zuul.d", ".zuul.yaml", ".zuul.d")
IGNORE_MARKER = ".zuul.ignore"

Named = Nodeset | Semaphore | Queue | Secret | Pipeline

BUILTIN_PROJECT = "keepgreen-builtin"
NOOP_JOB = "noop"
NOOP = Job(name=NOOP_JOB, source=SourceContext(BUILTIN_PROJECT, "main", "<built-in>", 1, 1,
                                               trusted=True),
           base=True, description="Succeeds at once, with no nodes and no playbooks.")


@dataclass(frozen=True)
class ProjectFiles:
    """The configuration files of one project branch, as read from its repository.

    ``files`` maps repository paths to their YAML trees (``None`` for an empty file, or the
    ``ConfigError`` the YAML loader raised). Paths outside the configuration places are
    ignored. ``multi_branch`` says the project has more than one branch (implied branch
    matchers then apply to its jobs, as in Zuul).
    """

    project: str
    branch: str
    files: Mapping[str, Located | ConfigError | None] = field(
        default_factory=lambda: MappingProxyType({}))
    trusted: bool = False
    multi_branch: bool = False


def config_roots(paths: Iterable[str]) -> dict[str, list[str]]:
    """The configuration places used among ``paths`` (in Zuul's order of preference), each
    with its files in reading order. More than one place is an error."""
    paths = set(paths)
    ignored = [p[: -len(IGNORE_MARKER)] for p in paths if p.endswith("/" + IGNORE_MARKER)]
    roots: dict[str, list[str]] = {}
    for root in CONFIG_ROOTS:
        if root.endswith(".yaml"):
            found = [root] if root in paths else []
        else:
            found = sorted(p for p in paths if p.startswith(root + "/") and p.endswith(".yaml")
                           and not any(p.startswith(prefix) for prefix in ignored))
        if found:
            roots[root] = found
    return roots


def config_paths(paths: Iterable[str]) -> list[str]:
    """The configuration files Zuul reads among ``paths``, in reading order."""
    roots = config_roots(paths)
    return next(iter(roots.values()), [])


def build_layout(sources: Sequence[ProjectFiles], *, default_parent: str = "base") -> Layout:
    """Parse, collect and cross-check the configuration of every project branch."""
    builder = _Builder(default_parent)
    builder.add(NOOP)
    for source in sorted(sources, key=lambda s: not s.trusted):  # config project first
        builder.add_source(source)
    builder.check_references()
    return builder.layout()


class _Builder:
    def __init__(self, default_parent: str) -> None:
        self.default_parent = default_parent
        self.errors: list[ConfigError] = []
        self.broken: set[tuple[str, str]] = set()
        self.reported_loops: set[frozenset[str]] = set()
        self.jobs: dict[str, list[Job]] = {}
        self.templates: dict[str, list[ProjectTemplate]] = {}
        self.projects: list[ProjectConfig] = []
        self.named: dict[str, dict[str, Named]] = {
            "nodeset": {}, "semaphore": {}, "queue": {}, "secret": {}, "pipeline": {}}

    def error(self, where: Position, message: str, project: str, branch: str) -> None:
        self.errors.append(ConfigError.at(where, message).in_source(project, branch))

    def add_source(self, source: ProjectFiles) -> None:
        roots = config_roots(source.files)
        names = list(roots)
        if len(names) > 1:
            places = " and ".join(f'"{r}"' for r in names)
            self.error(Position(roots[names[1]][0], 1, 1),
                       f'project "{source.project}" has job configuration in both {places}; '
                       f'keep it in one place (only "{names[0]}" is read)',
                       source.project, source.branch)
        for path in next(iter(roots.values()), []):
            tree = source.files[path]
            if isinstance(tree, ConfigError):
                self.errors.append(tree.in_source(source.project, source.branch))
                continue
            parsed = parse_file(tree, project=source.project, branch=source.branch,
                                path=path, trusted=source.trusted,
                                multi_branch=source.multi_branch)
            self.errors.extend(e.in_source(source.project, source.branch)
                               for e in parsed.errors)
            self.broken.update(parsed.broken)
            for obj in parsed.objects:
                self.add(obj)

    def add(self, obj: Job | ProjectConfig | ProjectTemplate | Named) -> None:
        if isinstance(obj, ProjectConfig):
            self.projects.append(obj)
        elif isinstance(obj, Job):
            if self._in_one_project(obj, "job", self.jobs.get(obj.name, [])):
                self.jobs.setdefault(obj.name, []).append(obj)
        elif isinstance(obj, ProjectTemplate):
            if self._in_one_project(obj, "project-template", self.templates.get(obj.name, [])):
                self.templates.setdefault(obj.name, []).append(obj)
        else:
            self._add_named(obj)

    def _in_one_project(self, obj: Job | ProjectTemplate, kind: str,
                        existing: Sequence[Job | ProjectTemplate]) -> bool:
        """Variants of a job (or template) must all come from one project."""
        if not existing or existing[0].source.project == obj.source.project:
            return True
        first = existing[0].source
        self.error(obj.source.position,
                   f'{kind} "{obj.name}" is already defined in project "{first.project}" at '
                   f"{first.position}; all variants of a {kind} must be in one project",
                   obj.source.project, obj.source.branch)
        return False

    def _add_named(self, obj: Named) -> None:
        kind = type(obj).__name__.lower()
        table = self.named[kind]
        assert obj.source is not None and obj.name is not None
        existing = table.get(obj.name)
        if existing is None:
            table[obj.name] = obj
            return
        assert existing.source is not None
        if (existing == obj and existing.source.project == obj.source.project
                and existing.source.branch != obj.source.branch):
            return  # the same definition carried onto another branch
        first = existing.source
        self.error(obj.source.position,
                   f'{kind} "{obj.name}" is already defined at {first.position} (project '
                   f'"{first.project}", branch "{first.branch}"); rename one of them',
                   obj.source.project, obj.source.branch)

    # --- references ---------------------------------------------------------------------

    def missing(self, kind: str, name: str, known: Iterable[str]) -> str | None:
        """The "unknown" message for a reference, or None when it resolves (or the object
        was broken, which has been reported already)."""
        known = list(known)
        if name in known or (kind, name) in self.broken:
            return None
        return f'unknown {kind} "{name}"' + did_you_mean(name, known)

    def check_references(self) -> None:
        for variants in self.jobs.values():
            for index, job in enumerate(variants):
                self._check_parent(job, first=index == 0)
                self._check_job_refs(job)
        self._check_inheritance_cycles()
        for nodeset in self.named["nodeset"].values():
            assert isinstance(nodeset, Nodeset)
            self._check_alternatives(nodeset, nodeset, ())
        for template_list in self.templates.values():
            for template in template_list:
                self._check_pipelines(f'project-template "{template.name}"',
                                      template.pipelines, template)
        for project in self.projects:
            what = f'project "{project.name}"'
            for name in project.templates:
                problem = self.missing("project-template", name, self.templates)
                if problem:
                    self.error(project.positions.get("templates", project.source.position),
                               f"{what} uses {problem}", project.source.project,
                               project.source.branch)
            self._check_pipelines(what, project.pipelines, project)

    def _job_error(self, job: Job, attribute: str, message: str) -> None:
        self.error(job.where(attribute), message, job.source.project, job.source.branch)

    def _check_parent(self, job: Job, first: bool) -> None:
        if job.base:
            return
        parent = job.parent
        if parent is None:
            if not first:
                return  # later variants without "parent" keep the job's parent
            parent = self.default_parent
            if parent == job.name:
                self._job_error(job, "parent", f'job "{job.name}" has no "parent"; the base '
                                               'job must say "parent: null"')
                return
        what = f'job "{job.name}"'
        if parent not in self.jobs:
            problem = self.missing("job", parent, self.jobs)
            if problem:
                hint = "" if job.parent else  ' (the default parent, as "parent" is not set)'
                self._job_error(job, "parent", f"{what} inherits from {problem}{hint}")
            return
        for variant in self.jobs[parent]:
            if variant.final:
                self._job_error(job, "parent", f'{what} may not inherit from job "{parent}" '
                                               f"because it is final ({variant.source.position})")
                return
            if variant.protected and variant.source.project != job.source.project:
                self._job_error(job, "parent", f'{what} may not inherit from job "{parent}": '
                                               "it is protected, so only jobs in project "
                                               f'"{variant.source.project}" may')
                return

    def _check_job_refs(self, job: Job) -> None:
        what = f'job "{job.name}"'
        if isinstance(job.nodeset, str):
            problem = self.missing("nodeset", job.nodeset, self.named["nodeset"])
            if problem:
                self._job_error(job, "nodeset", f"{what} uses {problem}")
        elif isinstance(job.nodeset, Nodeset):
            self._check_alternatives(job.nodeset, job.nodeset, ())
        for use in job.secrets or ():
            secret = self.named["secret"].get(use.secret)
            where = use.position or job.where("secrets")
            if secret is None:
                problem = self.missing("secret", use.secret, self.named["secret"])
                if problem:
                    self.error(where, f"{what} uses {problem}", job.source.project,
                               job.source.branch)
            elif secret.source is not None and secret.source.project != job.source.project:
                self.error(where, f'{what} may not use secret "{use.secret}" of project '
                                  f'"{secret.source.project}"; a job may only use secrets '
                                  "defined in its own project", job.source.project,
                           job.source.branch)
        for dependency in job.dependencies or ():
            problem = self.missing("job", dependency.name, self.jobs)
            if problem:
                self.error(dependency.position or job.where("dependencies"),
                           f"{what} depends on {problem}", job.source.project,
                           job.source.branch)

    def _check_inheritance_cycles(self) -> None:
        parents: dict[str, list[tuple[str, Job]]] = {}
        for name, variants in self.jobs.items():
            for index, job in enumerate(variants):
                parent = job.parent or (self.default_parent if index == 0 and not job.base
                                        else None)
                if parent is None or parent not in self.jobs:
                    continue
                if parent == name and not job.parent:
                    continue  # reported by _check_parent: the base job needs "parent: null"
                parents.setdefault(name, []).append((parent, job))
        done: set[str] = set()
        for start in parents:
            path: list[str] = []
            self._walk(start, parents, path, done)

    def _walk(self, name: str, parents: Mapping[str, list[tuple[str, Job]]], path: list[str],
              done: set[str]) -> None:
        if name in done:
            return
        path.append(name)
        for parent, job in parents.get(name, ()):
            if parent in path:
                cycle = " -> ".join([*path[path.index(parent):], parent])
                self._job_error(job, "parent", f"jobs inherit from each other in a cycle: "
                                               f"{cycle}")
                continue
            self._walk(parent, parents, path, done)
        path.pop()
        done.add(name)

    def _check_alternatives(self, top: Nodeset, nodeset: Nodeset, seen: tuple[str, ...],
                            direct: bool = True) -> None:
        """Alternatives named directly must exist; following them must not loop back."""
        assert top.source is not None
        what = f'nodeset "{top.name}"' if top.name else "the inline nodeset"
        for alternative in nodeset.alternatives:
            if isinstance(alternative, Nodeset):
                self._check_alternatives(top, alternative, seen, direct)
                continue
            target = self.named["nodeset"].get(alternative)
            if target is None:
                problem = self.missing("nodeset", alternative, self.named["nodeset"])
                if problem and direct:
                    self.error(top.source.position, f"{what} lists {problem} as an alternative",
                               top.source.project, top.source.branch)
            elif alternative == top.name or alternative in seen:
                loop = frozenset((*seen, alternative))
                if loop not in self.reported_loops:
                    self.reported_loops.add(loop)
                    chain = " -> ".join((str(top.name), *seen, alternative))
                    self.error(top.source.position, f"{what} is an alternative of itself: "
                                                    f"{chain}", top.source.project,
                               top.source.branch)
            else:
                assert isinstance(target, Nodeset)
                self._check_alternatives(top, target, (*seen, alternative), False)

    def _check_pipelines(self, what: str, pipelines: Mapping[str, ProjectPipeline],
                         owner: ProjectConfig | ProjectTemplate) -> None:
        project, branch = owner.source.project, owner.source.branch
        for pipeline in pipelines.values():
            where = pipeline.position or owner.source.position
            if pipeline.name not in self.named["pipeline"]:
                hint = did_you_mean(pipeline.name, [*self.named["pipeline"],
                                                    *PROJECT_ATTRIBUTES])
                if ("pipeline", pipeline.name) not in self.broken:
                    self.error(where, f'{what} has unknown key "{pipeline.name}", which is '
                                      f"neither a project attribute nor a pipeline{hint}",
                               project, branch)
                continue
            for job in pipeline.jobs:
                problem = self.missing("job", job.name, self.jobs)
                if problem:
                    self.error(job.source.position, f'{what}, pipeline "{pipeline.name}", '
                                                    f"runs {problem}", project, branch)
                    continue
                self._check_job_refs(job)

    def layout(self) -> Layout:
        named = self.named
        return Layout(
            pipelines=MappingProxyType({k: v for k, v in named["pipeline"].items()
                                        if isinstance(v, Pipeline)}),
            jobs=MappingProxyType({k: tuple(v) for k, v in self.jobs.items()}),
            project_configs=tuple(self.projects),
            project_templates=MappingProxyType({k: tuple(v)
                                                for k, v in self.templates.items()}),
            nodesets=MappingProxyType({k: v for k, v in named["nodeset"].items()
                                       if isinstance(v, Nodeset)}),
            semaphores=MappingProxyType({k: v for k, v in named["semaphore"].items()
                                         if isinstance(v, Semaphore)}),
            queues=MappingProxyType({k: v for k, v in named["queue"].items()
                                     if isinstance(v, Queue)}),
            secrets=MappingProxyType({k: v for k, v in named["secret"].items()
                                      if isinstance(v, Secret)}),
            default_parent=self.default_parent,
            errors=tuple(self.errors))
