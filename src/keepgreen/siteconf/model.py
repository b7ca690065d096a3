"""The site's resources as typed values: projects, groups and access rules, with problems.

``parse`` reads the located YAML trees of ``resources/*.yaml`` (every file a list of
``- project:`` and ``- group:`` entries) into a ``SiteState``; ``validate`` finds what is
wrong with a state as a whole (references to missing groups or labels, ranges outside a
label's values, a state that locks every administrator out). Every problem names file and
line. Pure: the standard library, the domain and jobconf's located values only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from keepgreen.domain import acl, labels
from keepgreen.domain.account import (
    ADMINISTRATORS,
    ANONYMOUS_USERS,
    BUILTIN_GROUPS,
    REGISTERED_USERS,
    SYSTEM_GROUPS,
    valid_username,
)
from keepgreen.domain.project import DEFAULT_BRANCH, SITE_CONFIG, SUBMIT_TYPES, name_problem
from keepgreen.domain.refs import valid_branch_name
from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
    describe,
)

RESOURCES = "resources/"
PROJECT_KEYS = ("name", "description", "default-branch", "submit-type", "required-approvals",
                "anonymous-read", "queue", "access")
GROUP_KEYS = ("name", "description", "owner", "members", "visible-to-all", "includes")
RULE_KEYS = ("group", "range", "action")
_RANGE = re.compile(r"^\s*([+-]?\d+)\s*\.\.\s*([+-]?\d+)\s*$")


@dataclass(frozen=True)
class SiteProblem:
    """One thing wrong with the site's configuration: file, line (0: the file as a whole)
    and a plain sentence."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else (
            f"{self.path}: {self.message}")


@dataclass(frozen=True)
class Where:
    path: str
    line: int


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    description: str = ""
    default_branch: str = DEFAULT_BRANCH
    submit_type: str = "MERGE_IF_NECESSARY"
    required_approvals: int = 2
    anonymous_read: bool = True
    queue: str | None = None
    # The project's own rules (the defaults of acl.default_rules come first), grouped as the
    # files write them: by ref, then permission, each in order of first appearance. Order
    # never changes a decision, so grouping keeps equal states equal however they were made.
    access: tuple[acl.Rule, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "access", grouped(self.access))


def grouped(rules: tuple[acl.Rule, ...] | list[acl.Rule]) -> tuple[acl.Rule, ...]:
    refs: dict[str, dict[str, list[acl.Rule]]] = {}
    for rule in rules:
        same = refs.setdefault(rule.ref, {}).setdefault(rule.permission, [])
        if rule not in same:
            same.append(rule)
    return tuple(r for permissions in refs.values() for same in permissions.values()
                 for r in same)


@dataclass(frozen=True)
class GroupSpec:
    name: str
    description: str = ""
    owner: str = ADMINISTRATORS
    members: tuple[str, ...] = ()  # usernames, sorted
    visible_to_all: bool = True
    includes: tuple[str, ...] = ()  # names of included groups, sorted


@dataclass(frozen=True)
class SiteState:
    """What the site runs: projects and groups by name. ``where`` (file and line of each
    project, group, member and rule, and the file each entry lives in) is not part of the
    state's value: two states are equal when they would run the same site."""

    projects: Mapping[str, ProjectSpec] = field(default_factory=dict)
    groups: Mapping[str, GroupSpec] = field(default_factory=dict)
    where: Mapping[tuple[str, ...], Where] = field(default_factory=dict, compare=False)

    def place(self, *key: str) -> Where:
        """Where ``key`` ("project", name) / ("group", name) / ("member", group, user) /
        ("include", group, included) / ("rule", project, index) is written, or the file it
        belongs in."""
        found = self.where.get(key)
        if found is not None:
            return found
        if len(key) > 2:
            return self.place(*key[:2])
        return Where(RESOURCES + ("groups.yaml" if key[0] == "group" else "projects.yaml"), 0)


