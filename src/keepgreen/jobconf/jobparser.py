"""Schema-checked parsers for ``job`` (and project-pipeline job variants) and ``nodeset``.

``parse_job`` reads one mapping into a ``Job`` that keeps only what was written, the tags
``!override``/``!inherit`` per attribute, and the position of every value. Everything a
definition may not say in its context (a base job outside the config project, a ``parent``
in a project pipeline) is refused here, with the position of the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from keepgreen.jobconf import schema
from keepgreen.jobconf.model import (
    Dependency,
    Group,
    Job,
    Matcher,
    Node,
    Nodeset,
    RequiredProject,
    RoleRepo,
    SecretUse,
    SourceContext,
)
from keepgreen.jobconf.source import (
    INHERIT_TAG,
    OVERRIDE_TAG,
    ConfigError,
    Located,
    MappingNode,
    Position,
    ScalarNode,
)


@dataclass(frozen=True)
class FileContext:
    """What a parser needs to know about the file it reads.

    ``implied_branches`` are the branch matchers given to jobs and templates that name no
    ``branches`` (Zuul's implied branch matchers); ``None`` when none apply.
    """

    project: str
    branch: str
    path: str
    trusted: bool
    implied_branches: tuple[Matcher, ...] | None = None

    def source(self, where: Position) -> SourceContext:
        return SourceContext(self.project, self.branch, self.path, where.line, where.column,
                             self.trusted)


JOB_ATTRIBUTES = frozenset({
    "name", "parent", "description", "abstract", "final", "protected", "nodeset",
    "pre-run", "run", "post-run", "vars", "extra-vars", "host-vars", "group-vars",
    "required-projects", "timeout", "attempts", "voting", "files", "irrelevant-files",
    "branches", "dependencies", "semaphore", "semaphores", "secrets", "tags", "post-review",
    "match-on-config-updates", "allowed-projects", "override-checkout", "override-branch",
    "provides", "requires", "pre-timeout", "post-timeout", "roles",
})
# Zuul job attributes keepgreen knows but does not implement yet: refused by name.
UNSUPPORTED_JOB_ATTRIBUTES = frozenset({
    "intermediate", "attribute-control", "success-message", "failure-message",
    "success-url", "failure-url", "hold-following-changes", "cleanup-run",
    "include-vars", "failure-output", "deduplicate",
    "workspace-scheme", "workspace-checkout", "ansible-version", "ansible-split-streams",
    "image-build-name", "type",
})
# Attributes whose merging the !override / !inherit tags control (Zuul's "override control").
OVERRIDABLE = frozenset({
    "vars", "extra-vars", "host-vars", "group-vars", "required-projects", "tags",
    "dependencies", "files", "irrelevant-files",
})
_NOT_IN_PROJECT_PIPELINE = frozenset({"name", "parent"})
# Old names Zuul still reads, and the attribute each one sets.
_ALIASES = {"semaphore": "semaphores", "override-branch": "override-checkout"}


def parse_job(node: Located, ctx: FileContext, *, variant_of: str | None = None) -> Job:
    """A ``job`` definition, or (with ``variant_of``) a job variant in a project pipeline."""
    if variant_of is None:
        body = schema.mapping(node, "a job")
        name = schema.name_of(body, "job")
        what = f'job "{name}"'
        allowed = JOB_ATTRIBUTES
    else:
        name = variant_of
        what = f'job "{name}" in this project pipeline'
        if isinstance(node, ScalarNode) and node.value is None:
            node = MappingNode((), node.path, node.line, node.column)
        body = schema.mapping(node, what)
        allowed = JOB_ATTRIBUTES - _NOT_IN_PROJECT_PIPELINE
        for key in sorted(_NOT_IN_PROJECT_PIPELINE):
            if (key_node := body.key_node(key)) is not None:
                raise ConfigError.at(key_node, f'{what} may not set "{key}"; set it where the '
                                               "job is defined")
    schema.check_keys(body, what, allowed, UNSUPPORTED_JOB_ATTRIBUTES)
    if "override-checkout" in body and "override-branch" in body:
        raise ConfigError.at(body.key_node("override-branch") or body,
                             f'{what} has both "override-checkout" and its old name '
                             '"override-branch"; keep only "override-checkout"')
    if "semaphore" in body and "semaphores" in body:
        raise ConfigError.at(body.key_node("semaphore") or body,
                             f'{what} has both "semaphore" and "semaphores"; '
                             'keep only "semaphores"')
    fields: dict[str, Any] = {}  # attribute -> what its reader returned (typed per reader)
    positions: dict[str, Position] = {}
    override: set[str] = set()
    inherit: set[str] = set()
    playbook_semaphores: list[str] = []
    for key_node, value in body.entries:
        key = str(key_node.value)
        if key == "name":
            continue
        attr = _ALIASES.get(key, key).replace("-", "_")
        positions[attr] = value.position
        tagged = value.tag is not None
        if tagged:
            if value.tag not in (OVERRIDE_TAG, INHERIT_TAG):
                raise ConfigError.at(value, f'{what}: "{key}" does not take the tag '
                                            f'"{value.tag}"; only secrets hold encrypted values')
            if key not in OVERRIDABLE:
                raise ConfigError.at(value, f'{what}: "{key}" does not take the tag '
                                            f'"{value.tag}"; only '
                                            + ", ".join(sorted(OVERRIDABLE)) + " do")
            (override if value.tag == OVERRIDE_TAG else inherit).add(attr)
        if key == "parent":
            if isinstance(value, ScalarNode) and value.value is None:
                if not ctx.trusted:
                    raise ConfigError.at(value, f'{what} is a base job ("parent: null"); only '
                                                "the config project may define base jobs")
                fields["base"] = True
            else:
                fields["parent"] = schema.text(value, what, key)
            continue
        if key in ("pre-run", "run", "post-run"):
            fields[attr], locks = _playbooks(value, what, key)
            playbook_semaphores.extend(locks)
            continue
        fields[attr] = _read(key, value, what, ctx, tagged)
    if playbook_semaphores:
        # A playbook's own semaphores are held for the whole build: stricter than holding
        # them for that playbook only, never looser.
        known = tuple(fields.get("semaphores") or ())
        fields["semaphores"] = known + tuple(dict.fromkeys(
            s for s in playbook_semaphores if s not in known))
    if "branches" not in fields and variant_of is None and ctx.implied_branches is not None:
        fields["branches"] = ctx.implied_branches
    return Job(name=name, source=ctx.source(body.position), override=frozenset(override),
               inherit=frozenset(inherit), positions=MappingProxyType(positions), **fields)


def _read(key: str, node: Located, what: str, ctx: FileContext, tagged: bool) -> object:
    if key in ("abstract", "final", "protected", "voting", "post-review",
               "match-on-config-updates"):
        return schema.boolean(node, what, key)
    if key in ("description", "override-checkout", "override-branch"):
        return schema.text(node, what, key)
    if key == "nodeset":
        if isinstance(node, MappingNode):
            return parse_nodeset(node, ctx, anonymous=True, what=f"{what}: the inline nodeset")
        return schema.text(node, what, key)
    if key in ("vars", "extra-vars", "host-vars", "group-vars"):
        return schema.plain_mapping(node, what, key, tagged=tagged)
    if key == "required-projects":
        return _required_projects(node, what, key, tagged)
    if key == "roles":
        return _roles(node, what, key)
    if key in ("timeout", "pre-timeout", "post-timeout"):
        return schema.integer(node, what, key, 1, "a positive whole number of seconds")
    if key == "attempts":
        return schema.integer(node, what, key, 1, "a whole number of attempts, at least 1")
    if key in ("files", "irrelevant-files", "branches"):
        return schema.matchers(node, what, key, tagged=tagged)
    if key == "dependencies":
        return _dependencies(node, what, key, tagged)
    if key in ("semaphore", "semaphores"):
        return semaphore_names(node, what, key, tagged)
    if key in ("tags", "allowed-projects", "provides", "requires"):
        return schema.text_list(node, what, key, tagged=tagged)
    assert key == "secrets"
    return _secrets(node, what, key)


def _entry_name(item: MappingNode, what: str, key: str, allowed: tuple[str, ...],
                field: str = "name") -> str:
    label = f'{what}: an entry of "{key}"'
    schema.check_keys(item, label, allowed)
    value = item.get(field)
    if value is None:
        raise ConfigError.at(item, f'{label} needs "{field}"')
    return schema.text(value, what, f"{key}.{field}")


def _optional_bool(item: MappingNode, key: str, what: str, label: str) -> bool:
    value = item.get(key)
    return False if value is None else schema.boolean(value, what, label)


def _roles(node: Located, what: str, key: str) -> tuple[RoleRepo, ...]:
    """``roles``: ``{zuul: org/repo}`` entries, each with an optional role ``name``."""
    roles: list[RoleRepo] = []
    for item in schema.items(node, what, key):
        if not isinstance(item, MappingNode):
            raise schema.wrong(item, what, key, 'a list of "{zuul: org/repo}" entries')
        label = f'{what}: an entry of "{key}"'
        schema.check_keys(item, label, ("zuul", "name"), ("galaxy",))
        project = _entry_name(item, what, key, ("zuul", "name"), field="zuul")
        name_node = item.get("name")
        name = (schema.text(name_node, what, f"{key}.name") if name_node is not None
                else project.rsplit("/", 1)[-1])
        if any(r.project == project for r in roles):
            raise ConfigError.at(item, f'{what}: "{key}" names {project} twice')
        roles.append(RoleRepo(project, name))
    return tuple(roles)


def semaphore_names(node: Located, what: str, key: str, tagged: bool = False
                    ) -> tuple[str, ...]:
    """Semaphore names as Zuul writes them: a name, a list of names, or ``{name: ...}``
    entries (the two list forms may be mixed)."""
    names: list[str] = []
    for item in schema.items(node, what, key, tagged=tagged):
        if isinstance(item, MappingNode):
            names.append(_entry_name(item, what, key, ("name",)))
        else:
            names.extend(schema.text_list(item, what, key))
    return tuple(dict.fromkeys(names))


def _playbooks(node: Located, what: str, key: str) -> tuple[tuple[str, ...], list[str]]:
    """The playbook paths of ``pre-run``/``run``/``post-run`` and the semaphores their
    ``{name: ..., semaphores: ...}`` entries ask for."""
    paths: list[str] = []
    semaphores: list[str] = []
    for item in schema.items(node, what, key):
        if isinstance(item, MappingNode):
            allowed = ("name", "semaphore", "semaphores")
            schema.check_keys(item, f'{what}: a playbook in "{key}"', allowed, ("cleanup",))
            paths.append(_entry_name(item, what, key, allowed))
            for lock in ("semaphore", "semaphores"):
                if (value := item.get(lock)) is not None:
                    semaphores.extend(semaphore_names(value, what, f"{key}.{lock}"))
        else:
            paths.extend(schema.text_list(item, what, key))
    return tuple(paths), semaphores


def _required_projects(node: Located, what: str, key: str,
                       tagged: bool) -> tuple[RequiredProject, ...]:
    result = []
    for item in schema.items(node, what, key, tagged=tagged):
        if isinstance(item, MappingNode):
            name = _entry_name(item, what, key, ("name", "override-checkout", "override-branch"))
            # "override-branch" is the old name; "override-checkout" wins when both are set.
            field = "override-checkout" if "override-checkout" in item else "override-branch"
            checkout = item.get(field)
            result.append(RequiredProject(name, None if checkout is None else schema.text(
                checkout, what, f"{key}.{field}")))
        else:
            result.append(RequiredProject(schema.text(item, what, key)))
    return tuple(result)


def _dependencies(node: Located, what: str, key: str, tagged: bool) -> tuple[Dependency, ...]:
    result = []
    for item in schema.items(node, what, key, tagged=tagged):
        if isinstance(item, MappingNode):
            name = _entry_name(item, what, key, ("name", "soft"))
            soft = _optional_bool(item, "soft", what, f"{key}.soft")
            result.append(Dependency(name, soft, item.position))
        else:
            result.append(Dependency(schema.text(item, what, key), False, item.position))
    return tuple(result)


def _secrets(node: Located, what: str, key: str) -> tuple[SecretUse, ...]:
    result = []
    for item in schema.items(node, what, key):
        if isinstance(item, MappingNode):
            allowed = ("name", "secret", "pass-to-parent")
            var = _entry_name(item, what, key, allowed)
            secret = _entry_name(item, what, key, allowed, "secret")
            passed = _optional_bool(item, "pass-to-parent", what, f"{key}.pass-to-parent")
            result.append(SecretUse(var, secret, passed, item.position))
        else:
            name = schema.text(item, what, key)
            result.append(SecretUse(name, name, False, item.position))
    return tuple(result)


NODESET_ATTRIBUTES = ("name", "nodes", "groups", "alternatives")


def parse_nodeset(node: Located, ctx: FileContext, *, anonymous: bool = False,
                  what: str | None = None) -> Nodeset:
    """A named ``nodeset``, or an anonymous one written inline in a job."""
    body = schema.mapping(node, what or "a nodeset")
    name: str | None = None
    if anonymous:
        what = what or "the inline nodeset"
        schema.check_keys(body, what, NODESET_ATTRIBUTES[1:])
    else:
        name = schema.name_of(body, "nodeset")
        what = f'nodeset "{name}"'
        schema.check_keys(body, what, NODESET_ATTRIBUTES)
    nodes: list[Node] = []
    node_names: set[str] = set()
    nodes_value = body.get("nodes")
    for item in schema.items(nodes_value, what, "nodes") if nodes_value is not None else ():
        entry = schema.mapping(item, what, "nodes")
        node_name = _entry_name(entry, what, "nodes", ("name", "label"))
        label = _entry_name(entry, what, "nodes", ("name", "label"), "label")
        if node_name in node_names:
            raise ConfigError.at(entry, f'{what} has two nodes named "{node_name}"')
        node_names.add(node_name)
        nodes.append(Node(node_name, label))
    groups: list[Group] = []
    groups_value = body.get("groups")
    for item in schema.items(groups_value, what, "groups") if groups_value is not None else ():
        entry = schema.mapping(item, what, "groups")
        group_name = _entry_name(entry, what, "groups", ("name", "nodes"))
        members_node = entry.get("nodes")
        if members_node is None:
            raise ConfigError.at(entry, f'{what}: group "{group_name}" needs "nodes"')
        members = schema.text_list(members_node, what, "groups.nodes")
        for member in members:
            if member not in node_names:
                raise ConfigError.at(members_node, f'{what}: group "{group_name}" names node '
                                                   f'"{member}", which the nodeset does not '
                                                   "have" + schema.did_you_mean(member,
                                                                                node_names))
        groups.append(Group(group_name, members))
    alternatives: list[str | Nodeset] = []
    alt_value = body.get("alternatives")
    if alt_value is not None:
        if nodes_value is not None or groups_value is not None:
            raise ConfigError.at(alt_value, f'{what} has "alternatives" and also "nodes" or '
                                            '"groups"; use one or the other')
        for item in schema.items(alt_value, what, "alternatives"):
            if isinstance(item, MappingNode):
                alternatives.append(parse_nodeset(item, ctx, anonymous=True,
                                                  what=f"{what}: an inline alternative"))
            else:
                alternatives.append(schema.text(item, what, "alternatives"))
    return Nodeset(name, tuple(nodes), tuple(groups), tuple(alternatives),
                   ctx.source(body.position))
