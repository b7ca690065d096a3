"""Accounts and groups in the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from keepgreen.domain.account import Account, Group
from keepgreen.domain.change import as_number
from keepgreen.store.clock import utcnow
from keepgreen.store.db import ACCOUNTS, notify
from keepgreen.store.schema import accounts, group_includes, group_members, groups
from keepgreen.store.sql import among


def _account(row: Row) -> Account:  # type: ignore[type-arg]
    return Account(row.id, row.username, row.name, row.email, row.active)


def _group(row: Row) -> Group:  # type: ignore[type-arg]
    return Group(row.id, row.name, row.description, row.owner, bool(row.visible_to_all))


def add_account(conn: Connection, username: str, name: str, email: str | None,
                password_hash: str | None) -> Account:
    result = conn.execute(insert(accounts).values(
        username=username, name=name, email=email, http_password_hash=password_hash,
        active=True, created=utcnow()))
    account_id = result.inserted_primary_key[0]  # type: ignore[index]
    return Account(account_id, username, name, email, True)


def account_by_username(conn: Connection, username: str) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
    return _account(row) if row else None


def account_for_sign_in(conn: Connection, username: str) -> tuple[Account, str | None] | None:
    """The account of ``username`` with its HTTP password hash, in one read."""
    row = conn.execute(select(accounts).where(accounts.c.username == username)).first()
    return (_account(row), row.http_password_hash) if row else None


def account_by_id(conn: Connection, account_id: int) -> Account | None:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).first()
    return _account(row) if row else None


def find_account(conn: Connection, key: str) -> Account | None:
    """By username, email or numeric id, as Gerrit resolves account identifiers."""
    if as_number(key) is not None:
        found = account_by_id(conn, int(key))
        if found:
            return found
    found = account_by_username(conn, key)
    if found:
        return found
    return account_by_email(conn, key)


def account_by_email(conn: Connection, email: str) -> Account | None:
    row = conn.execute(select(accounts).where(func.lower(accounts.c.email) == email.lower())
                       ).first()
    return _account(row) if row else None


def accounts_matching(conn: Connection, prefix: str, limit: int) -> list[Account]:
    """Active accounts whose username, a word of whose name, or whose email starts with
    ``prefix`` (any case), by username; ``%`` and ``_`` in the prefix match only themselves."""
    escaped = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = escaped + "%"
    rows = conn.execute(select(accounts).where(
        accounts.c.active.is_(True),
        func.lower(accounts.c.username).like(pattern, escape="\\")
        | func.lower(" " + accounts.c.name).like("% " + pattern, escape="\\")  # any word
        | func.lower(accounts.c.email).like(pattern, escape="\\"))
        .order_by(accounts.c.username).limit(limit))
    return [_account(r) for r in rows]


def accounts_by_ids(conn: Connection, ids: set[int]) -> dict[int, Account]:
    if not ids:
        return {}
    rows = conn.execute(select(accounts).where(among(conn, accounts.c.id, ids)))
    return {r.id: _account(r) for r in rows}


def password_hash(conn: Connection, account_id: int) -> str | None:
    return conn.execute(
        select(accounts.c.http_password_hash).where(accounts.c.id == account_id)
    ).scalar()


def set_password_hash(conn: Connection, account_id: int, value: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id)
                 .values(http_password_hash=value))
    notify(conn, ACCOUNTS)


def session_epoch(conn: Connection, account_id: int) -> int | None:
    """The account's session epoch; None when there is no such account."""
    value = conn.execute(
        select(accounts.c.session_epoch).where(accounts.c.id == account_id)).scalar()
    return None if value is None else int(value)


def bump_session_epoch(conn: Connection, account_id: int) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id)
                 .values(session_epoch=accounts.c.session_epoch + 1))


def update_account(conn: Connection, account_id: int, name: str | None,
                   email: str | None) -> None:
    values: dict[str, str] = {}
    if name is not None:
        values["name"] = name
    if email is not None:
        values["email"] = email
    if values:
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(**values))
        notify(conn, ACCOUNTS)  # signed-in callers carry their account


def set_active(conn: Connection, account_id: int, active: bool) -> bool:
    """Set the account's active flag; False when it already had that value."""
    result = conn.execute(update(accounts).where(accounts.c.id == account_id,
                                                 accounts.c.active != active)
                          .values(active=active))
    notify(conn, ACCOUNTS)
    return bool(result.rowcount)


def registered_on(conn: Connection, account_id: int) -> datetime | None:
    return conn.execute(
        select(accounts.c.created).where(accounts.c.id == account_id)).scalar()


def add_group(conn: Connection, name: str, description: str = "",
              owner: str = "Administrators", visible_to_all: bool = True) -> Group:
    result = conn.execute(insert(groups).values(
        name=name, description=description, owner=owner, visible_to_all=visible_to_all,
        created=utcnow()))
    return Group(result.inserted_primary_key[0], name, description, owner,  # type: ignore[index]
                 visible_to_all)


