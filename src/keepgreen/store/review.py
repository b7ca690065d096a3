"""Review state beyond votes: comments and drafts, stars, message edits, access rules and
submissions in flight."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update

from keepgreen.domain.acl import Rule
from keepgreen.store.schema import access_rules, change_edits, comments, stars, submissions
from keepgreen.store.sql import among


# -- comments --------------------------------------------------------------------------
def add_comment(conn: Connection, **values: Any) -> None:
    conn.execute(insert(comments).values(**values))


def comments_of(conn: Connection, number: int, drafts_of: int | None = None,
                patch_set: int | None = None) -> list[Row]:  # type: ignore[type-arg]
    """Published comments, or the drafts of account ``drafts_of``."""
    query = select(comments).where(comments.c.change_number == number)
    if drafts_of is None:
        query = query.where(comments.c.draft.is_(False))
    else:
        query = query.where(comments.c.draft.is_(True), comments.c.author_id == drafts_of)
    if patch_set is not None:
        query = query.where(comments.c.patch_set == patch_set)
    return list(conn.execute(query.order_by(comments.c.path, comments.c.line,
                                            comments.c.updated)))


def comment_by_id(conn: Connection, comment_id: str) -> Row | None:  # type: ignore[type-arg]
    return conn.execute(select(comments).where(comments.c.id == comment_id)).first()


def publish_drafts(conn: Connection, number: int, account_id: int, patch_set: int | None,
                   now: datetime) -> int:
    query = update(comments).where(comments.c.change_number == number,
                                   comments.c.author_id == account_id,
                                   comments.c.draft.is_(True))
    if patch_set is not None:
        query = query.where(comments.c.patch_set == patch_set)
    return int(conn.execute(query.values(draft=False, updated=now)).rowcount)


def delete_comment(conn: Connection, comment_id: str) -> None:
    conn.execute(delete(comments).where(comments.c.id == comment_id))


def update_comment(conn: Connection, comment_id: str, **values: Any) -> None:
    conn.execute(update(comments).where(comments.c.id == comment_id).values(**values))


def comment_counts(conn: Connection, numbers: list[int]) -> dict[int, tuple[int, int]]:
    """(published comments, unresolved threads) per change.

    A thread is a comment and its replies; it is unresolved when its latest comment is.
    """
    if not numbers:
        return {}
    rows = conn.execute(
        select(comments.c.change_number, comments.c.id, comments.c.in_reply_to,
               comments.c.unresolved, comments.c.updated)
        .where(among(conn, comments.c.change_number, numbers), comments.c.draft.is_(False))
        .order_by(comments.c.updated))
    parent: dict[str, str | None] = {}
    by_change: dict[int, list[Any]] = {}
    for row in rows:
        parent[row.id] = row.in_reply_to
        by_change.setdefault(row.change_number, []).append(row)

    def root(comment_id: str) -> str:
        seen = set()
        while parent.get(comment_id) and comment_id not in seen:
            seen.add(comment_id)
            comment_id = parent[comment_id] or comment_id
        return comment_id

    result = {}
    for number, items in by_change.items():
        latest: dict[str, bool] = {}
        for row in items:  # ordered by time: the last one per thread wins
            latest[root(row.id)] = bool(row.unresolved)
        result[number] = (len(items), sum(latest.values()))
    return result


# -- stars -----------------------------------------------------------------------------
def set_star(conn: Connection, account_id: int, number: int, starred: bool) -> None:
    conn.execute(delete(stars).where(stars.c.account_id == account_id,
                                     stars.c.change_number == number))
    if starred:
        conn.execute(insert(stars).values(account_id=account_id, change_number=number))


def starred(conn: Connection, account_id: int, numbers: list[int]) -> set[int]:
    if not numbers:
        return set()
    rows = conn.execute(select(stars.c.change_number).where(
        stars.c.account_id == account_id, among(conn, stars.c.change_number, numbers)))
    return {r[0] for r in rows}


# -- commit message edits ----------------------------------------------------------------
def set_edit(conn: Connection, number: int, account_id: int, base: int, message: str,
             now: datetime) -> None:
    conn.execute(delete(change_edits).where(change_edits.c.change_number == number,
                                            change_edits.c.account_id == account_id))
    conn.execute(insert(change_edits).values(change_number=number, account_id=account_id,
                                             base_patch_set=base, message=message,
                                             updated=now))


def get_edit(conn: Connection, number: int, account_id: int) -> Row | None:  # type: ignore[type-arg]
    return conn.execute(select(change_edits).where(
        change_edits.c.change_number == number,
        change_edits.c.account_id == account_id)).first()


def drop_edit(conn: Connection, number: int, account_id: int) -> None:
    conn.execute(delete(change_edits).where(change_edits.c.change_number == number,
                                            change_edits.c.account_id == account_id))


def submitted_with(conn: Connection, project: str, number: int) -> list[int]:
    """The changes merged by the same submit as change ``number`` of ``project`` (itself
    included, in the order they were merged); empty when no finished submission holds it."""
    done = submissions.c.state == "DONE"
    mine = next((row for row in conn.execute(
        select(submissions).where(done, submissions.c.project == project)
        .order_by(submissions.c.id.desc()))
        if any(step.get("change") == number for step in row.plan or [])), None)
    if mine is None:
        return []
    together: list[int] = []
    for row in conn.execute(select(submissions).where(
            done, submissions.c.created == mine.created,
            submissions.c.submitter_id == mine.submitter_id).order_by(submissions.c.id)):
        together += [step["change"] for step in row.plan or []
                     if step.get("change") not in together]
    return together


# -- access rules ----------------------------------------------------------------------
def rules_of(conn: Connection, project: str) -> list[Rule]:
    rows = conn.execute(select(access_rules).where(access_rules.c.project == project)
                        .order_by(access_rules.c.id))
    return [Rule(r.ref, r.permission, r.group_name, r.min_value, r.max_value, r.action)
            for r in rows]


def rules_of_many(conn: Connection, projects: list[str]) -> dict[str, list[Rule]]:
    result: dict[str, list[Rule]] = {}
    if not projects:
        return result
    rows = conn.execute(select(access_rules).where(access_rules.c.project.in_(projects))
                        .order_by(access_rules.c.id))
    for r in rows:
        result.setdefault(r.project, []).append(
            Rule(r.ref, r.permission, r.group_name, r.min_value, r.max_value, r.action))
    return result


def all_rules(conn: Connection) -> dict[str, list[Rule]]:
    result: dict[str, list[Rule]] = {}
    for r in conn.execute(select(access_rules).order_by(access_rules.c.id)):
        result.setdefault(r.project, []).append(
            Rule(r.ref, r.permission, r.group_name, r.min_value, r.max_value, r.action))
    return result


def add_rule(conn: Connection, project: str, rule: Rule) -> None:
    conn.execute(insert(access_rules).values(
        project=project, ref=rule.ref, permission=rule.permission, group_name=rule.group,
        min_value=rule.min_value, max_value=rule.max_value, action=rule.action))


def remove_rules(conn: Connection, project: str, ref: str,
                 permission: str | None = None, group: str | None = None) -> None:
    query = delete(access_rules).where(access_rules.c.project == project,
                                       access_rules.c.ref == ref)
    if permission is not None:
        query = query.where(access_rules.c.permission == permission)
    if group is not None:
        query = query.where(access_rules.c.group_name == group)
    conn.execute(query)


# -- submissions -----------------------------------------------------------------------
def start_submission(conn: Connection, project: str, branch: str, old: str, new: str,
                     plan: list[dict[str, Any]], submitter_id: int, now: datetime) -> int:
    result = conn.execute(insert(submissions).values(
        project=project, branch=branch, old_sha=old, new_sha=new, plan=plan,
        submitter_id=submitter_id, state="PENDING", created=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def finish_submission(conn: Connection, submission_id: int, state: str) -> None:
    conn.execute(update(submissions).where(submissions.c.id == submission_id)
                 .values(state=state))


def pending_submissions(conn: Connection) -> list[Row]:  # type: ignore[type-arg]
    return list(conn.execute(select(submissions).where(submissions.c.state == "PENDING")
                             .order_by(submissions.c.id)))
