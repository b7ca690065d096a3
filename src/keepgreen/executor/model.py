"""The executor's vocabulary: what a build is asked to do and what it came to.

Standard library only (STYLE.md, habit 1): the scheduler builds a ``BuildRequest`` from a
frozen job and a queue item, the executor returns a ``BuildResult``, and both can be made
in tests without a node, a sandbox or Ansible.

Names follow Zuul's: a *build* is one run of a job for one item; *attempts* are the tries
of a build (pre-run failures and unreachable nodes are retried); the playbook lists are
already in running order, parent before child for ``pre_run`` and child before parent for
``post_run``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


class Result(enum.Enum):
    """How a build ended, with Zuul's result names."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    POST_FAILURE = "POST_FAILURE"
    TIMED_OUT = "TIMED_OUT"
    RETRY_LIMIT = "RETRY_LIMIT"
    NODE_FAILURE = "NODE_FAILURE"
    ABORTED = "ABORTED"
    ERROR = "ERROR"

    @property
    def passed(self) -> bool:
        return self is Result.SUCCESS


@dataclass(frozen=True)
class SecretBinding:
    """A secret a playbook receives as variable ``name``: ``data`` as written in the config
    of ``project`` (its ``Encrypted`` values still ciphertext)."""

    name: str
    secret: str
    project: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Playbook:
    """One playbook of a job: ``path`` relative to the ``source`` folder of its project.

    ``nesting_level`` is the depth in the job's inheritance chain (0 for the base job) of
    the job that declared it: post-run playbooks run only for levels whose pre-run
    playbooks were started, as in Zuul.
    """

    source: Path
    path: str
    nesting_level: int = 0
    secrets: tuple[SecretBinding, ...] = ()

    @property
    def label(self) -> str:
        return self.path


@dataclass(frozen=True)
class NodeSpec:
    """A node of a node set: the name playbooks use as its host, and its label."""

    name: str
    label: str


@dataclass(frozen=True)
class GroupSpec:
    """An inventory group of a node set."""

    name: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class RoleSource:
    """A repository the job's playbooks take Ansible roles from, checked out in ``source``.

    As in Zuul, a repository with a top-level ``roles/`` folder offers the roles in it;
    otherwise the repository is itself one role, called ``name``. ``implicit`` marks the
    job's own project, which is used only when it holds roles."""

    project: str
    source: Path
    name: str
    implicit: bool = False


