"""What freezing produces: the jobs to run for one item, with everything resolved.

A ``FrozenJob`` has every attribute decided (defaults filled in, inheritance and variants
applied, nodeset resolved, playbooks tagged with the project they come from). A
``JobGraph`` holds the frozen jobs of one item in one pipeline, the dependencies between
them, and, for every job listed but left out, the reason why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from keepgreen.jobconf.model import (
    EMPTY,
    Dependency,
    Matcher,
    Nodeset,
    RequiredProject,
    RoleRepo,
    Secret,
    SecretUse,
    SourceContext,
)


def _empty() -> Mapping[str, Any]:
    return EMPTY


@dataclass(frozen=True)
class Playbook:
    """A playbook path in the repository of ``project`` on ``branch``.

    ``trusted`` playbooks come from the config project and run in the trusted context.
    ``secrets`` are the secrets bound to this playbook (those of the definition that added it,
    plus any a child passed to its parents).
    """

    path: str
    project: str
    branch: str
    trusted: bool = False
    secrets: tuple[SecretUse, ...] = ()


@dataclass(frozen=True)
class FrozenJob:
    """A job ready to run. ``inheritance`` lists every definition applied, in order.

    Variables, by increasing precedence: ``project_vars``, ``vars``, then secrets and
    ``extra_vars`` (as in Zuul).
    """

    name: str
    source: SourceContext
    parent: str | None = None
    inheritance: tuple[str, ...] = ()
    description: str | None = None
    nodeset: Nodeset = Nodeset()
    pre_run: tuple[Playbook, ...] = ()
    run: tuple[Playbook, ...] = ()
    post_run: tuple[Playbook, ...] = ()
    vars: Mapping[str, object] = field(default_factory=_empty)
    extra_vars: Mapping[str, object] = field(default_factory=_empty)
    host_vars: Mapping[str, object] = field(default_factory=_empty)
    group_vars: Mapping[str, object] = field(default_factory=_empty)
    project_vars: Mapping[str, object] = field(default_factory=_empty)
    required_projects: tuple[RequiredProject, ...] = ()
    timeout: int | None = None
    pre_timeout: int | None = None
    post_timeout: int | None = None
    attempts: int = 3
    voting: bool = True
    files: tuple[Matcher, ...] = ()
    irrelevant_files: tuple[Matcher, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    semaphores: tuple[str, ...] = ()
    roles: tuple[RoleRepo, ...] = ()
    secrets: Mapping[str, Secret] = field(default_factory=_empty)
    tags: tuple[str, ...] = ()
    allowed_projects: tuple[str, ...] | None = None
    override_checkout: str | None = None
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    abstract: bool = False
    final: bool = False
    protected: bool = False
    post_review: bool = False
    match_on_config_updates: bool = True
    dry_run: bool = False  # a deploy job's check-mode run (services.gating.dry_runs)
    mask_secrets: bool = False  # a dry run on review: secrets reach playbooks as the mask

    @property
    def playbooks(self) -> tuple[Playbook, ...]:
        """Every playbook in the order they run."""
        return self.pre_run + self.run + self.post_run


@dataclass(frozen=True)
class JobGraph:
    """The jobs one item runs in one pipeline; ``reasons`` explains each job left out."""

    project: str
    branch: str
    pipeline: str
    jobs: tuple[FrozenJob, ...] = ()
    reasons: Mapping[str, str] = field(default_factory=_empty)
    queue: str | None = None
    fail_fast: bool = False
    debug: bool = False
    semaphore_max: Mapping[str, int] = field(default_factory=_empty)
    warnings: tuple[str, ...] = ()
    """Secrets that look exposed (``keepgreen.jobconf.exposure``), for the item's report."""

    def semaphore_limit(self, name: str) -> int:
        """How many builds may hold semaphore ``name`` at once; one, as for Zuul, when the
        layout does not define it."""
        return self.semaphore_max.get(name, 1)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(job.name for job in self.jobs)

    def job(self, name: str) -> FrozenJob:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(name)

    def dependents(self, name: str) -> tuple[str, ...]:
        """The jobs that wait for ``name`` (directly)."""
        return tuple(job.name for job in self.jobs
                     if any(dep.name == name for dep in job.dependencies))

    def ordered(self) -> tuple[FrozenJob, ...]:
        """The jobs with each one after everything it depends on, otherwise as listed."""
        done: list[FrozenJob] = []
        placed: set[str] = set()
        remaining = list(self.jobs)
        while remaining:
            for job in remaining:
                if all(dep.name in placed for dep in job.dependencies):
                    done.append(job)
                    placed.add(job.name)
                    remaining.remove(job)
                    break
            else:  # pragma: no cover - freezing refuses cycles
                raise ValueError("the job graph has a dependency cycle")
        return tuple(done)
