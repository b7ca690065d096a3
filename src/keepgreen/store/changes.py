"""Changes, patch sets, reviewers, hashtags, votes and messages in the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Row, delete, insert, select, update

from keepgreen.domain.change import Change, PatchSet, Person
from keepgreen.store.schema import (
    approvals,
    change_people,
    changes,
    hashtags,
    messages,
    patch_set_files,
    patch_sets,
)
from keepgreen.store.sql import among


def _change(row: Row, tags: Iterable[str] = ()) -> Change:  # type: ignore[type-arg]
    return Change(
        number=row.number, project=row.project, branch=row.branch, change_id=row.change_id,
        owner_id=row.owner_id, subject=row.subject, status=row.status,
        current_patch_set=row.current_patch_set, created=row.created, updated=row.updated,
        topic=row.topic, wip=row.wip, private=row.private, submitted=row.submitted,
        submitter_id=row.submitter_id, revert_of=row.revert_of,
        hashtags=tuple(sorted(tags)))


def _patch_set(row: Row) -> PatchSet:  # type: ignore[type-arg]
    return PatchSet(
        change_number=row.change_number, number=row.number, sha=row.sha,
        parents=tuple(row.parents), uploader_id=row.uploader_id, created=row.created,
        message=row.message,
        author=Person(row.author_name, row.author_email, row.author_date),
        committer=Person(row.committer_name, row.committer_email, row.committer_date),
        parent_change=row.parent_change, kind=row.kind)


def add_change(conn: Connection, *, project: str, branch: str, change_id: str, owner_id: int,
               subject: str, topic: str | None, wip: bool, private: bool,
               now: datetime, revert_of: int | None = None) -> int:
    result = conn.execute(insert(changes).values(
        project=project, branch=branch, change_id=change_id, owner_id=owner_id,
        subject=subject, status="NEW", topic=topic, wip=wip, private=private,
        current_patch_set=1, created=now, updated=now, revert_of=revert_of))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def add_patch_set(conn: Connection, ps: PatchSet, insertions: int = 0,
                  deletions: int = 0) -> None:
    conn.execute(insert(patch_sets).values(
        insertions=insertions, deletions=deletions,
        change_number=ps.change_number, number=ps.number, sha=ps.sha, parents=list(ps.parents),
        uploader_id=ps.uploader_id, created=ps.created, message=ps.message,
        author_name=ps.author.name, author_email=ps.author.email, author_date=ps.author.date,
        committer_name=ps.committer.name, committer_email=ps.committer.email,
        committer_date=ps.committer.date, parent_change=ps.parent_change, kind=ps.kind))


def update_change(conn: Connection, number: int, **values: object) -> None:
    conn.execute(update(changes).where(changes.c.number == number).values(**values))


def project_of_change(conn: Connection, number: int) -> str:
    return str(conn.execute(select(changes.c.project).where(changes.c.number == number))
               .scalar_one())


def change_by_number(conn: Connection, number: int) -> Change | None:
    found = changes_by_numbers(conn, [number])
    return found[0] if found else None


def changes_by_numbers(conn: Connection, numbers: list[int]) -> list[Change]:
    """The changes with these numbers, in the order given."""
    if not numbers:
        return []
    query = select(changes).where(among(conn, changes.c.number, numbers))
    rows = {r.number: r for r in conn.execute(query)}
    tags: dict[int, list[str]] = {}
    for n, tag in conn.execute(select(hashtags.c.change_number, hashtags.c.hashtag)
                               .where(among(conn, hashtags.c.change_number, numbers))):
        tags.setdefault(n, []).append(tag)
    return [_change(rows[n], tags.get(n, ())) for n in numbers if n in rows]


def numbers_by_change_id(conn: Connection, change_id: str, project: str | None = None,
                         branch: str | None = None) -> list[int]:
    query = select(changes.c.number).where(changes.c.change_id == change_id)
    if project is not None:
        query = query.where(changes.c.project == project)
    if branch is not None:
        query = query.where(changes.c.branch == branch)
    return [r[0] for r in conn.execute(query.order_by(changes.c.number))]


def known_on_branch(conn: Connection, project: str, branch: str,
                    change_ids: list[str]) -> list[tuple[Change, str]]:
    """Changes with these Change-Ids on project and branch, with their current commit."""
    if not change_ids:
        return []
    rows = conn.execute(
        select(changes, patch_sets.c.sha)
        .join(patch_sets, (patch_sets.c.change_number == changes.c.number)
              & (patch_sets.c.number == changes.c.current_patch_set))
        .where(changes.c.project == project, changes.c.branch == branch,
               among(conn, changes.c.change_id, change_ids))
        .order_by(changes.c.number))
    return [(_change(r), r.sha) for r in rows]


def has_open_changes(conn: Connection, project: str, branch: str) -> bool:
    found = conn.execute(select(changes.c.number).where(
        changes.c.project == project, changes.c.branch == branch,
        changes.c.status == "NEW").limit(1)).first()
    return found is not None


def patch_sets_with_shas(conn: Connection, project: str,
                         shas: list[str]) -> list[tuple[int, int, str, str]]:
    """(change, patch set, sha, status) for patch sets of ``project`` with these commits."""
    if not shas:
        return []
    rows = conn.execute(
        select(patch_sets.c.change_number, patch_sets.c.number, patch_sets.c.sha,
               changes.c.status)
        .join(changes, changes.c.number == patch_sets.c.change_number)
        .where(changes.c.project == project, among(conn, patch_sets.c.sha, shas)))
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def patch_sets_of(conn: Connection, numbers: list[int]) -> dict[int, list[PatchSet]]:
    result: dict[int, list[PatchSet]] = {n: [] for n in numbers}
    if not numbers:
        return result
    rows = conn.execute(select(patch_sets).where(among(conn, patch_sets.c.change_number, numbers))
                        .order_by(patch_sets.c.change_number, patch_sets.c.number))
    for row in rows:
        result[row.change_number].append(_patch_set(row))
    return result


def current_patch_sets(conn: Connection, numbers: list[int]) -> dict[int, list[PatchSet]]:
    """Only the current patch set of each change (a one-element list per change)."""
    result: dict[int, list[PatchSet]] = {n: [] for n in numbers}
    if not numbers:
        return result
    rows = conn.execute(
        select(patch_sets).join(changes, (changes.c.number == patch_sets.c.change_number)
                                & (changes.c.current_patch_set == patch_sets.c.number))
        .where(among(conn, changes.c.number, numbers)))
    for row in rows:
        result[row.change_number].append(_patch_set(row))
    return result


def set_person(conn: Connection, number: int, account_id: int, state: str) -> None:
    conn.execute(delete(change_people).where(change_people.c.change_number == number,
                                             change_people.c.account_id == account_id))
    conn.execute(insert(change_people).values(change_number=number, account_id=account_id,
                                              state=state))


def reviewed_by(conn: Connection, account_id: int, current: dict[int, int]) -> set[int]:
    """The changes (number -> current patch set) with a message by ``account_id`` on their
    current patch set: those the account has reviewed, as Gerrit's REVIEWED option says."""
    if not current:
        return set()
    rows = conn.execute(select(messages.c.change_number, messages.c.patch_set).where(
        messages.c.author_id == account_id,
        among(conn, messages.c.change_number, list(current))).distinct())
    return {r[0] for r in rows if current.get(r[0]) == r[1]}