@dataclass(frozen=True)
class JobSpec:
    """A frozen job, ready to run.

    ``timeout`` covers pre-run and run together; each pre-run playbook is also held to
    ``pre_timeout`` when it is set, and each post-run playbook gets the whole
    ``post_timeout``. ``None`` means no limit. ``override_checkout`` is the job's
    ``override-checkout`` (``zuul.override_checkout``). ``vars`` are the job's variables, set for
    all hosts; ``host_vars`` and ``group_vars`` are keyed by node and group name.
    """

    name: str
    run: tuple[Playbook, ...]
    pre_run: tuple[Playbook, ...] = ()
    post_run: tuple[Playbook, ...] = ()
    nodes: tuple[NodeSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    vars: Mapping[str, Any] = field(default_factory=dict)
    host_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    group_vars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout: float | None = 1800.0
    pre_timeout: float | None = None
    post_timeout: float | None = 1800.0
    attempts: int = 3
    voting: bool = True
    tags: tuple[str, ...] = ()
    roles: tuple[RoleSource, ...] = ()
    override_checkout: str | None = None
    dry_run: bool = False
    """Run every playbook in check mode with diffs (``keepgreen.executor.dry_run``)."""
    mask_secrets: bool = False
    """Give playbooks the mask instead of each secret value (a dry run on review)."""


@dataclass(frozen=True)
class Project:
    """A repository prepared for a build.

    ``source`` is the folder the executor copies to ``work/src/<canonical_name>``: the
    repository state the build tests (branch heads plus speculative merges). ``checkout``
    is the branch or tag checked out there; ``required`` marks a job's required project.
    """

    name: str
    canonical_hostname: str = "localhost"
    source: Path | None = None
    checkout: str = "main"
    commit: str | None = None
    required: bool = False

    @property
    def short_name(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def canonical_name(self) -> str:
        return f"{self.canonical_hostname}/{self.name}"

    @property
    def src_dir(self) -> str:
        """Where the project is, relative to the work folder (and to the node's home)."""
        return f"src/{self.canonical_name}"


@dataclass(frozen=True)
class Item:
    """A queue item: a change (``change`` and ``patchset`` set) or a ref (branch, tag)."""

    project: Project
    branch: str = "main"
    ref: str = "refs/heads/main"
    change: str | None = None
    patchset: str | None = None
    change_url: str | None = None
    message: str | None = None
    topic: str | None = None
    oldrev: str | None = None
    newrev: str | None = None


@dataclass(frozen=True)
class SourceOrigin:
    """Where the tree in one of a request's folders comes from: ``commit`` of ``project``,
    kept fetchable by the server under the hidden ``ref`` while the build set lives. An
    executor on another machine fetches it over git HTTP instead of reading the folder."""

    project: str
    commit: str
    ref: str


@dataclass(frozen=True)
class BuildRequest:
    """Run ``job`` for ``item``, with ``items_ahead`` in the speculative state.

    ``required_projects`` are prepared besides the projects of the items. ``attempt``
    counts from 1; the executor raises it itself when it retries. ``origins`` names, for
    each folder of the request (sources, playbooks, roles), the commit it holds.
    """

    uuid: str
    job: JobSpec
    item: Item
    items_ahead: tuple[Item, ...] = ()
    required_projects: tuple[Project, ...] = ()
    pipeline: str = "check"
    tenant: str = "main"
    buildset: str = ""
    event_id: str | None = None
    attempt: int = 1
    origins: Mapping[str, SourceOrigin] = field(default_factory=dict)

    @property
    def items(self) -> tuple[Item, ...]:
        """Every item in the speculative state, the one under test last (``zuul.items``)."""
        return (*self.items_ahead, self.item)

    @property
    def folders(self) -> tuple[Path, ...]:
        """Every folder the build copies from, each once: the projects' sources, the
        playbooks' folders and the role repositories."""
        job = self.job
        found: dict[Path, None] = {}
        for folder in (*(p.source for p in (*(i.project for i in self.items),
                                            *self.required_projects)),
                       *(p.source for p in (*job.pre_run, *job.run, *job.post_run)),
                       *(r.source for r in job.roles)):
            if folder is not None:
                found.setdefault(folder)
        return tuple(found)

    def moved(self, places: Mapping[Path, Path]) -> BuildRequest:
        """The request with each folder named in ``places`` replaced by its new place."""
        def project(p: Project) -> Project:
            return replace(p, source=places.get(p.source, p.source)) if p.source else p

        def item(i: Item) -> Item:
            return replace(i, project=project(i.project))

        def playbooks(found: tuple[Playbook, ...]) -> tuple[Playbook, ...]:
            return tuple(replace(p, source=places.get(p.source, p.source)) for p in found)

        job = replace(self.job, pre_run=playbooks(self.job.pre_run),
                      run=playbooks(self.job.run), post_run=playbooks(self.job.post_run),
                      roles=tuple(replace(r, source=places.get(r.source, r.source))
                                  for r in self.job.roles))
        return replace(self, job=job, item=item(self.item),
                       items_ahead=tuple(item(i) for i in self.items_ahead),
                       required_projects=tuple(project(p) for p in self.required_projects))

    @property
    def projects(self) -> tuple[Project, ...]:
        """Every project prepared for the build, each once, by canonical name."""
        seen: dict[str, Project] = {}
        for project in (*(i.project for i in self.items), *self.required_projects):
            known = seen.get(project.canonical_name)
            if known is None:
                seen[project.canonical_name] = project
            elif project.required and not known.required:
                seen[project.canonical_name] = replace(known, required=True)
        return tuple(seen.values())


@dataclass(frozen=True)
class AttemptRecord:
    """One try of a build: its number, what it came to and why."""

    number: int
    result: Result | None  # None: the attempt asked for a retry
    reason: str
    log_dir: Path | None = None


@dataclass(frozen=True)
class BuildResult:
    """How a build ended. ``reason`` is one line, fit for a change comment.

    ``log_dir`` is the last attempt's ``work/logs`` (``zuul.executor.log_root``);
    ``zuul_return`` is the data the job returned with the ``zuul_return`` module.
    """

    uuid: str
    job: str
    result: Result
    reason: str
    started: float
    ended: float
    log_dir: Path | None = None
    zuul_return: Mapping[str, Any] = field(default_factory=dict)
    attempts: tuple[AttemptRecord, ...] = ()
    voting: bool = True
    dry_run: str | None = None
    """A dry run's changes per host and task (``dry_run.summary``); None for other builds."""
    stages: tuple[tuple[str, float], ...] = ()
    """Where the last attempt's time went, in order: waiting for nodes, setting up the
    build folder, then each step and playbook by phase (``pre-run playbooks/x.yaml``)."""

    @property
    def duration(self) -> float:
        return self.ended - self.started

    def summary(self) -> str:
        return f"{self.job}: {self.result.value} in {self.duration:.1f} s ({self.reason})"
