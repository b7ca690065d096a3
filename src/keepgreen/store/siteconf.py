"""The site state in the store: read it as a ``SiteState``, and move it to another one.

``running_state`` reads projects, groups, members and access rules; ``apply_state`` makes
the store hold a new state inside the caller's transaction, so a crash leaves the old state
or the new one, never a mix. Deleted projects keep their row (changes point at it) with the
state ``HIDDEN``; their repositories are archived by the service after the commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from keepgreen.domain import events
from keepgreen.domain.account import SYSTEM_GROUPS
from keepgreen.siteconf.model import GroupSpec, ProjectSpec, SiteState
from keepgreen.store import accounts as account_store
from keepgreen.store import events as event_store
from keepgreen.store import review as review_store
from keepgreen.store.db import ACCOUNTS, notify
from keepgreen.store.schema import (
    access_rules,
    accounts,
    group_members,
    groups,
    projects,
    site_config_state,
)

HIDDEN = "HIDDEN"
NAME = "config"


def running_state(conn: Connection) -> SiteState:
    queues = applied(conn).get("queues") or {}
    rules = review_store.all_rules(conn)
    found_projects = {}
    for row in conn.execute(select(projects).order_by(projects.c.name)):
        if row.state == HIDDEN:
            continue
        found_projects[row.name] = ProjectSpec(
            row.name, row.description, row.head.removeprefix("refs/heads/"), row.submit_type,
            row.required_approvals, row.anonymous_read, queues.get(row.name),
            tuple(rules.get(row.name, [])))
    members: dict[int, list[str]] = {}
    for group_id, username in conn.execute(
            select(group_members.c.group_id, accounts.c.username)
            .join(accounts, accounts.c.id == group_members.c.account_id)):
        members.setdefault(group_id, []).append(username)
    found_groups = {}
    rows = list(conn.execute(select(groups).order_by(groups.c.name)))
    names = {row.id: row.name for row in rows}
    includes = account_store.includes_by_group(conn)
    for row in rows:
        if row.name in SYSTEM_GROUPS:
            continue
        found_groups[row.name] = GroupSpec(
            row.name, row.description, row.owner, tuple(sorted(members.get(row.id, []))),
            bool(row.visible_to_all),
            tuple(sorted(names[i] for i in includes.get(row.id, ()) if i in names)))
    return SiteState(found_projects, found_groups)


def _renames(old: SiteState, new: SiteState, keep_groups: frozenset[str]) -> dict[str, str]:
    """Groups that only changed their name (old name -> new name): a group that went and
    one that came with the same members, description and settings, each the only such one.
    Such a group keeps its row, so its id stays the same."""
    gone = [old.groups[n] for n in set(old.groups) - set(new.groups) - keep_groups]
    came = [new.groups[n] for n in set(new.groups) - set(old.groups)]

    def key(spec: GroupSpec) -> tuple[object, ...]:
        return (spec.members, spec.description, spec.visible_to_all)

    found = {}
    for spec in gone:
        matches = [c for c in came if key(c) == key(spec)]
        if len(matches) == 1 and [g for g in gone if key(g) == key(spec)] == [spec]:
            found[spec.name] = matches[0].name
    return found


def account_names(conn: Connection) -> dict[str, bool]:
    """Every username, with whether the account is active."""
    return {r.username: bool(r.active)
            for r in conn.execute(select(accounts.c.username, accounts.c.active))}


def apply_state(conn: Connection, old: SiteState, new: SiteState, now: datetime,
                keep_groups: frozenset[str]) -> None:
    """Make the store hold ``new`` (it holds ``old``). Groups in ``keep_groups`` missing from
    ``new`` keep their rows and members."""
    notify(conn, ACCOUNTS)  # groups and memberships may change: signed-in callers too
    for name, spec in new.projects.items():
        values = dict(description=spec.description, head="refs/heads/" + spec.default_branch,
                      anonymous_read=spec.anonymous_read, submit_type=spec.submit_type,
                      required_approvals=spec.required_approvals, state="ACTIVE")
        exists = conn.execute(select(projects.c.name).where(projects.c.name == name)).first()
        if exists:
            if old.projects.get(name) != spec:
                conn.execute(update(projects).where(projects.c.name == name).values(**values))
        else:
            conn.execute(insert(projects).values(name=name, created=now, **values))
            event_store.record(conn, "project-created", events.project_created(
                name, "refs/heads/" + spec.default_branch, now), now, project=name)
    for name in set(old.projects) - set(new.projects):
        conn.execute(update(projects).where(projects.c.name == name).values(state=HIDDEN))
        conn.execute(delete(access_rules).where(access_rules.c.project == name))
    ids: dict[str, int] = {}
    renamed = _renames(old, new, keep_groups)
    for before_name, after_name in renamed.items():
        conn.execute(update(groups).where(groups.c.name == before_name)
                     .values(name=after_name))
    for name, group in new.groups.items():
        found = account_store.group_by_name(conn, name)
        if found is None:
            ids[name] = account_store.add_group(conn, name, group.description, group.owner,
                                                group.visible_to_all).id
        else:
            ids[name] = found.id
            if (found.description, found.owner, found.visible_to_all) != (
                    group.description, group.owner, group.visible_to_all):
                conn.execute(update(groups).where(groups.c.id == found.id)
                             .values(description=group.description, owner=group.owner,
                                     visible_to_all=group.visible_to_all))
    for name in set(old.groups) - set(new.groups) - keep_groups - set(renamed):
        conn.execute(delete(groups).where(groups.c.name == name))
    group_ids = {g.name: g.id for g in account_store.all_groups(conn)}
    edges = account_store.includes_by_group(conn)
    for name, group in new.groups.items():
        wanted = {group_ids[i] for i in group.includes if i in group_ids}
        if wanted != edges.get(ids[name], set()):
            account_store.set_includes(conn, ids[name], wanted, edges.get(ids[name], set()))
    old_names = {after: before for before, after in renamed.items()}
    users = {r.username: r.id for r in conn.execute(select(accounts.c.id, accounts.c.username))}
    for name, group in new.groups.items():
        was = old_names.get(name, name)
        before = set(old.groups[was].members) if was in old.groups else set()
        after = set(group.members)
        for username in after - before:
            account_store.add_member(conn, ids[name], users[username])
        for username in before - after:
            conn.execute(delete(group_members).where(
                group_members.c.group_id == ids[name],
                group_members.c.account_id == users[username]))
    for name, spec in new.projects.items():
        if tuple(review_store.rules_of(conn, name)) != spec.access:
            conn.execute(delete(access_rules).where(access_rules.c.project == name))
            for rule in spec.access:
                review_store.add_rule(conn, name, rule)


def applied(conn: Connection) -> dict[str, Any]:
    """The row of the applied state ({} before the first apply)."""
    row = conn.execute(select(site_config_state)
                       .where(site_config_state.c.name == NAME)).first()
    return dict(row._mapping) if row else {}


def record(conn: Connection, now: datetime, *, seen: str, applied_sha: str | None,
           result: str, message: str, queues: dict[str, str] | None = None) -> None:
    """Remember the commit looked at and the outcome; ``applied_sha`` and ``queues`` None
    keep the previous applied state."""
    current = applied(conn)
    values: dict[str, Any] = dict(
        seen_sha=seen, result=result, message=message, updated=now,
        applied_sha=applied_sha if applied_sha is not None else current.get("applied_sha"),
        queues=queues if queues is not None else (current.get("queues") or {}))
    if current:
        conn.execute(update(site_config_state).where(site_config_state.c.name == NAME)
                     .values(**values))
    else:
        conn.execute(insert(site_config_state).values(name=NAME, **values))


def hidden_projects(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(select(projects.c.name)
                                       .where(projects.c.state == HIDDEN))]


def remove_member(conn: Connection, group_id: int, account_id: int) -> None:
    notify(conn, ACCOUNTS)
    conn.execute(delete(group_members).where(group_members.c.group_id == group_id,
                                             group_members.c.account_id == account_id))
