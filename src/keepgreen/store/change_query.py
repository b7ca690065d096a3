"""Change queries: the query language's syntax tree compiled to SQL.

The caller's visibility is applied by the service; this module only answers "which
changes match" for one parsed query, newest update first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    text,
    true,
)

from keepgreen.domain import query as q
from keepgreen.domain.change import as_number
from keepgreen.store import accounts as account_store
from keepgreen.store.schema import (
    approvals,
    attention,
    change_people,
    changes,
    hashtags,
    patch_set_files,
    patch_sets,
    stars,
)

# Highest and lowest value of each label, for MAX and MIN.
LABEL_RANGES: dict[str, tuple[int, int]] = {
    "Code-Review": (-2, 2), "Verified": (-2, 2), "Workflow": (-1, 1)}


class UnsupportedQuery(ValueError):
    """The query is well-formed but uses an operator keepgreen does not answer."""


@dataclass(frozen=True)
class Asker:
    account_id: int | None
    now: datetime


def _status(value: str) -> ColumnElement[bool]:
    v = value.lower()
    if v in ("open", "pending", "new"):
        return changes.c.status == "NEW"
    if v == "merged":
        return changes.c.status == "MERGED"
    if v == "abandoned":
        return changes.c.status == "ABANDONED"
    if v == "closed":
        return changes.c.status.in_(("MERGED", "ABANDONED"))
    raise UnsupportedQuery(f"status:{value} is not one of open, merged, abandoned, closed")


class Compiler:
    def __init__(self, conn: Connection, asker: Asker) -> None:
        self.conn = conn
        self.asker = asker
        self.terms: dict[str, Callable[[str], ColumnElement[bool]]] = {
            "status": _status, "is": self._is, "project": self._project,
            "projects": lambda v: changes.c.project.startswith(v, autoescape=True),
            "branch": lambda v: changes.c.branch == v.removeprefix("refs/heads/"),
            "topic": lambda v: changes.c.topic == v, "change": self._change,
            "default": self._default, "commit": self._commit, "owner": self._owner,
            "reviewer": self._reviewer, "cc": self._cc, "label": self._label,
            "message": self._message, "age": self._age, "hashtag": self._hashtag,
            "limit": lambda v: true(), "intopic": lambda v: changes.c.topic.contains(v),
            "parentproject": self._project, "ownerin": lambda v: false(),
            "conflicts": self._conflicts, "file": self._file,
            "revertof": self._revert_of, "attention": self._attention,
        }

    def compile(self, node: q.Node) -> ColumnElement[bool]:
        if isinstance(node, q.Term):
            handler = self.terms.get(node.operator)
            if handler is None:
                raise UnsupportedQuery(f"the {node.operator}: operator is not supported")
            return handler(node.value)
        if isinstance(node, q.Not):
            return not_(self.compile(node.operand))
        if isinstance(node, q.And):
            return and_(*(self.compile(o) for o in node.operands))
        return or_(*(self.compile(o) for o in node.operands))

    def _account_id(self, key: str) -> int:
        if key == "self":
            if self.asker.account_id is None:
                raise UnsupportedQuery("'self' needs you to sign in")
            return self.asker.account_id
        account = account_store.find_account(self.conn, key)
        return account.id if account else -1

    def _is(self, value: str) -> ColumnElement[bool]:
        v = value.lower()
        if v in ("open", "merged", "abandoned", "closed", "pending", "new"):
            return _status(v)
        if v == "wip":
            return changes.c.wip.is_(True)
        if v == "private":
            return changes.c.private.is_(True)
        if v == "owner":
            return self._owner("self")
        if v == "reviewer":
            return self._reviewer("self")
        if v == "cc":
            return self._cc("self")
        if v == "true":
            return true()
        if v == "mergeable":
            # The kept answer of the last check; the query service re-checks stale ones
            # before a query with is:mergeable runs.
            return changes.c.mergeable.is_(True)
        if v == "starred":
            if self.asker.account_id is None:
                return false()
            return exists().where(stars.c.change_number == changes.c.number,
                                  stars.c.account_id == self.asker.account_id)
        if v in ("false", "watched", "ignored"):
            return false()
        raise UnsupportedQuery(f"is:{value} is not supported")

    def _attention(self, value: str) -> ColumnElement[bool]:
        return exists().where(attention.c.change_number == changes.c.number,
                              attention.c.account_id == self._account_id(value),
                              attention.c.in_set.is_(True))

    def _revert_of(self, value: str) -> ColumnElement[bool]:
        number = as_number(value) if value.isascii() and value.isdigit() else None
        if number is None:
            raise UnsupportedQuery(f"revertof:{value} needs a change number")
        return changes.c.revert_of == number

    def _project(self, value: str) -> ColumnElement[bool]:
        return changes.c.project == value

    def _change(self, value: str) -> ColumnElement[bool]:
        if value.isascii() and value.isdigit():
            number = as_number(value)
            return changes.c.number == number if number is not None else false()
        if value.startswith("I"):
            return changes.c.change_id.startswith(value, autoescape=True)
        if "~" in value:
            parts = value.split("~")
            if len(parts) == 2 and as_number(parts[1]) is not None:
                return and_(changes.c.project == parts[0], changes.c.number == int(parts[1]))
        return false()

    def _default(self, value: str) -> ColumnElement[bool]:
        if (value.isascii() and value.isdigit()) or (value.startswith("I") and len(value) > 6):
            return self._change(value)
        return or_(changes.c.subject.contains(value, autoescape=True),
                   changes.c.project == value, self._commit(value))

    def _commit(self, value: str) -> ColumnElement[bool]:
        if len(value) < 4 or any(c not in "0123456789abcdef" for c in value.lower()):
            return false()
        return exists().where(patch_sets.c.change_number == changes.c.number,
                              patch_sets.c.sha.startswith(value.lower()))

    def _owner(self, value: str) -> ColumnElement[bool]:
        return changes.c.owner_id == self._account_id(value)

    def _people(self, value: str, state: str) -> ColumnElement[bool]:
        account_id = self._account_id(value)
        return exists().where(change_people.c.change_number == changes.c.number,
                              change_people.c.account_id == account_id,
                              change_people.c.state == state)

    def _reviewer(self, value: str) -> ColumnElement[bool]:
        voted = exists().where(approvals.c.change_number == changes.c.number,
                               approvals.c.account_id == self._account_id(value))
        return or_(self._people(value, "REVIEWER"), voted)

    def _cc(self, value: str) -> ColumnElement[bool]:
        return self._people(value, "CC")

    def _label(self, value: str) -> ColumnElement[bool]:
        predicate = q.parse_label(value)
        lo, hi = LABEL_RANGES.get(predicate.name, (-2, 2))
        column = approvals.c.value
        conditions = [approvals.c.change_number == changes.c.number,
                      approvals.c.patch_set == changes.c.current_patch_set,
                      func.lower(approvals.c.label) == predicate.name.lower()]
        score = predicate.value
        if score == "ANY":
            conditions.append(column != 0)
        else:
            number = hi if score == "MAX" else lo if score == "MIN" else int(score)
            op = predicate.comparison
            conditions.append({"=": column == number, ">=": column >= number,
                               "<=": column <= number, ">": column > number,
                               "<": column < number}[op])
            if number == 0 and op == "=":
                # label:X=0 means nobody voted other than 0.
                return not_(exists().where(*conditions[:3], column != 0))
        if predicate.user:
            conditions.append(approvals.c.account_id == self._account_id(predicate.user))
        if predicate.group:
            raise UnsupportedQuery("label:...,group= is not supported yet")
        if predicate.count is not None:
            op, wanted = predicate.count
            voters = (select(func.count(func.distinct(approvals.c.account_id)))
                      .where(*conditions).scalar_subquery())
            return {"=": voters == wanted, ">=": voters >= wanted, "<=": voters <= wanted,
                    ">": voters > wanted, "<": voters < wanted}[op]
        return exists().where(*conditions)

    def _touches(self, path_condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists().where(patch_set_files.c.change_number == changes.c.number,
                              patch_set_files.c.patch_set == changes.c.current_patch_set,
                              path_condition)

    def _file(self, value: str) -> ColumnElement[bool]:
        if value.startswith("^"):
            raise UnsupportedQuery("file:^regex is not supported; give a path")
        return self._touches(patch_set_files.c.path == value)

    def _conflicts(self, value: str) -> ColumnElement[bool]:
        """Open changes on the same branch whose current patch set touches a file that
        change ``value``'s current patch set touches."""
        number = as_number(value)
        if number is None:
            raise UnsupportedQuery(f"conflicts:{value} needs a change number")
        other = changes.alias("other")
        theirs = patch_set_files.alias("theirs")
        their_paths = (select(theirs.c.path).join(
            other, (other.c.number == theirs.c.change_number)
            & (other.c.current_patch_set == theirs.c.patch_set))
            .where(other.c.number == number))
        same_branch = exists().where(other.c.number == number,
                                     other.c.project == changes.c.project,
                                     other.c.branch == changes.c.branch)
        return and_(changes.c.number != number, changes.c.status == "NEW", same_branch,
                    self._touches(patch_set_files.c.path.in_(their_paths)))

    def _message(self, value: str) -> ColumnElement[bool]:
        return exists().where(patch_sets.c.change_number == changes.c.number,
                              patch_sets.c.number == changes.c.current_patch_set,
                              patch_sets.c.message.contains(value, autoescape=True))

    def _age(self, value: str) -> ColumnElement[bool]:
        seconds = q.parse_age(value)
        if seconds >= (self.asker.now - datetime.min).total_seconds():
            return false()  # older than the calendar: nothing was updated that long ago
        return changes.c.updated <= self.asker.now - timedelta(seconds=seconds)

    def _hashtag(self, value: str) -> ColumnElement[bool]:
        return exists().where(hashtags.c.change_number == changes.c.number,
                              func.lower(hashtags.c.hashtag) == value.lower())


