"""What people note on one patch set beyond comments: the files each account marked
reviewed, and the patch set's description."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from keepgreen.store.schema import patch_set_descriptions, reviewed_files


def reviewed_paths(conn: Connection, number: int, patch_set: int, account_id: int) -> list[str]:
    rows = conn.execute(select(reviewed_files.c.path).where(
        reviewed_files.c.change_number == number, reviewed_files.c.patch_set == patch_set,
        reviewed_files.c.account_id == account_id).order_by(reviewed_files.c.path))
    return [r[0] for r in rows]


def mark_reviewed(conn: Connection, number: int, patch_set: int, account_id: int,
                  path: str) -> bool:
    """Mark ``path`` reviewed; False when it already was."""
    if path in reviewed_paths(conn, number, patch_set, account_id):
        return False
    conn.execute(insert(reviewed_files).values(change_number=number, patch_set=patch_set,
                                               account_id=account_id, path=path))
    return True


def unmark_reviewed(conn: Connection, number: int, patch_set: int, account_id: int,
                    path: str) -> None:
    conn.execute(delete(reviewed_files).where(
        reviewed_files.c.change_number == number, reviewed_files.c.patch_set == patch_set,
        reviewed_files.c.account_id == account_id, reviewed_files.c.path == path))


def description(conn: Connection, number: int, patch_set: int) -> str | None:
    return conn.execute(select(patch_set_descriptions.c.description).where(
        patch_set_descriptions.c.change_number == number,
        patch_set_descriptions.c.patch_set == patch_set)).scalar()


def set_description(conn: Connection, number: int, patch_set: int, text: str | None) -> None:
    """Store ``text`` as the description; None or an empty text removes it."""
    conn.execute(delete(patch_set_descriptions).where(
        patch_set_descriptions.c.change_number == number,
        patch_set_descriptions.c.patch_set == patch_set))
    if text:
        conn.execute(insert(patch_set_descriptions).values(
            change_number=number, patch_set=patch_set, description=text))