def format_range(lo: int, hi: int) -> str:
    return f"{labels.signed(lo).strip()}..{labels.signed(hi).strip()}"


def rule_text(rule: acl.Rule) -> str:
    if rule.permission.startswith("label-"):
        return f"{rule.permission} {format_range(rule.min_value, rule.max_value)}"
    return rule.permission


class _Problems:
    def __init__(self) -> None:
        self.items: list[SiteProblem] = []

    def at(self, node: Located | Where, message: str) -> None:
        self.items.append(SiteProblem(node.path, node.line, message))


def parse(files: Mapping[str, Located | ConfigError | None],
          anonymous_read: bool = True) -> tuple[SiteState, list[SiteProblem]]:
    """The state the ``resources/`` files describe, and the problems found reading them.

    ``files`` maps each path to its located tree (None: empty file; ConfigError: the YAML
    did not load). ``anonymous_read`` is the value a project without the key gets. Entries
    with problems are left out of the state, so it stays usable for further checks.
    """
    problems = _Problems()
    projects: dict[str, ProjectSpec] = {}
    groups: dict[str, GroupSpec] = {}
    where: dict[tuple[str, ...], Where] = {}
    for path in sorted(files):
        tree = files[path]
        if isinstance(tree, ConfigError):
            problems.items.append(SiteProblem(tree.path, tree.line, tree.message))
            continue
        if tree is None:
            continue
        if not isinstance(tree, SequenceNode):
            problems.at(tree, "a resources file is a list of `- project:` and `- group:` "
                              f"entries, not {describe(tree)}")
            continue
        for item in tree:
            if not isinstance(item, MappingNode) or len(item.entries) != 1:
                problems.at(item, "each entry is a mapping with one key, `project` or `group`")
                continue
            key, body = item.entries[0]
            if key.value == "project":
                spec = _project(body, anonymous_read, problems, where)
                table: dict[str, ProjectSpec] | dict[str, GroupSpec] = projects
            elif key.value == "group":
                spec = _group(body, problems, where)  # type: ignore[assignment]
                table = groups
            else:
                problems.at(key, f"unknown entry {key.value!r}; use `project` or `group`")
                continue
            if spec is None:
                continue
            kind = str(key.value)
            if spec.name in table:
                first = where[(kind, spec.name)]
                problems.at(body, f"{kind} {spec.name!r} is declared twice (first at "
                                  f"{first.path}:{first.line})")
                continue
            table[spec.name] = spec  # type: ignore[assignment]
            where[(kind, spec.name)] = Where(body.path, body.line)
    return SiteState(projects, groups, where), problems.items


def _mapping(node: Located, what: str, keys: tuple[str, ...],
             problems: _Problems) -> MappingNode | None:
    if not isinstance(node, MappingNode):
        problems.at(node, f"{what} must be a mapping, not {describe(node)}")
        return None
    for key in node.keys():
        if key not in keys:
            key_node = node.key_node(str(key))
            problems.at(key_node or node, f"{what} has unknown key {key!r}; known keys: "
                                          f"{', '.join(keys)}")
    return node


def _text(node: MappingNode, key: str, what: str, problems: _Problems,
          default: str | None = None) -> str | None:
    value = node.get(key)
    if value is None:
        if default is None:
            problems.at(node, f"{what} needs `{key}`")
        return default
    if not isinstance(value, ScalarNode) or not isinstance(value.value, str):
        problems.at(value, f"`{key}` of {what} must be text, not {describe(value)}")
        return None
    return value.value


