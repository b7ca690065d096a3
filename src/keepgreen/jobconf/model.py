"""The parsed job configuration: one frozen dataclass per Zuul configuration object.

A ``Job`` is one *definition* (Zuul calls several definitions of one name *variants*).
Attributes a definition leaves out are ``None`` so freezing can tell "not set" from "set to
the default". Plain YAML values (``vars`` and friends, pipeline triggers and reporters) are
deep-frozen: mappings become read-only mappings and lists become tuples; ``thaw`` turns
them back into dicts and lists for Ansible or JSON.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from keepgreen.jobconf.regex import compile_zuul
from keepgreen.jobconf.source import ConfigError, Position

EMPTY: Mapping[str, object] = MappingProxyType({})


def _empty() -> Mapping[str, Any]:
    return EMPTY


def freeze_value(value: object) -> object:
    """A deep, read-only copy of a plain YAML value."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze_value(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze_value(v) for v in value)
    return value


def freeze_mapping(value: Mapping[str, object]) -> Mapping[str, object]:
    return MappingProxyType({k: freeze_value(v) for k, v in value.items()})


def thaw(value: object) -> object:
    """Plain dicts and lists again, e.g. for ``json.dumps`` or an Ansible inventory."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class SourceContext:
    """Where a configuration object was defined, and whether that project is trusted."""

    project: str
    branch: str
    path: str
    line: int
    column: int = 1
    trusted: bool = False

    @property
    def position(self) -> Position:
        return Position(self.path, self.line, self.column)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column} in {self.project} ({self.branch})"


@dataclass(frozen=True)
class Matcher:
    """A Zuul regular expression: it matches from the start of the text (implicit ``^``).

    ``exact`` matchers compare whole names; Zuul uses them for implied branch matchers.
    Patterns are read with RE2's syntax, as in Zuul (see ``regex``).
    """

    pattern: str
    negate: bool = False
    exact: bool = False

    def matches(self, text: str) -> bool:
        found = (text == self.pattern if self.exact
                 else compile_zuul(self.pattern).match(text) is not None)
        return found != self.negate

    def __str__(self) -> str:
        return ("not " if self.negate else "") + self.pattern


def any_matches(matchers: tuple[Matcher, ...], text: str) -> bool:
    return any(m.matches(text) for m in matchers)


@dataclass(frozen=True)
class Dependency:
    """A job this job waits for; a *soft* one is ignored when that job does not run."""

    name: str
    soft: bool = False
    position: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RequiredProject:
    name: str
    override_checkout: str | None = None


def project_name_candidates(name: str) -> tuple[str, ...]:
    """The projects a job's reference ``name`` may mean, in order: the name as written, then,
    when its first part looks like a host name (``opendev.org/openstack/nova``, the canonical
    form Zuul configurations often use), the name without it."""
    host, _, rest = name.partition("/")
    if rest and ("." in host or host == "localhost"):
        return (name, rest)
    return (name,)


@dataclass(frozen=True)
class RoleRepo:
    """A repository a job takes Ansible roles from (``roles: [{zuul: org/repo}]``).

    ``name`` is the role's name when the repository is itself one role; ``implicit`` marks
    the job's own project, which Zuul always offers and which is used only when it holds
    roles."""

    project: str
    name: str
    implicit: bool = False


def implicit_role_name(project: str) -> str:
    """The role name Zuul gives a project offered as an implicit role: its short name
    without an ``ansible-`` / ``role-`` prefix or ``-ansible`` / ``-role`` suffix."""
    name = project.rsplit("/", 1)[-1]
    for pattern in (r"^ansible[-_.+]*", r"[-_.+]*ansible$", r"^role[-_.+]*", r"[-_.+]*role$"):
        name = re.sub(pattern, "", name)
    return name or project.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class SecretUse:
    """A job's use of a secret: ``secret`` is exposed to playbooks as variable ``name``."""

    name: str
    secret: str
    pass_to_parent: bool = False
    position: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Node:
    name: str
    label: str