def group_by_id(conn: Connection, group_id: int) -> Group | None:
    row = conn.execute(select(groups).where(groups.c.id == group_id)).first()
    return _group(row) if row else None


def included_groups(conn: Connection, group_id: int) -> list[Group]:
    """The groups directly included in a group, by name."""
    rows = conn.execute(
        select(groups).join(group_includes, group_includes.c.included_id == groups.c.id)
        .where(group_includes.c.group_id == group_id).order_by(groups.c.name))
    return [_group(r) for r in rows]


def includes_by_group(conn: Connection) -> dict[int, set[int]]:
    """Every group's directly included groups, by id."""
    found: dict[int, set[int]] = {}
    for group_id, included_id in conn.execute(
            select(group_includes.c.group_id, group_includes.c.included_id)):
        found.setdefault(group_id, set()).add(included_id)
    return found


def set_includes(conn: Connection, group_id: int, included_ids: set[int],
                 before: set[int] | None = None) -> None:
    """Make the group include exactly ``included_ids`` (``before``: what it includes now,
    when the caller has read it already)."""
    if before is None:
        before = includes_by_group(conn).get(group_id, set())
    notify(conn, ACCOUNTS)
    if before - included_ids:
        conn.execute(delete(group_includes).where(
            group_includes.c.group_id == group_id,
            group_includes.c.included_id.in_(sorted(before - included_ids))))
    for included_id in sorted(included_ids - before):
        conn.execute(insert(group_includes).values(group_id=group_id,
                                                   included_id=included_id))


def _including(conn: Connection, group_ids: set[int]) -> set[int]:
    """``group_ids`` and every group that includes one of them, directly or through other
    groups; a cycle of includes ends the walk where it closes."""
    seen = set(group_ids)
    frontier = set(group_ids)
    while frontier:
        rows = conn.execute(select(group_includes.c.group_id)
                            .where(among(conn, group_includes.c.included_id, frontier)))
        frontier = {r[0] for r in rows} - seen
        seen |= frontier
    return seen


def _names(conn: Connection, group_ids: set[int]) -> dict[int, str]:
    if not group_ids:
        return {}
    return {r.id: r.name for r in conn.execute(
        select(groups.c.id, groups.c.name).where(among(conn, groups.c.id, group_ids)))}


def group_by_name(conn: Connection, name: str) -> Group | None:
    row = conn.execute(select(groups).where(groups.c.name == name)).first()
    return _group(row) if row else None


def all_groups(conn: Connection) -> list[Group]:
    return [_group(r) for r in conn.execute(select(groups).order_by(groups.c.name))]


def add_member(conn: Connection, group_id: int, account_id: int) -> bool:
    """Add a member; False when already a member."""
    exists = conn.execute(select(group_members).where(
        group_members.c.group_id == group_id, group_members.c.account_id == account_id)).first()
    if exists:
        return False
    conn.execute(insert(group_members).values(group_id=group_id, account_id=account_id))
    notify(conn, ACCOUNTS)
    return True


def members(conn: Connection, group_id: int) -> list[Account]:
    rows = conn.execute(
        select(accounts).join(group_members, group_members.c.account_id == accounts.c.id)
        .where(group_members.c.group_id == group_id).order_by(accounts.c.username))
    return [_account(r) for r in rows]


def group_names_of_many(conn: Connection, account_ids: set[int]) -> dict[int, set[str]]:
    """Group names per account, for many accounts: the groups each is a direct member of
    and every group that includes one of those, however deep."""
    result: dict[int, set[str]] = {a: set() for a in account_ids}
    if not account_ids:
        return result
    direct: dict[int, set[int]] = {a: set() for a in account_ids}
    for account_id, group_id in conn.execute(
            select(group_members.c.account_id, group_members.c.group_id)
            .where(among(conn, group_members.c.account_id, account_ids))):
        direct[account_id].add(group_id)
    if not any(direct.values()):
        return result
    edges = includes_by_group(conn)
    including: dict[int, set[int]] = {}
    for group_id, included in edges.items():
        for included_id in included:
            including.setdefault(included_id, set()).add(group_id)
    names = {r.id: r.name for r in conn.execute(select(groups.c.id, groups.c.name))}
    for account_id, group_ids in direct.items():
        seen, frontier = set(group_ids), set(group_ids)
        while frontier:
            frontier = {g for f in frontier for g in including.get(f, ())} - seen
            seen |= frontier
        result[account_id] = {names[g] for g in seen if g in names}
    return result


def group_names_of(conn: Connection, account_id: int) -> set[str]:
    """The groups an account is a member of: directly, or through included groups."""
    direct = {r.id: r.name for r in conn.execute(
        select(groups.c.id, groups.c.name)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.account_id == account_id))}
    if not direct:
        return set()
    through = _including(conn, set(direct)) - set(direct)
    return set(direct.values()) | set(_names(conn, through).values())