def _project(body: Located, anonymous_read: bool, problems: _Problems,
             where: dict[tuple[str, ...], Where]) -> ProjectSpec | None:
    node = _mapping(body, "a project", PROJECT_KEYS, problems)
    if node is None:
        return None
    before = len(problems.items)
    name = _text(node, "name", "a project", problems)
    if name is None:
        return None
    what = f"project {name!r}"
    problem = name_problem(name)
    if problem:
        problems.at(node.get("name") or node, problem)
    description = _text(node, "description", what, problems, "") or ""
    branch = _text(node, "default-branch", what, problems, DEFAULT_BRANCH) or DEFAULT_BRANCH
    if not valid_branch_name(branch):
        problems.at(node.get("default-branch") or node,
                    f"{branch!r} is not a valid branch name")
    submit = _text(node, "submit-type", what, problems, "MERGE_IF_NECESSARY") or ""
    if submit not in SUBMIT_TYPES:
        problems.at(node.get("submit-type") or node,
                    f"submit-type of {what} must be one of {', '.join(SUBMIT_TYPES)}")
    approvals = 2
    value = node.get("required-approvals")
    if value is not None:
        if (not isinstance(value, ScalarNode) or isinstance(value.value, bool)
                or not isinstance(value.value, int) or not 1 <= value.value <= 10):
            problems.at(value, f"required-approvals of {what} must be a whole number from "
                               "1 to 10")
        else:
            approvals = value.value
    anonymous = anonymous_read
    value = node.get("anonymous-read")
    if value is not None:
        if not isinstance(value, ScalarNode) or not isinstance(value.value, bool):
            problems.at(value, f"anonymous-read of {what} must be true or false")
        else:
            anonymous = value.value
    queue = None
    if node.get("queue") is not None:
        queue = _text(node, "queue", what, problems)
    rules: list[acl.Rule] = []
    access = node.get("access")
    if access is not None:
        rules = _access(access, name, problems, where)
    if len(problems.items) > before:
        return None
    return ProjectSpec(name, description, branch, submit, approvals, anonymous, queue,
                       tuple(rules))


def _access(node: Located, project: str, problems: _Problems,
            where: dict[tuple[str, ...], Where]) -> list[acl.Rule]:
    """Gerrit's model: ref -> permission -> list of {group, range, action}."""
    rules: list[acl.Rule] = []
    if not isinstance(node, MappingNode):
        problems.at(node, f"access of project {project!r} maps refs to permissions, not "
                          f"{describe(node)}")
        return rules
    for ref_node, permissions in node.entries:
        ref = str(ref_node.value)
        if ref.startswith("^"):
            try:
                re.compile(ref)
            except re.error as exc:
                problems.at(ref_node, f"ref pattern {ref!r} is not a valid regular "
                                      f"expression: {exc}")
                continue
        elif not ref.startswith("refs/"):
            problems.at(ref_node, f"ref {ref!r} must start with refs/ (or ^refs/ for a "
                                  "regular expression)")
            continue
        if not isinstance(permissions, MappingNode):
            problems.at(permissions, f"access on {ref} maps permissions to lists of rules, "
                                     f"not {describe(permissions)}")
            continue
        for perm_node, entries in permissions.entries:
            permission = str(perm_node.value)
            label = None
            if permission.startswith("label-"):
                label = labels.find(permission.removeprefix("label-"))
                if label is None:
                    known = ", ".join(lt.name for lt in labels.DEFAULT_LABELS)
                    problems.at(perm_node, f"{permission} on {ref} names no label of this "
                                           f"site (labels: {known})")
                    continue
                permission = f"label-{label.name}"
            elif permission not in acl.PERMISSIONS:
                problems.at(perm_node, f"unknown permission {permission!r} on {ref}; known: "
                                       f"{', '.join(acl.PERMISSIONS)} and label-<name>")
                continue
            items = entries.items if isinstance(entries, SequenceNode) else (entries,)
            for entry in items:
                rule = _rule(entry, ref, permission, label, problems)
                if rule is not None:
                    where[("rule", project, str(len(rules)))] = Where(entry.path, entry.line)
                    rules.append(rule)
    return rules