@dataclass(frozen=True)
class Group:
    name: str
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Nodeset:
    """Named (``name`` set) or anonymous (inline in a job) set of nodes.

    ``alternatives`` hold nodeset names or inline nodesets, tried in order.
    """

    name: str | None = None
    nodes: tuple[Node, ...] = ()
    groups: tuple[Group, ...] = ()
    alternatives: tuple[str | Nodeset, ...] = ()
    source: SourceContext | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Job:
    """One definition (variant) of a job, exactly as written; unset attributes are ``None``.

    ``base`` is true for ``parent: null``. ``override`` and ``inherit`` name the attributes
    tagged ``!override``/``!inherit``. ``positions`` point at each attribute's value.
    """

    name: str
    source: SourceContext
    parent: str | None = None
    base: bool = False
    description: str | None = None
    abstract: bool | None = None
    final: bool | None = None
    protected: bool | None = None
    nodeset: str | Nodeset | None = None
    pre_run: tuple[str, ...] | None = None
    run: tuple[str, ...] | None = None
    post_run: tuple[str, ...] | None = None
    vars: Mapping[str, object] | None = None
    extra_vars: Mapping[str, object] | None = None
    host_vars: Mapping[str, object] | None = None
    group_vars: Mapping[str, object] | None = None
    required_projects: tuple[RequiredProject, ...] | None = None
    roles: tuple[RoleRepo, ...] | None = None
    timeout: int | None = None
    pre_timeout: int | None = None
    post_timeout: int | None = None
    attempts: int | None = None
    voting: bool | None = None
    files: tuple[Matcher, ...] | None = None
    irrelevant_files: tuple[Matcher, ...] | None = None
    branches: tuple[Matcher, ...] | None = None
    dependencies: tuple[Dependency, ...] | None = None
    semaphores: tuple[str, ...] | None = None
    secrets: tuple[SecretUse, ...] | None = None
    tags: tuple[str, ...] | None = None
    allowed_projects: tuple[str, ...] | None = None
    override_checkout: str | None = None
    provides: tuple[str, ...] | None = None
    requires: tuple[str, ...] | None = None
    post_review: bool | None = None
    match_on_config_updates: bool | None = None
    override: frozenset[str] = frozenset()
    inherit: frozenset[str] = frozenset()
    positions: Mapping[str, Position] = field(default_factory=_empty, compare=False, repr=False)

    def where(self, attribute: str) -> Position:
        """The position of ``attribute``'s value, or of the definition itself."""
        return self.positions.get(attribute, self.source.position)

    def matches_branch(self, branch: str) -> bool:
        return self.branches is None or any_matches(self.branches, branch)


@dataclass(frozen=True)
class ProjectPipeline:
    """A project's (or template's) jobs for one pipeline, each a project-pipeline variant."""

    name: str
    jobs: tuple[Job, ...] = ()
    debug: bool = False
    fail_fast: bool | None = None
    position: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ProjectTemplate:
    name: str
    source: SourceContext
    description: str | None = None
    queue: str | None = None
    vars: Mapping[str, object] | None = None
    pipelines: Mapping[str, ProjectPipeline] = field(default_factory=_empty)
    branches: tuple[Matcher, ...] | None = None
    positions: Mapping[str, Position] = field(default_factory=_empty, compare=False, repr=False)

    def matches_branch(self, branch: str) -> bool:
        return self.branches is None or any_matches(self.branches, branch)


@dataclass(frozen=True)
class ProjectConfig:
    """One ``project`` stanza. ``name`` starting with ``^`` is a regular expression."""

    name: str
    source: SourceContext
    description: str | None = None
    templates: tuple[str, ...] = ()
    queue: str | None = None
    merge_mode: str | None = None
    default_branch: str | None = None
    vars: Mapping[str, object] | None = None
    pipelines: Mapping[str, ProjectPipeline] = field(default_factory=_empty)
    branches: tuple[Matcher, ...] | None = None
    positions: Mapping[str, Position] = field(default_factory=_empty, compare=False, repr=False)

    def matches_project(self, project: str) -> bool:
        if self.name.startswith("^"):
            return compile_zuul(self.name).fullmatch(project) is not None
        return self.name == project

    def matches(self, project: str, branch: str) -> bool:
        return self.matches_project(project) and (
            self.branches is None or any_matches(self.branches, branch))