def remove_person(conn: Connection, number: int, account_id: int) -> bool:
    gone = conn.execute(delete(change_people).where(change_people.c.change_number == number,
                                                    change_people.c.account_id == account_id))
    return bool(gone.rowcount)


def people_of(conn: Connection, numbers: list[int]) -> dict[int, list[tuple[int, str]]]:
    result: dict[int, list[tuple[int, str]]] = {n: [] for n in numbers}
    if numbers:
        for r in conn.execute(select(change_people)
                              .where(among(conn, change_people.c.change_number, numbers))):
            result[r.change_number].append((r.account_id, r.state))
    return result


def add_hashtags(conn: Connection, number: int, tags: Iterable[str]) -> None:
    existing = {r[0] for r in conn.execute(select(hashtags.c.hashtag)
                                           .where(hashtags.c.change_number == number))}
    for tag in sorted(set(tags) - existing):
        conn.execute(insert(hashtags).values(change_number=number, hashtag=tag))


def set_approval(conn: Connection, number: int, patch_set: int, label: str, account_id: int,
                 value: int, now: datetime, tag: str | None = None) -> int:
    """Record a vote; returns the previous value (0 when none)."""
    key = ((approvals.c.change_number == number) & (approvals.c.patch_set == patch_set)
           & (approvals.c.label == label) & (approvals.c.account_id == account_id))
    old = conn.execute(select(approvals.c.value).where(key)).scalar()
    conn.execute(delete(approvals).where(key))
    conn.execute(insert(approvals).values(change_number=number, patch_set=patch_set,
                                          label=label, account_id=account_id, value=value,
                                          granted=now, tag=tag))
    return int(old or 0)


