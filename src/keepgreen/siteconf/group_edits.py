"""Edits of one group in a ``SiteState``: rename it, set its description, owner or
visibility, include other groups in it or stop including them. Each returns the new state or
raises ``EditRefused``. Pure.

A rename follows the name everywhere the state names the group: owner fields, the includes
of other groups and access rules; where the group was written stays the same, so it stays
in its file at its place.
"""

from __future__ import annotations

from dataclasses import replace

from keepgreen.siteconf.edits import EditRefused
from keepgreen.siteconf.model import GroupSpec, SiteState, Where


def _group(state: SiteState, name: str) -> GroupSpec:
    group = state.groups.get(name)
    if group is None:
        raise EditRefused("not-found", f"group {name!r} is not declared in the site's "
                                       "configuration")
    return group


def _with_group(state: SiteState, group: GroupSpec) -> SiteState:
    return SiteState(state.projects, {**state.groups, group.name: group}, state.where)


def change_group(state: SiteState, name: str, **values: object) -> SiteState:
    """The group with ``values`` (description, owner, visible_to_all) set."""
    return _with_group(state, replace(_group(state, name), **values))  # type: ignore[arg-type]


def set_includes(state: SiteState, name: str, includes: set[str]) -> SiteState:
    return change_group(state, name, includes=tuple(sorted(includes)))


def rename_group(state: SiteState, old: str, new: str) -> SiteState:
    _group(state, old)
    if new in state.groups:
        raise EditRefused("conflict", f"group {new!r} already exists")

    def renamed(value: str) -> str:
        return new if value == old else value

    groups: dict[str, GroupSpec] = {}
    for spec in state.groups.values():
        spec = replace(spec, name=renamed(spec.name), owner=renamed(spec.owner),
                       includes=tuple(sorted(renamed(g) for g in spec.includes)))
        groups[spec.name] = spec
    projects = {name: replace(p, access=tuple(replace(r, group=renamed(r.group))
                                              for r in p.access))
                for name, p in state.projects.items()}
    where: dict[tuple[str, ...], Where] = {}
    for key, place in state.where.items():
        if key[0] in ("group", "member", "include") and len(key) > 1 and key[1] == old:
            key = (key[0], new, *key[2:])
        elif key[0] == "include" and len(key) > 2 and key[2] == old:
            key = (key[0], key[1], new)
        where[key] = place
    return SiteState(projects, groups, where)