@dataclass(frozen=True)
class Semaphore:
    name: str
    max: int = 1
    source: SourceContext | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Queue:
    name: str
    per_branch: bool = False
    allow_circular_dependencies: bool = False
    dependencies_by_topic: bool = False
    source: SourceContext | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Encrypted:
    """An ``!encrypted/pkcs1-oaep`` value: base64 ciphertext chunks, never decrypted here."""

    chunks: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Encrypted(<{len(self.chunks)} chunk(s)>)"


@dataclass(frozen=True)
class Secret:
    """A named secret; ``data`` values are plain values or ``Encrypted`` blobs."""

    name: str
    data: Mapping[str, object] = field(default_factory=_empty)
    source: SourceContext | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Window:
    """The dependent manager's window (TCP-like flow control over items under test)."""

    size: int = 20
    floor: int = 3
    ceiling: int | None = None
    increase_type: str = "linear"
    increase_factor: int = 1
    decrease_type: str = "exponential"
    decrease_factor: int = 2


@dataclass(frozen=True)
class Pipeline:
    """A pipeline, parsed into plain values; triggers and reporters keep their YAML shape.

    ``reporters`` maps an outcome (``success``, ``failure``, ``merge-conflict``...) to the
    connections and what to report on each; ``messages`` maps ``success-message`` etc.
    """

    name: str
    manager: str
    trigger: Mapping[str, object] = field(default_factory=_empty)
    require: Mapping[str, object] = field(default_factory=_empty)
    reject: Mapping[str, object] = field(default_factory=_empty)
    precedence: str = "normal"
    post_review: bool = False
    description: str | None = None
    reporters: Mapping[str, object] = field(default_factory=_empty)
    messages: Mapping[str, str] = field(default_factory=_empty)
    window: Window = Window()
    supercedes: tuple[str, ...] = ()
    dequeue_on_new_patchset: bool = True
    ignore_dependencies: bool = False
    allow_other_connections: bool = True
    source: SourceContext | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Layout:
    """Everything one tenant's configuration defines, in the order it was read.

    ``jobs`` holds every variant of a name in definition order; ``project_templates``
    likewise (a template may be defined on several branches of one project). ``errors``
    lists every problem found: objects that could not be parsed (or that clash with an
    earlier definition) are left out; objects with a broken reference stay in, and freezing
    explains or refuses what cannot run.
    """

    pipelines: Mapping[str, Pipeline] = field(default_factory=_empty)
    jobs: Mapping[str, tuple[Job, ...]] = field(default_factory=_empty)
    project_configs: tuple[ProjectConfig, ...] = ()
    project_templates: Mapping[str, tuple[ProjectTemplate, ...]] = field(default_factory=_empty)
    nodesets: Mapping[str, Nodeset] = field(default_factory=_empty)
    semaphores: Mapping[str, Semaphore] = field(default_factory=_empty)
    queues: Mapping[str, Queue] = field(default_factory=_empty)
    secrets: Mapping[str, Secret] = field(default_factory=_empty)
    default_parent: str = "base"
    errors: tuple[ConfigError, ...] = ()

    def project_stanzas(self, project: str, branch: str) -> tuple[ProjectConfig, ...]:
        """Every ``project`` stanza that applies to ``project`` on ``branch``, in order."""
        return tuple(p for p in self.project_configs if p.matches(project, branch))

    def merge_mode(self, project: str) -> str | None:
        """The project's merge mode: the first one set, on any branch (as in Zuul)."""
        for stanza in self.project_configs:
            if stanza.merge_mode is not None and stanza.matches_project(project):
                return stanza.merge_mode
        return None
