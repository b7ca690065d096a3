"""The site's layout: pipelines, trusted base jobs and project stanzas from ``config``.

Everything the scheduler knows about pipelines comes from the merged tip of the site's
``config`` project (trusted, as Zuul's config project), read with Zuul's rules by
``keepgreen.jobconf``. ``load_site_layout`` reads and validates a state of ``config`` whole
(job-config errors with file and line, pipeline triggers, requirements and reporters) and
returns a ``SiteLayout`` or raises ``LayoutProblems``; the scheduler swaps a new layout in
only when it loaded cleanly, so a bad state keeps the previous one running.

``ConfigSource`` reads configuration files from git, and freezes an item's jobs from the
site layout plus the item's own project state (speculative config). Zuul's ``noop`` job is
built into every layout by ``keepgreen.jobconf``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from keepgreen import gating
from keepgreen.domain.project import SITE_CONFIG
from keepgreen.gating.pipeline import Reporter, ReporterError, parse_reporter, reporters_from
from keepgreen.gating.triggers import PipelineRules, RuleError, parse_rules
from keepgreen.gating.window import (
    WindowPolicy,
    exponential_decrease,
    exponential_increase,
    linear_decrease,
    linear_increase,
)
from keepgreen.git.repos import GitError, Repos
from keepgreen.jobconf import (
    ConfigError,
    JobGraph,
    Layout,
    ProjectFiles,
    build_layout,
    config_paths,
    freeze_job_graph,
)
from keepgreen.jobconf.model import Pipeline
from keepgreen.jobconf.regex import compile_zuul
from keepgreen.jobconf.source import Located
from keepgreen.jobconf.yaml_loader import load

log = logging.getLogger(__name__)

CONFIG_PROJECT = SITE_CONFIG

Files = dict[str, Located | ConfigError | None]


class LayoutProblems(Exception):
    """A state of ``config`` that cannot run the site; ``problems`` are ``path:line: ...``
    sentences, the first few joined in the message."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class PipelineDef:
    """One pipeline of the layout: the gate core's settings, what enqueues into it, and
    which outcomes report at all (``reporting``); the others are only logged."""

    name: str
    manager: str
    description: str | None
    config: gating.PipelineConfig
    rules: PipelineRules
    reporting: frozenset[str]
    submits: bool
    enqueue: Reporter | None = None
    """The ``enqueue`` reporter (the gate core does not report enqueues itself)."""


@dataclass(frozen=True)
class SiteLayout:
    """A loaded state of ``config``: its commit, files and pipelines in definition order."""

    sha: str | None
    files: Mapping[str, Located | ConfigError | None]
    pipelines: tuple[PipelineDef, ...] = ()
    layout: Layout | None = field(default=None, compare=False)

    def pipeline(self, name: str) -> PipelineDef | None:
        return next((p for p in self.pipelines if p.name == name), None)


def pipeline_def(pipeline: Pipeline) -> PipelineDef:
    """The gate core's view of a parsed pipeline. Raises RuleError or ReporterError (or
    ValueError for window settings) with a plain sentence."""
    rules = parse_rules(pipeline.trigger, pipeline.require, pipeline.reject, compile_zuul)
    sections = {k: v for k, v in pipeline.reporters.items() if isinstance(v, Mapping)}
    reporters, reporting = reporters_from(sections)
    window = pipeline.window
    increase = (linear_increase(window.increase_factor) if window.increase_type == "linear"
                else exponential_increase(window.increase_factor))
    decrease = (linear_decrease(window.decrease_factor) if window.decrease_type == "linear"
                else exponential_decrease(window.decrease_factor))
    policy = WindowPolicy(window.size, window.floor, window.ceiling, increase, decrease)
    config = gating.PipelineConfig(pipeline.name, pipeline.manager, window=policy,
                                   reporters=reporters)
    gating.initial_state([config])  # the core's own checks (manager)
    enqueue = sections.get("enqueue")
    return PipelineDef(pipeline.name, pipeline.manager, pipeline.description, config, rules,
                       reporting, reporters.success.submit,
                       parse_reporter(enqueue, "enqueue") if enqueue is not None else None)


def check_site_layout(files: Files, sha: str | None) -> SiteLayout:
    """Validate a state of ``config`` given its configuration files; raises
    LayoutProblems naming file and line for every problem found."""
    layout = build_layout([ProjectFiles(CONFIG_PROJECT, "main", files, trusted=True)])
    problems = [str(e) for e in layout.errors]
    pipelines: list[PipelineDef] = []
    for pipeline in layout.pipelines.values():
        try:
            pipelines.append(pipeline_def(pipeline))
        except (RuleError, ReporterError, ValueError) as exc:
            where = pipeline.source
            place = f"{where.path}:{where.line}" if where is not None else "zuul.d"
            problems.append(f'{place}: pipeline "{pipeline.name}": {exc}')
    if not pipelines and not problems:
        problems.append("zuul.d: the config project defines no pipeline, so nothing would be "
                        "tested; keep at least one")
    if problems:
        raise LayoutProblems(problems)
    return SiteLayout(sha, MappingProxyType(dict(files)), tuple(pipelines), layout)


