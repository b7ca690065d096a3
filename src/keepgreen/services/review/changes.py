"""Finding and reading changes, with the caller's visibility applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Row

from keepgreen.domain import acl
from keepgreen.domain import query as q
from keepgreen.domain.account import Account, Principal
from keepgreen.domain.change import Change, PatchSet, as_number
from keepgreen.domain.changeid import is_change_id
from keepgreen.services.errors import BadRequest, HiddenFromAnonymous, NotFound
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import change_query
from keepgreen.store import changes as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

MAX_RESULTS = 500


@dataclass
class ChangeDetails:
    """A change and what its JSON needs, loaded in bulk for many changes at once."""

    change: Change
    patch_sets: list[PatchSet]
    approvals: list[Row]  # type: ignore[type-arg]
    messages: list[Row]  # type: ignore[type-arg]
    people: list[tuple[int, str]]
    accounts: dict[int, Account] = field(default_factory=dict)

    @property
    def current(self) -> PatchSet:
        return next(ps for ps in self.patch_sets if ps.number == self.change.current_patch_set)


class ChangeService:
    def __init__(self, db: Database, projects: ProjectService) -> None:
        self.db = db
        self.projects = projects
        # Re-checks open changes whose mergeability is stale (set by the composition root,
        # which owns the git side); a query with is:mergeable runs it first.
        self.refresh_mergeable: Callable[[], object] | None = None

    def _visibility(self, who: Principal):  # type: ignore[no-untyped-def]
        readable, private = self.projects.change_readers(who)
        account_id = who.account.id if who.account else None
        return change_query.visibility(readable, account_id, who.is_admin, private)

    def resolve(self, identifier: str, who: Principal) -> Change:
        """A change by number, ``project~number``, ``project~branch~Change-Id`` or Change-Id."""
        with self.db.read() as conn:
            numbers: list[int] = []
            parts = identifier.split("~")
            if as_number(identifier) is not None:
                numbers = [int(identifier)]
            elif len(parts) == 2 and as_number(parts[1]) is not None:
                change = store.change_by_number(conn, int(parts[1]))
                numbers = [change.number] if change and change.project == parts[0] else []
            elif len(parts) == 3:
                numbers = store.numbers_by_change_id(conn, parts[2], parts[0],
                                                     parts[1].removeprefix("refs/heads/"))
            elif is_change_id(identifier):
                numbers = store.numbers_by_change_id(conn, identifier)
            found = store.changes_by_numbers(conn, numbers)
        visible = [c for c in found if self.can_see(c, who)]
        if len(visible) > 1:
            raise BadRequest(f"{identifier} matches several changes; use project~number")
        if not visible:
            if found and who.is_anonymous:
                raise HiddenFromAnonymous(f"change {identifier} needs you to sign in",
                                          f"change {identifier} not found")
            raise NotFound(f"change {identifier} not found")
        return visible[0]

    def hidden_numbers(self, project: str, who: Principal) -> list[int]:
        """The changes of ``project`` that ``who`` may not see (none for administrators)."""
        if who.is_admin:
            return []
        with self.db.read() as conn:
            return change_query.hidden_in_project(conn, project, self._visibility(who))

    def can_see(self, change: Change, who: Principal) -> bool:
        if who.is_admin:
            return True
        project = self.projects.exists(change.project)
        if project is None or project.state == "HIDDEN":
            return False
        rules = self.projects.rules(project)
        if not acl.check(rules, who, acl.READ, "refs/heads/*"):
            return False
        with self.db.read() as conn:
            return self.may_see_private(conn, change, who, rules)

    @staticmethod
    def may_see_private(conn: Connection, change: Change, who: Principal,
                        rules: list[acl.Rule]) -> bool:
        """Whether ``who``, who may read the project, may see ``change`` if it is private:
        its owner, its reviewers and CCs, and holders of ``viewPrivateChanges``."""
        if not change.private or who.is_admin:
            return True
        if who.account is None:
            return False
        if change.owner_id == who.account.id or acl.check(rules, who, acl.VIEW_PRIVATE,
                                                          "refs/heads/*"):
            return True
        people = store.people_of(conn, [change.number])[change.number]
        return any(account_id == who.account.id for account_id, _ in people)

    def query(self, text: str, who: Principal, limit: int | None,
              start: int) -> tuple[list[Change], bool]:
        """Changes matching ``text``, and whether more follow after this page."""
        try:
            node = q.parse(text)
            query_limit = change_query.top_level_limit(node)
        except (q.QuerySyntaxError, change_query.UnsupportedQuery) as exc:
            raise BadRequest(f"query {text!r}: {exc}") from None
        wanted = min(x for x in (limit, query_limit, MAX_RESULTS) if x is not None)
        if self.refresh_mergeable is not None and "mergeable" in text.lower():
            self.refresh_mergeable()
        asker = change_query.Asker(who.account.id if who.account else None, utcnow())
        with self.db.read() as conn:
            try:
                numbers = change_query.search(conn, node, asker, self._visibility(who),
                                              wanted + 1, start)
            except (q.QuerySyntaxError, change_query.UnsupportedQuery) as exc:
                raise BadRequest(f"query {text!r}: {exc}") from None
            more = len(numbers) > wanted
            return store.changes_by_numbers(conn, numbers[:wanted]), more

    def matches(self, change: Change, nodes: list[q.Node], who: Principal) -> list[bool]:
        """For each query tree, whether ``change`` matches it as ``who`` sees it; a term
        the store cannot search is a BadRequest naming it."""
        if self.refresh_mergeable is not None and any(
                "mergeable" in q.to_text(node).lower() for node in nodes):
            self.refresh_mergeable()
        asker = change_query.Asker(who.account.id if who.account else None, utcnow())
        only = q.Term("change", str(change.number))
        found, visible = [], self._visibility(who)
        with self.db.read() as conn:
            for node in nodes:
                rest = node.operands if isinstance(node, q.And) else (node,)
                try:
                    numbers = change_query.search(conn, q.And((only, *rest)), asker,
                                                  visible, 1, 0)
                except (q.QuerySyntaxError, change_query.UnsupportedQuery) as exc:
                    raise BadRequest(f"invalid query expression: {exc}") from None
                found.append(change.number in numbers)
        return found

    def details(self, changes: list[Change], messages: bool = True,
                patch_sets: bool | str = True, votes: bool = True) -> list[ChangeDetails]:
        """Load what rendering needs; leave out what the caller will not show, since a page
        of 500 changes pays for every extra query and row."""
        numbers = [c.number for c in changes]
        empty: dict[int, list[Any]] = {n: [] for n in numbers}
        with self.db.read() as conn:
            if patch_sets == "current":
                sets = store.current_patch_sets(conn, numbers)
            else:
                sets = store.patch_sets_of(conn, numbers) if patch_sets else empty
            approvals = store.approvals_of(conn, numbers) if votes else empty
            notes = store.messages_of(conn, numbers) if messages else empty
            people = store.people_of(conn, numbers) if votes else empty
            ids = {c.owner_id for c in changes} | {c.submitter_id for c in changes
                                                   if c.submitter_id}
            for n in numbers:
                ids |= {ps.uploader_id for ps in sets[n]}
                ids |= {v.account_id for v in approvals[n]}
                ids |= {m.author_id for m in notes[n] if m.author_id}
                ids |= {a for a, _ in people[n]}
            accounts = account_store.accounts_by_ids(conn, ids)
        return [ChangeDetails(c, sets[c.number], approvals[c.number], notes[c.number],
                              people[c.number], accounts) for c in changes]

    def patch_set(self, details: ChangeDetails, revision: str) -> PatchSet:
        """A patch set by ``current``, its number, or (a prefix of) its commit."""
        if revision == "current":
            return details.current
        for ps in details.patch_sets:
            if (as_number(revision) == ps.number and len(revision) < 6) or (
                    len(revision) >= 4 and ps.sha.startswith(revision)):
                return ps
        raise NotFound(f"revision {revision} not found on change {details.change.number}")

    def related(self, change: Change, who: Principal) -> list[dict[str, object]]:
        """The relation chain around ``change``: descendants first, then itself, then its
        open ancestors, as Gerrit's ``related`` lists them. Empty when it stands alone."""
        with self.db.read() as conn:
            current = {ps.number: ps for ps in store.patch_sets_of(conn, [change.number])
                       [change.number]}[change.current_patch_set]
            chain = [(change, current)]
            seen = {change.number}
            cursor = current
            while cursor.parents:  # ancestors that are still patch sets of open changes
                holders = [h for h in store.patch_sets_with_shas(conn, change.project,
                                                                 [cursor.parents[0]])
                           if h[3] == "NEW" and h[0] not in seen]
                if not holders:
                    break
                parent = store.change_by_number(conn, holders[0][0])
                assert parent is not None
                cursor = next(ps for ps in store.patch_sets_of(conn, [parent.number])
                              [parent.number] if ps.number == holders[0][1])
                chain.append((parent, cursor))
                seen.add(parent.number)
            frontier = [current.sha]
            while frontier:  # descendants: open changes whose current patch set builds on us
                children = store.children_of(conn, change.project, frontier)
                frontier = []
                for child, ps in children:
                    if child.number not in seen and child.status == "NEW":
                        chain.insert(0, (child, ps))
                        seen.add(child.number)
                        frontier.append(ps.sha)
        visible = [(c, ps) for c, ps in chain if self.can_see(c, who)]
        if len(visible) < 2:
            return []
        return [{"project": c.project, "change_id": c.change_id, "_change_number": c.number,
                 "_revision_number": ps.number, "_current_revision_number": c.current_patch_set,
                 "status": c.status,
                 "commit": {"commit": ps.sha, "parents": [{"commit": p} for p in ps.parents],
                            "author": {"name": ps.author.name, "email": ps.author.email},
                            "subject": c.subject}}
                for c, ps in visible]

    def dependencies(self, change: Change, who: Principal) -> tuple[
            list[tuple[Change, PatchSet, bool]], list[tuple[Change, PatchSet, bool]]]:
        """The patch sets the current patch set of ``change`` builds on, and the open
        changes building on it, as (change, patch set, whether it is that change's current
        patch set); only changes ``who`` may see."""
        with self.db.read() as conn:
            current = {ps.number: ps for ps in store.patch_sets_of(conn, [change.number])
                       [change.number]}[change.current_patch_set]
            holders = store.patch_sets_with_shas(conn, change.project, list(current.parents))
            parents = store.changes_by_numbers(conn, sorted({h[0] for h in holders}))
            sets = store.patch_sets_of(conn, [c.number for c in parents])
            depends = [(c, ps, ps.number == c.current_patch_set) for c in parents
                       for ps in sets[c.number] if ps.sha in current.parents]
            needed = [(c, ps, True) for c, ps in store.children_of(conn, change.project,
                                                                   [current.sha])]
        return ([d for d in depends if self.can_see(d[0], who)],
                [n for n in needed if self.can_see(n[0], who)])