def _rule(entry: Located, ref: str, permission: str, label: labels.LabelType | None,
          problems: _Problems) -> acl.Rule | None:
    what = f"{permission} on {ref}"
    if isinstance(entry, ScalarNode) and isinstance(entry.value, str):
        group, action, lo, hi = entry.value, "allow", 0, 0
        if label is not None:
            problems.at(entry, f"{what} needs a range, e.g. `- {{group: {group}, range: "
                               f"{format_range(label.min, label.max)}}}`")
            return None
        return acl.Rule(ref, permission, group)
    node = _mapping(entry, f"a rule of {what}", RULE_KEYS, problems)
    if node is None:
        return None
    group_name = _text(node, "group", f"a rule of {what}", problems)
    action = _text(node, "action", what, problems, "allow") or ""
    if action.lower() not in ("allow", "block"):
        problems.at(node.get("action") or node, f"action of {what} must be allow or block")
        return None
    lo = hi = 0
    range_node = node.get("range")
    if label is None and range_node is not None:
        problems.at(range_node, f"{what} takes no range; only label-<name> permissions do")
        return None
    if label is not None:
        if range_node is None:
            problems.at(node, f"{what} needs a range, e.g. "
                              f"{format_range(label.min, label.max)}")
            return None
        text = range_node.value if isinstance(range_node, ScalarNode) else None
        matched = _RANGE.match(str(text)) if isinstance(text, str | int) else None
        if matched is None:
            problems.at(range_node, f"range of {what} must read like -2..+2")
            return None
        lo, hi = int(matched.group(1)), int(matched.group(2))
        if lo > hi or lo < label.min or hi > label.max:
            problems.at(range_node, f"range {format_range(lo, hi)} of {what} is outside the "
                                    f"label's values ({format_range(label.min, label.max)})")
            return None
    if group_name is None:
        return None
    return acl.Rule(ref, permission, group_name, lo, hi, action.lower())


def _group(body: Located, problems: _Problems,
           where: dict[tuple[str, ...], Where]) -> GroupSpec | None:
    node = _mapping(body, "a group", GROUP_KEYS, problems)
    if node is None:
        return None
    before = len(problems.items)
    name = _text(node, "name", "a group", problems)
    if name is None:
        return None
    what = f"group {name!r}"
    if not name.strip() or len(name) > 255:
        problems.at(node, "a group needs a name of 1 to 255 characters")
    if name in SYSTEM_GROUPS:
        problems.at(node.get("name") or node, f"membership of {name!r} is implied; it cannot "
                                              "be declared")
    description = _text(node, "description", what, problems, "") or ""
    owner = _text(node, "owner", what, problems, ADMINISTRATORS) or ADMINISTRATORS
    members: list[str] = []
    value = node.get("members")
    if value is not None:
        if not isinstance(value, SequenceNode):
            problems.at(value, f"members of {what} must be a list of usernames")
        else:
            for item in value:
                if not isinstance(item, ScalarNode) or not isinstance(item.value, str) \
                        or not valid_username(item.value):
                    problems.at(item, f"members of {what} are usernames, not {describe(item)}")
                elif item.value in members:
                    problems.at(item, f"{item.value} is listed twice in {what}")
                else:
                    members.append(item.value)
                    where[("member", name, item.value)] = Where(item.path, item.line)
    visible = True
    value = node.get("visible-to-all")
    if value is not None:
        if not isinstance(value, ScalarNode) or not isinstance(value.value, bool):
            problems.at(value, f"visible-to-all of {what} must be true or false")
        else:
            visible = value.value
    includes: list[str] = []
    value = node.get("includes")
    if value is not None:
        if not isinstance(value, SequenceNode):
            problems.at(value, f"includes of {what} must be a list of group names")
        else:
            for item in value:
                if not isinstance(item, ScalarNode) or not isinstance(item.value, str):
                    problems.at(item, f"includes of {what} are group names, not "
                                      f"{describe(item)}")
                elif item.value in includes:
                    problems.at(item, f"{item.value} is included twice in {what}")
                else:
                    includes.append(item.value)
                    where[("include", name, item.value)] = Where(item.path, item.line)
    if len(problems.items) > before:
        return None
    return GroupSpec(name, description, owner, tuple(sorted(members)), visible,
                     tuple(sorted(includes)))