class ConfigSource:
    """Reads job configuration from the repositories and freezes job graphs."""

    def __init__(self, repos: Repos) -> None:
        self.repos = repos

    def tree(self, project: str, sha: str) -> list[str]:
        try:
            return self.repos.run(project, "ls-tree", "-r", "--name-only", "-z",
                                  sha).split("\0")
        except GitError as exc:
            log.warning("cannot list %s at %s: %s", project, sha, exc)
            return []

    def files(self, project: str, sha: str) -> Files:
        """The configuration files of ``project`` at ``sha`` (a YAML error stays in place
        of its file, to be reported with its line)."""
        found: Files = {}
        for path in config_paths(self.tree(project, sha)):
            try:
                found[path] = load(path, self.repos.run(project, "show", f"{sha}:{path}"))
            except ConfigError as exc:
                found[path] = exc
        return found

    def config_tip(self) -> str | None:
        """The merged tip of ``config``'s default branch (None before ``init`` made it)."""
        if not self.repos.exists(CONFIG_PROJECT):
            return None
        try:
            head = self.repos.head(CONFIG_PROJECT)
        except GitError:
            return None
        return self.repos.resolve(CONFIG_PROJECT, head)

    def load_site(self, sha: str) -> SiteLayout:
        """The site layout at ``config``'s commit ``sha``; raises LayoutProblems."""
        return check_site_layout(self.files(CONFIG_PROJECT, sha), sha)

    def item_layout(self, site: SiteLayout, project: str, branch: str, sha: str) -> Layout:
        """The layout an item of ``project`` at ``sha`` is tested with: for ``config``
        itself, its own (speculative, trusted) state; otherwise the site's trusted config
        and the project's own files at ``sha``."""
        if project == CONFIG_PROJECT:
            return build_layout([ProjectFiles(CONFIG_PROJECT, branch, self.files(project, sha),
                                              trusted=True)])
        return build_layout([ProjectFiles(CONFIG_PROJECT, "main", site.files, trusted=True),
                             ProjectFiles(project, branch, self.files(project, sha))])

    def freeze(self, site: SiteLayout, project: str, branch: str, sha: str,
               pipeline: str) -> JobGraph:
        """The item's job graph; raises ConfigError (the first problems, with file and
        line) when the configuration it is tested with is broken."""
        layout = self.item_layout(site, project, branch, sha)
        if layout.errors:
            first = layout.errors[0]
            raise ConfigError(first.path, first.line, first.column,
                              "; ".join(e.message for e in layout.errors[:3]))
        if pipeline not in layout.pipelines:
            return JobGraph(project, branch, pipeline)
        return freeze_job_graph(layout, project=project, branch=branch, pipeline=pipeline)

    def check_secrets(self, site: SiteLayout, project: str, branch: str,
                      jobs: JobGraph) -> list[str]:
        """``unmerged_secrets`` of an item's jobs against ``project``'s merged ``branch``."""
        if not any(j.secrets for j in jobs.jobs):
            return []
        try:
            tip = self.repos.resolve(project, f"refs/heads/{branch}")
        except GitError:
            tip = None
        merged = (self.item_layout(site, project, branch, tip) if tip is not None
                  else build_layout([ProjectFiles(CONFIG_PROJECT, "main", site.files,
                                                  trusted=True)]))
        return unmerged_secrets(jobs, merged)


def unmerged_secrets(jobs: JobGraph, merged: Layout) -> list[str]:
    """Sentences for each job of ``jobs`` that would open a secret of an untrusted project
    which its branch does not hold as is (the change under test, or one ahead of it, adds
    or alters it). Such a secret is used only once it has merged: a change cannot set a
    secret and read it back in the same review."""
    problems = []
    for job in jobs.jobs:
        for name, secret in job.secrets.items():
            if secret.source is None or secret.source.trusted:
                continue
            if merged.secrets.get(name) != secret:
                problems.append(
                    f'job "{job.name}" uses secret "{name}", which this change (or one ahead '
                    f"of it) adds or alters in {secret.source.project}; jobs can use a secret "
                    "only once the change that sets it has merged")
    return problems


def runs_in(layout: Layout, project: str, branch: str, pipeline: str) -> bool:
    """Whether ``project`` on ``branch`` lists jobs for ``pipeline`` (directly or through a
    template) in ``layout``."""
    for stanza in layout.project_stanzas(project, branch):
        if pipeline in stanza.pipelines:
            return True
        for name in stanza.templates:
            if any(pipeline in t.pipelines for t in layout.project_templates.get(name, ())):
                return True
    return False


def queue_of(layout: Layout, project: str, branch: str) -> str | None:
    """The shared queue ``project`` declares on ``branch`` (its project stanza's or a
    template's ``queue``); None when it gates alone."""
    for stanza in layout.project_stanzas(project, branch):
        if stanza.queue:
            return stanza.queue
        for name in stanza.templates:
            for template in layout.project_templates.get(name, ()):
                if template.queue:
                    return template.queue
    return None


def moves_config(type_: str, payload: dict[str, object]) -> bool:
    """Whether the event of ``type_`` moved the ``config`` project's tip."""
    if type_ == "ref-updated":
        update = payload.get("refUpdate")
        return isinstance(update, dict) and update.get("project") == CONFIG_PROJECT
    if type_ == "change-merged":
        change = payload.get("change")
        return isinstance(change, dict) and change.get("project") == CONFIG_PROJECT
    return False
