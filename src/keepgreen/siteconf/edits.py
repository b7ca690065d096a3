"""Admin operations as edits of a ``SiteState``: each returns the new state, or raises
``EditRefused`` with the sentence the caller reads. Pure."""

from __future__ import annotations

from dataclasses import replace

from keepgreen.domain import acl
from keepgreen.siteconf.model import GroupSpec, ProjectSpec, SiteState


class EditRefused(ValueError):
    """The edit cannot be made; ``kind`` is ``conflict`` or ``not-found`` or ``invalid``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _with(state: SiteState, projects: dict[str, ProjectSpec] | None = None,
          groups: dict[str, GroupSpec] | None = None) -> SiteState:
    return SiteState(state.projects if projects is None else projects,
                     state.groups if groups is None else groups, state.where)


def create_project(state: SiteState, project: ProjectSpec, creator: str) -> SiteState:
    """The project, and its ``<name>-core`` group with ``creator`` in it."""
    if project.name in state.projects:
        raise EditRefused("conflict", f"project {project.name!r} already exists")
    core = f"{project.name}-core"
    groups = dict(state.groups)
    group = groups.get(core) or GroupSpec(core, f"Core reviewers of {project.name}", core)
    groups[core] = replace(group, members=tuple(sorted({*group.members, creator})))
    return _with(state, {**state.projects, project.name: project}, groups)


def create_group(state: SiteState, group: GroupSpec) -> SiteState:
    if group.name in state.groups:
        raise EditRefused("conflict", f"group {group.name!r} already exists")
    return _with(state, groups={**state.groups, group.name: group})


def _group(state: SiteState, name: str) -> GroupSpec:
    group = state.groups.get(name)
    if group is None:
        raise EditRefused("not-found", f"group {name!r} is not declared in the site's "
                                       "configuration")
    return group


def add_member(state: SiteState, name: str, username: str) -> SiteState:
    group = _group(state, name)
    members = tuple(sorted({*group.members, username}))
    return _with(state, groups={**state.groups, name: replace(group, members=members)})


def remove_member(state: SiteState, name: str, username: str) -> SiteState:
    group = _group(state, name)
    members = tuple(m for m in group.members if m != username)
    return _with(state, groups={**state.groups, name: replace(group, members=members)})


def configure_project(state: SiteState, name: str, **values: object) -> SiteState:
    project = state.projects.get(name)
    if project is None:
        raise EditRefused("not-found", f"project {name!r} not found")
    return _with(state, {**state.projects, name: replace(project, **values)})  # type: ignore[arg-type]


def change_access(state: SiteState, name: str, add: list[acl.Rule],
                  remove: list[tuple[str, str | None, str | None]]) -> SiteState:
    """Remove the rules matching (ref, permission or None, group or None), then add."""
    project = state.projects.get(name)
    if project is None:
        raise EditRefused("not-found", f"project {name!r} not found")
    kept = [r for r in project.access
            if not any(r.ref == ref and permission in (None, r.permission)
                       and group in (None, r.group) for ref, permission, group in remove)]
    kept += [r for r in add if r not in kept]
    return _with(state, {**state.projects, name: replace(project, access=tuple(kept))})