def top_level_limit(node: q.Node) -> int | None:
    """The ``limit:N`` of a query, when it applies to the whole query."""
    terms = node.operands if isinstance(node, q.And) else (node,)
    for term in terms:
        if isinstance(term, q.Term) and term.operator == "limit":
            if as_number(term.value) is None:
                raise UnsupportedQuery(f"limit:{term.value} must be a whole number")
            return int(term.value)
    return None


PLANNED_TERMS = 8


def _term_count(node: q.Node) -> int:
    if isinstance(node, q.Term):
        return 1
    if isinstance(node, q.Not):
        return _term_count(node.operand)
    return sum(_term_count(o) for o in node.operands)


def search(conn: Connection, node: q.Node, asker: Asker,
           visibility: ColumnElement[bool], limit: int, start: int) -> list[int]:
    """Numbers of matching changes, most recently updated first."""
    where = Compiler(conn, asker).compile(node)
    if conn.dialect.name == "postgresql" and _term_count(node) > PLANNED_TERMS:
        # Each term's EXISTS becomes a semi-join, and letting the planner reorder dozens of
        # them takes memory growing with their square (48 terms took 800 MB); written
        # order is as good for these one-table-plus-subqueries plans.
        conn.execute(text("SET LOCAL join_collapse_limit = 1"))
    stmt = (select(changes.c.number).where(where, visibility)
            .order_by(changes.c.updated.desc(), changes.c.number.desc())
            .limit(limit).offset(start))
    return [r[0] for r in conn.execute(stmt)]


def hidden_in_project(conn: Connection, project: str,
                      visibility: ColumnElement[bool]) -> list[int]:
    """Numbers of the changes of ``project`` that ``visibility`` leaves out."""
    stmt = select(changes.c.number).where(changes.c.project == project, not_(visibility))
    return sorted(r[0] for r in conn.execute(stmt))


def visibility(readable_projects: list[str], account_id: int | None,
               admin: bool, private_projects: list[str] | None = None) -> ColumnElement[bool]:
    """Which changes the caller may see: readable projects; private ones only if involved
    (owner, reviewer or CC) or in ``private_projects``, where the caller may read them all."""
    if admin:
        return true()
    readable = changes.c.project.in_(readable_projects)
    if account_id is None:
        return and_(readable, changes.c.private.is_(False))
    involved = or_(changes.c.owner_id == account_id,
                   exists().where(change_people.c.change_number == changes.c.number,
                                  change_people.c.account_id == account_id))
    if private_projects:
        involved = or_(involved, changes.c.project.in_(private_projects))
    return and_(readable, or_(changes.c.private.is_(False), involved))
