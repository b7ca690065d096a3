"""Accounts' own settings in the store: preferences (and the site's defaults for them),
watched projects, e-mail addresses besides the preferred one, display name and status."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from keepgreen.store.db import ACCOUNTS, notify
from keepgreen.store.schema import (
    account_emails,
    account_preferences,
    account_profiles,
    accounts,
    comments,
    default_preferences,
    project_watches,
)
from keepgreen.store.sql import among

WATCH_FLAGS = ("notify_new_changes", "notify_new_patch_sets", "notify_all_comments",
               "notify_submitted_changes", "notify_abandoned_changes")


# -- preferences ------------------------------------------------------------------------------

def preferences(conn: Connection, account_id: int, kind: str) -> dict[str, Any]:
    value = conn.execute(select(account_preferences.c.value).where(
        account_preferences.c.account_id == account_id,
        account_preferences.c.kind == kind)).scalar()
    return dict(value) if isinstance(value, dict) else {}


def set_preferences(conn: Connection, account_id: int, kind: str,
                    value: dict[str, Any]) -> None:
    where = (account_preferences.c.account_id == account_id,
             account_preferences.c.kind == kind)
    if conn.execute(select(account_preferences.c.kind).where(*where)).first() is None:
        conn.execute(insert(account_preferences).values(account_id=account_id, kind=kind,
                                                        value=value))
    else:
        conn.execute(update(account_preferences).where(*where).values(value=value))


def site_defaults(conn: Connection, kind: str) -> dict[str, Any]:
    value = conn.execute(select(default_preferences.c.value).where(
        default_preferences.c.kind == kind)).scalar()
    return dict(value) if isinstance(value, dict) else {}


def set_site_defaults(conn: Connection, kind: str, value: dict[str, Any]) -> None:
    where = default_preferences.c.kind == kind
    if conn.execute(select(default_preferences.c.kind).where(where)).first() is None:
        conn.execute(insert(default_preferences).values(kind=kind, value=value))
    else:
        conn.execute(update(default_preferences).where(where).values(value=value))


# -- watched projects -----------------------------------------------------------------------

def watches(conn: Connection, account_id: int) -> list[dict[str, Any]]:
    """The account's watches as mappings of the table's columns, by project and filter."""
    rows = conn.execute(select(project_watches).where(
        project_watches.c.account_id == account_id)
        .order_by(project_watches.c.project, project_watches.c.filter))
    return [dict(r._mapping) for r in rows]


def put_watch(conn: Connection, account_id: int, project: str, filter_: str,
              flags: dict[str, bool]) -> None:
    values = {name: bool(flags.get(name)) for name in WATCH_FLAGS}
    where = (project_watches.c.account_id == account_id,
             project_watches.c.project == project, project_watches.c.filter == filter_)
    if conn.execute(select(project_watches.c.project).where(*where)).first() is None:
        conn.execute(insert(project_watches).values(account_id=account_id, project=project,
                                                    filter=filter_, **values))
    else:
        conn.execute(update(project_watches).where(*where).values(**values))


def delete_watch(conn: Connection, account_id: int, project: str, filter_: str) -> None:
    conn.execute(delete(project_watches).where(
        project_watches.c.account_id == account_id, project_watches.c.project == project,
        project_watches.c.filter == filter_))


# -- e-mail addresses -----------------------------------------------------------------------

def secondary_emails(conn: Connection, account_id: int) -> list[str]:
    rows = conn.execute(select(account_emails.c.email).where(
        account_emails.c.account_id == account_id).order_by(account_emails.c.email_key))
    return [r[0] for r in rows]


def email_owner(conn: Connection, email: str) -> int | None:
    """The account holding ``email`` (any case), as preferred or other address."""
    key = email.lower()
    owner = conn.execute(select(accounts.c.id).where(func.lower(accounts.c.email) == key)
                         ).scalar()
    if owner is None:
        owner = conn.execute(select(account_emails.c.account_id).where(
            account_emails.c.email_key == key)).scalar()
    return None if owner is None else int(owner)


def add_secondary_email(conn: Connection, account_id: int, email: str) -> None:
    conn.execute(insert(account_emails).values(account_id=account_id, email=email,
                                               email_key=email.lower()))


def remove_secondary_email(conn: Connection, account_id: int, email: str) -> bool:
    result = conn.execute(delete(account_emails).where(
        account_emails.c.account_id == account_id,
        account_emails.c.email_key == email.lower()))
    return bool(result.rowcount)


def preferred_email(conn: Connection, account_id: int) -> str | None:
    return conn.execute(select(accounts.c.email).where(accounts.c.id == account_id)).scalar()


def set_preferred_email(conn: Connection, account_id: int, email: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(email=email))
    notify(conn, ACCOUNTS)  # signed-in callers carry their account


# -- display name and status ------------------------------------------------------------------

def profile(conn: Connection, account_id: int) -> tuple[str, str]:
    """The account's display name and status message ("" when unset)."""
    row = conn.execute(select(account_profiles.c.display_name, account_profiles.c.status)
                       .where(account_profiles.c.account_id == account_id)).first()
    return (row.display_name, row.status) if row else ("", "")


def set_profile(conn: Connection, account_id: int, **values: str) -> None:
    where = account_profiles.c.account_id == account_id
    if conn.execute(select(account_profiles.c.account_id).where(where)).first() is None:
        conn.execute(insert(account_profiles).values(
            account_id=account_id, **{"display_name": "", "status": "", **values}))
    else:
        conn.execute(update(account_profiles).where(where).values(**values))


# -- draft comments ---------------------------------------------------------------------------

def changes_with_drafts(conn: Connection, account_id: int) -> list[int]:
    rows = conn.execute(select(comments.c.change_number).distinct().where(
        comments.c.author_id == account_id, comments.c.draft.is_(True))
        .order_by(comments.c.change_number))
    return [int(r[0]) for r in rows]


def delete_drafts(conn: Connection, account_id: int, numbers: Iterable[int]) -> None:
    numbers = list(numbers)
    if numbers:
        conn.execute(delete(comments).where(
            comments.c.author_id == account_id, comments.c.draft.is_(True),
            among(conn, comments.c.change_number, numbers)))


def all_emails(conn: Connection) -> list[tuple[int, str, bool]]:
    """Every address on the site: (account id, address, whether it is the preferred one)."""
    preferred = conn.execute(select(accounts.c.id, accounts.c.email)
                             .where(accounts.c.email.is_not(None)))
    others = conn.execute(select(account_emails.c.account_id, account_emails.c.email))
    return ([(int(a), e, True) for a, e in preferred]
            + [(int(a), e, False) for a, e in others])