def known_groups(state: SiteState) -> set[str]:
    """Groups a rule or owner may name: the declared ones and the built-in ones."""
    return set(state.groups) | set(BUILTIN_GROUPS)


def validate(state: SiteState, accounts: set[str] | None = None,
             active: Mapping[str, bool] | None = None) -> list[SiteProblem]:
    """What is wrong with ``state`` as a whole. ``accounts`` (usernames), when given, are
    the accounts members may name; ``active`` tells which of them may still sign in."""
    problems = _Problems()
    groups = known_groups(state)
    for group in state.groups.values():
        if group.owner not in groups:
            problems.at(state.place("group", group.name),
                        f"owner group {group.owner!r} of group {group.name!r} does not exist")
        if accounts is not None:
            for member in group.members:
                if member not in accounts:
                    problems.at(state.place("member", group.name, member),
                                f"account {member!r} in group {group.name!r} does not exist")
        for included in group.includes:
            at = state.place("include", group.name, included)
            if included in SYSTEM_GROUPS:
                problems.at(at, f"membership of {included!r} is implied; group "
                                f"{group.name!r} cannot include it")
            elif included == group.name:
                problems.at(at, f"group {group.name!r} cannot include itself")
            elif included not in groups:
                problems.at(at, f"group {included!r} included in group {group.name!r} does "
                                "not exist")
    for project in state.projects.values():
        for index, rule in enumerate(project.access):
            if rule.group not in groups:
                problems.at(state.place("rule", project.name, str(index)),
                            f"group {rule.group!r} in {rule_text(rule)} on {rule.ref} of "
                            f"project {project.name!r} does not exist")
    problems.items += lockout(state, accounts, active)
    return problems.items


# Permissions an administrator needs on ``config`` to repair the site through review.
_REPAIR = (acl.READ, acl.PUSH, acl.SUBMIT, acl.OWNER, "label-Code-Review", "label-Workflow")


def lockout(state: SiteState, accounts: set[str] | None = None,
            active: Mapping[str, bool] | None = None) -> list[SiteProblem]:
    """Problems that would leave no administrator able to change the site."""
    found: list[SiteProblem] = []
    config = state.projects.get(SITE_CONFIG)
    if config is None:
        found.append(SiteProblem(RESOURCES + "projects.yaml", 0,
                                 f"project {SITE_CONFIG!r} must stay: it is how the site is "
                                 "changed"))
    admins = state.groups.get(ADMINISTRATORS)
    where = state.place("group", ADMINISTRATORS)
    if admins is None:
        found.append(SiteProblem(where.path, where.line,
                                 f"group {ADMINISTRATORS!r} must be declared with at least one "
                                 "member, or no one could administer the site"))
    else:
        usable = [m for m in admins.members
                  if (accounts is None or m in accounts)
                  and (active is None or active.get(m, True))]
        if not usable:
            found.append(SiteProblem(where.path, where.line,
                                     f"this would lock out every administrator: group "
                                     f"{ADMINISTRATORS!r} needs at least one existing, "
                                     "active member"))
    if config is not None:
        everyone = {ADMINISTRATORS, REGISTERED_USERS, ANONYMOUS_USERS}
        for index, rule in enumerate(config.access):
            if rule.action == "block" and rule.group in everyone and rule.permission in _REPAIR \
                    and acl.ref_matches(rule.ref, "refs/heads/" + config.default_branch):
                at = state.place("rule", SITE_CONFIG, str(index))
                found.append(SiteProblem(at.path, at.line,
                                         f"blocking {rule.permission} on {rule.ref} of "
                                         f"{SITE_CONFIG!r} for {rule.group!r} would lock out "
                                         "every administrator"))
    return found
