"""What moving the site from one state to another does, as readable lines.

``plan`` compares two ``SiteState`` values and returns the lines a reviewer reads on a
change to ``config`` ("create project `org/app` with group `org/app-core` (alice, bob)").
``deleted_projects`` and ``delete_markers`` carry the rule that deleting a project needs an
``allow-delete: <name>`` line in the commit message. Pure.
"""

from __future__ import annotations

import re

from keepgreen.domain import acl
from keepgreen.domain.account import BUILTIN_GROUPS
from keepgreen.siteconf.model import GroupSpec, ProjectSpec, SiteProblem, SiteState, rule_text

_MARKER = re.compile(r"^\s*allow-delete:\s*(\S+)\s*$", re.MULTILINE | re.IGNORECASE)


def delete_markers(message: str) -> set[str]:
    """Project names a commit message allows to delete (``allow-delete: <name>`` lines)."""
    return set(_MARKER.findall(message))


def deleted_projects(old: SiteState, new: SiteState) -> list[str]:
    return sorted(set(old.projects) - set(new.projects))


def deletion_problems(old: SiteState, new: SiteState, allowed: set[str]) -> list[SiteProblem]:
    """A deleted project without its marker is a problem at the file it was declared in."""
    problems = []
    for name in deleted_projects(old, new):
        if name not in allowed:
            where = new.place("project", name)
            problems.append(SiteProblem(where.path, 0,
                                        f"this deletes project {name!r}; add the line "
                                        f"`allow-delete: {name}` to the commit message to "
                                        "confirm (its repository is archived, not destroyed)"))
    return problems


def _people(members: tuple[str, ...]) -> str:
    return f" ({', '.join(members)})" if members else ""


def _rule_line(verb: str, project: str, rule: acl.Rule) -> str:
    if rule.action == "block":
        verb = {"grant": "block", "revoke": "unblock"}[verb]
    on = f"`{project}`" if rule.ref == "refs/heads/*" else f"`{project}` {rule.ref}"
    preposition = "to" if verb == "grant" else ("for" if verb in ("block", "unblock")
                                                else "from")
    return f"{verb} `{rule_text(rule)}` on {on} {preposition} `{rule.group}`"


def _project_changes(old: ProjectSpec, new: ProjectSpec) -> list[str]:
    fields = (("description", "description"), ("default branch", "default_branch"),
              ("submit type", "submit_type"), ("required approvals", "required_approvals"),
              ("anonymous read", "anonymous_read"), ("queue", "queue"))
    changed = []
    for label, attr in fields:
        before, after = getattr(old, attr), getattr(new, attr)
        if before != after:
            changed.append(f"{label} {before!r} -> {after!r}" if attr != "description"
                           else "description")
    return changed


def _group_lines(old: GroupSpec | None, new: GroupSpec | None, name: str,
                 folded: set[str]) -> list[str]:
    if new is None:
        return [] if name in BUILTIN_GROUPS else [f"delete group `{name}`"]
    if old is None:
        if name in folded:
            return []
        owner = f", owned by `{new.owner}`" if new.owner != "Administrators" else ""
        return [f"create group `{name}`{_people(new.members)}{owner}"]
    lines = [f"add {m} to `{name}`" for m in new.members if m not in old.members]
    lines += [f"remove {m} from `{name}`" for m in old.members if m not in new.members]
    if old.owner != new.owner:
        lines.append(f"change owner of group `{name}` from `{old.owner}` to `{new.owner}`")
    if old.description != new.description:
        lines.append(f"change description of group `{name}`")
    lines += [f"include `{g}` in `{name}`" for g in new.includes if g not in old.includes]
    lines += [f"stop including `{g}` in `{name}`" for g in old.includes
              if g not in new.includes]
    if old.visible_to_all != new.visible_to_all:
        lines.append(f"make group `{name}` "
                     + ("visible to all" if new.visible_to_all else "visible to its members "
                        "and owners only"))
    return lines


def plan(old: SiteState, new: SiteState) -> list[str]:
    """The readable steps from ``old`` to ``new``; empty when they run the same site.

    Groups absent from ``new`` are deleted, except the built-in ones, whose membership is
    then left as it is.
    """
    lines: list[str] = []
    folded: set[str] = set()
    for name in sorted(set(new.projects) - set(old.projects)):
        core = f"{name}-core"
        group = new.groups.get(core)
        if group is not None and core not in old.groups:
            folded.add(core)
            lines.append(f"create project `{name}` with group `{core}`{_people(group.members)}")
        else:
            lines.append(f"create project `{name}`")
    for name in deleted_projects(old, new):
        lines.append(f"delete project `{name}` (its repository is archived)")
    for name in sorted(set(old.projects) & set(new.projects)):
        changed = _project_changes(old.projects[name], new.projects[name])
        if changed:
            lines.append(f"change project `{name}`: {', '.join(changed)}")
    for name in sorted(set(old.groups) | set(new.groups)):
        lines += _group_lines(old.groups.get(name), new.groups.get(name), name, folded)
    for name in sorted(set(old.projects) | set(new.projects)):
        before = old.projects[name].access if name in old.projects else ()
        after = new.projects[name].access if name in new.projects else ()
        if name not in new.projects:
            continue  # the deletion says it all
        lines += [_rule_line("grant", name, r) for r in after if r not in before]
        lines += [_rule_line("revoke", name, r) for r in before if r not in after]
    return lines
