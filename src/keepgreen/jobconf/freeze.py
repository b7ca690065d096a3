"""Freeze the job graph of one item: which jobs run, and exactly how (Zuul's freezing).

For every job the project lists in the pipeline (its own stanzas and their templates, in
order), the variants that match the item's branch are collected, each preceded by the
variants of its parent chain up to a base job, and applied in that order; then the
project-pipeline variants are applied. File matchers decide whether the job runs. Jobs that
do not run get a reason; configuration that cannot work (an abstract job listed directly, a
hard dependency on a job that does not run, a dependency cycle...) raises ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType

from keepgreen.jobconf.exposure import secret_warnings
from keepgreen.jobconf.frozen import FrozenJob, JobGraph
from keepgreen.jobconf.inherit import JobBuilder, deep_merge
from keepgreen.jobconf.layout import NOOP_JOB
from keepgreen.jobconf.model import Job, Layout, Matcher, ProjectPipeline, any_matches
from keepgreen.jobconf.source import ConfigError, Position

COMMIT_MSG = "/COMMIT_MSG"  # Gerrit's pseudo-file for the commit message; never matched


class _Skip(Exception):
    """A job that does not run, with the reason."""


def freeze_job_graph(layout: Layout, *, project: str, branch: str, pipeline: str,
                     changed_files: Iterable[str] | None = None) -> JobGraph:
    """The frozen jobs of an item of ``project`` on ``branch`` in ``pipeline``.

    ``changed_files`` are the paths the item changes; ``None`` (or no files, as for a merge
    commit) means file matchers are not applied.
    """
    if pipeline not in layout.pipelines:
        raise ValueError(f'unknown pipeline "{pipeline}"')
    entries: dict[str, list[Job]] = {}
    project_vars: Mapping[str, object] = MappingProxyType({})
    queue: str | None = None
    fail_fast: bool | None = None
    debug = False

    def add(ppc: ProjectPipeline | None) -> None:
        nonlocal fail_fast, debug
        if ppc is None:
            return
        for job in ppc.jobs:
            entries.setdefault(job.name, []).append(job)
        debug = debug or ppc.debug
        if fail_fast is None:
            fail_fast = ppc.fail_fast

    for stanza in layout.project_stanzas(project, branch):
        queue = queue or stanza.queue
        for name in stanza.templates:
            for template in layout.project_templates.get(name, ()):
                if template.matches_branch(branch):
                    queue = queue or template.queue
                    add(template.pipelines.get(pipeline))
                    project_vars = deep_merge(project_vars, template.vars or {})
        add(stanza.pipelines.get(pipeline))
        project_vars = deep_merge(project_vars, stanza.vars or {})

    files = None if changed_files is None else [f for f in changed_files if f != COMMIT_MSG]
    post_review = layout.pipelines[pipeline].post_review
    jobs: list[FrozenJob] = []
    reasons: dict[str, str] = {}
    for name, variants in entries.items():
        try:
            jobs.append(_freeze_job(layout, name, variants, project, branch, pipeline,
                                    files, project_vars, post_review))
        except _Skip as skip:
            reasons[name] = str(skip)
    limits = {name: layout.semaphores[name].max for job in jobs for name in job.semaphores
              if name in layout.semaphores}
    graph = JobGraph(project, branch, pipeline, tuple(jobs), MappingProxyType(reasons),
                     queue, bool(fail_fast), debug, MappingProxyType(limits))
    graph = _resolve_dependencies(graph)
    return replace(graph, warnings=secret_warnings(graph, post_review))


def _freeze_job(layout: Layout, name: str, pipeline_variants: list[Job], project: str,
                branch: str, pipeline: str, files: list[str] | None,
                project_vars: Mapping[str, object], post_review: bool) -> FrozenJob:
    if name not in layout.jobs:
        raise _Skip(f'job "{name}" is not defined')
    collected: list[Job] = []
    _collect(layout, name, branch, collected, [], [])
    builder = JobBuilder(name, layout)
    for definition in collected:
        who = ("this variant" if definition.name == name
               else f'job "{definition.name}"' if builder.current is None
               else f'job "{definition.name}" (inheriting from it)')
        builder.apply(definition, who)
    matching = [v for v in pipeline_variants if v.matches_branch(branch)]
    if not matching:
        raise _Skip(f'the project lists job "{name}" in "{pipeline}" only for branches '
                    f'other than "{branch}"')
    for variant in matching:
        builder.apply(variant, f'project "{project}" (pipeline "{pipeline}")')
    first_own = next(i for i, d in enumerate(collected) if d.name == name)
    parent = collected[first_own - 1].name if first_own else None
    job = builder.freeze(parent, project_vars)
    where = matching[0].source.position
    if files and not (job.match_on_config_updates
                      and any((project, f) in builder.updated for f in files)):
        _check_files(job.name, job.files, job.irrelevant_files, files)
    if job.allowed_projects is not None and project not in job.allowed_projects:
        allowed = ", ".join(f'"{p}"' for p in job.allowed_projects) or "no project"
        raise ConfigError.at(where, f'job "{name}" may not run for project "{project}": its '
                                    f'"allowed-projects" ({builder.allowed_at}) allow only '
                                    f"{allowed}")
    if job.abstract:
        raise ConfigError.at(where, f'job "{name}" is abstract and cannot run directly; run '
                                    "a job that inherits from it")
    if job.post_review and not post_review:
        raise ConfigError.at(where, f'job "{name}" may only run in post-review pipelines '
                                    f'(it uses secrets or sets "post-review"), and "{pipeline}" '
                                    "is not one")
    if not job.run and job.name != NOOP_JOB:
        raise ConfigError.at(where, f'job "{name}" has no "run" playbook; set "run" on the job '
                                    "or one of its parents")
    return job


def _collect(layout: Layout, name: str, branch: str, collected: list[Job], path: list[str],
             stack: list[str]) -> None:
    """Append the matching variants of ``name``, each after its parent's (Zuul's order)."""
    if name in stack:
        chain = " -> ".join([*stack[stack.index(name):], name])
        raise ConfigError.at(layout.jobs[name][0].source.position,
                             f"jobs inherit from each other in a cycle: {chain}")
    path.append(name)
    matched = False
    for variant in layout.jobs.get(name, ()):
        if not variant.matches_branch(branch):
            continue
        parent = None if variant.base else variant.parent
        if parent is None and not variant.base and not collected:
            parent = layout.default_parent
        if parent is not None and parent not in path:
            if parent not in layout.jobs:
                raise _Skip(f'job "{name}" inherits from job "{parent}", which is not defined')
            try:
                _collect(layout, parent, branch, collected, path, [*stack, name])
            except _Skip as skip:
                raise _Skip(f'job "{name}" cannot run on branch "{branch}": {skip}') from None
        collected.append(variant)
        matched = True
    if not matched:
        raise _Skip(f'no variant of job "{name}" applies to branch "{branch}"')


def _check_files(name: str, wanted: tuple[Matcher, ...], irrelevant: tuple[Matcher, ...],
                 files: list[str]) -> None:
    if wanted and not any(any_matches(wanted, f) for f in files):
        patterns = ", ".join(str(m) for m in wanted)
        raise _Skip(f'job "{name}" did not run: no changed file matches its "files" '
                    f"({patterns})")
    if irrelevant and all(any_matches(irrelevant, f) for f in files):
        patterns = ", ".join(str(m) for m in irrelevant)
        raise _Skip(f'job "{name}" did not run: every changed file matches its '
                    f'"irrelevant-files" ({patterns})')


def _resolve_dependencies(graph: JobGraph) -> JobGraph:
    """Drop soft dependencies on jobs that do not run; refuse missing hard ones and cycles."""
    present = set(graph.names)
    jobs = []
    for job in graph.jobs:
        kept = []
        for dep in job.dependencies:
            if dep.name in present:
                kept.append(dep)
            elif not dep.soft:
                why = graph.reasons.get(dep.name, f'the project does not list it in '
                                                  f'"{graph.pipeline}"')
                raise ConfigError.at(dep.position or job.source.position,
                                     f'job "{job.name}" depends on job "{dep.name}", which '
                                     f"does not run for this change ({why}); make the "
                                     'dependency "soft: true" or run that job too')
        jobs.append(replace(job, dependencies=tuple(kept)) if len(kept) != len(
            job.dependencies) else job)
    graph = replace(graph, jobs=tuple(jobs))
    _check_cycles(graph)
    return graph


def _check_cycles(graph: JobGraph) -> None:
    by_name = {job.name: job for job in graph.jobs}
    done: set[str] = set()

    def visit(name: str, stack: list[str], where: Position | None) -> None:
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name):], name])
            assert where is not None
            raise ConfigError.at(where, f"jobs depend on each other in a cycle: {cycle}")
        if name in done:
            return
        stack.append(name)
        for dep in by_name[name].dependencies:
            visit(dep.name, stack, dep.position or by_name[name].source.position)
        stack.pop()
        done.add(name)

    for job in graph.jobs:
        visit(job.name, [], None)