def approvals_of(conn: Connection, numbers: list[int]) -> dict[int, list[Row]]:  # type: ignore[type-arg]
    result: dict[int, list[Row]] = {n: [] for n in numbers}  # type: ignore[type-arg]
    if numbers:
        query = select(approvals).where(among(conn, approvals.c.change_number, numbers))
        for r in conn.execute(query.order_by(approvals.c.granted)):
            result[r.change_number].append(r)
    return result


def add_message(conn: Connection, number: int, patch_set: int, author_id: int | None,
                text: str, now: datetime, tag: str | None = None) -> None:
    conn.execute(insert(messages).values(change_number=number, patch_set=patch_set,
                                         author_id=author_id, date=now, message=text, tag=tag))


def replace_message(conn: Connection, number: int, message_id: int, text: str) -> bool:
    """Overwrite the text of message ``message_id`` of change ``number``; False when the
    change has no such message."""
    result = conn.execute(update(messages).where(messages.c.id == message_id,
                                                 messages.c.change_number == number)
                          .values(message=text))
    return bool(result.rowcount)


def messages_of(conn: Connection, numbers: list[int]) -> dict[int, list[Row]]:  # type: ignore[type-arg]
    result: dict[int, list[Row]] = {n: [] for n in numbers}  # type: ignore[type-arg]
    if numbers:
        for r in conn.execute(select(messages).where(among(conn, messages.c.change_number, numbers))
                              .order_by(messages.c.id)):
            result[r.change_number].append(r)
    return result


def set_patch_set_files(conn: Connection, number: int, patch_set: int,
                        paths: Iterable[str]) -> None:
    rows = [{"change_number": number, "patch_set": patch_set, "path": p} for p in paths]
    if rows:
        conn.execute(insert(patch_set_files), rows)


def sizes_of(conn: Connection, numbers: list[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(insertions, deletions) per (change, patch set)."""
    if not numbers:
        return {}
    rows = conn.execute(select(patch_sets.c.change_number, patch_sets.c.number,
                               patch_sets.c.insertions, patch_sets.c.deletions)
                        .where(among(conn, patch_sets.c.change_number, numbers)))
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def remove_hashtags(conn: Connection, number: int, tags: Iterable[str]) -> None:
    conn.execute(delete(hashtags).where(hashtags.c.change_number == number,
                                        among(conn, hashtags.c.hashtag, list(tags))))


def remove_approval(conn: Connection, number: int, patch_set: int, label: str,
                    account_id: int) -> None:
    conn.execute(delete(approvals).where(
        approvals.c.change_number == number, approvals.c.patch_set == patch_set,
        approvals.c.label == label, approvals.c.account_id == account_id))


def remove_approvals(conn: Connection, number: int) -> None:
    """Drop every vote on every patch set of change ``number``."""
    conn.execute(delete(approvals).where(approvals.c.change_number == number))


def children_of(conn: Connection, project: str,
                shas: list[str]) -> list[tuple[Change, PatchSet]]:
    """Current patch sets (of changes in ``project``) whose first parent is one of ``shas``."""
    rows = conn.execute(
        select(patch_sets).join(changes, (changes.c.number == patch_sets.c.change_number)
                                & (changes.c.current_patch_set == patch_sets.c.number))
        .where(changes.c.project == project, changes.c.status == "NEW"))
    wanted = set(shas)
    found = [_patch_set(r) for r in rows if r.parents and r.parents[0] in wanted]
    by_number = {c.number: c for c in changes_by_numbers(conn, [ps.change_number
                                                                for ps in found])}
    return [(by_number[ps.change_number], ps) for ps in found]


def open_mergeability(conn: Connection) -> list[tuple[int, str, str, int, str | None]]:
    """Every open change with its branch, current patch set and last mergeability key."""
    rows = conn.execute(
        select(changes.c.number, changes.c.project, changes.c.branch,
               changes.c.current_patch_set, changes.c.mergeable_key)
        .where(changes.c.status == "NEW").order_by(changes.c.number))
    return [(r.number, r.project, r.branch, r.current_patch_set, r.mergeable_key)
            for r in rows]


def delete_change(conn: Connection, number: int) -> None:
    """Remove change ``number``; its patch sets, votes, messages, comments and the rest go
    with it (their rows reference the change with ON DELETE CASCADE)."""
    conn.execute(delete(changes).where(changes.c.number == number))


def open_changes_with_topic(conn: Connection, topic: str) -> list[Change]:
    """The open changes of ``topic``, in every project and branch, oldest first."""
    rows = conn.execute(select(changes).where(changes.c.topic == topic,
                                              changes.c.status == "NEW")
                        .order_by(changes.c.number))
    return [_change(r) for r in rows]
