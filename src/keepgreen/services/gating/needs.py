"""The changes a change needs, as the gate core's ``Enqueue`` event carries them.

A change needs (Zuul's dependency graph, without cycles):

* its **git parent**: the first parent of its current patch set, when that commit is the
  current patch set of another open change on the same project and branch;
* every change its ``Depends-On:`` footers name (``keepgreen.domain.depends``): by URL or
  number, or by Change-Id on any project and branch (every match is needed; abandoned matches
  are left out while another match exists).

``NeedsService.enqueue`` builds the event: the change's ``ChangeRef`` with ``needs`` filled,
and in ``related`` every change it needs, transitively, plus the open changes that need it
(git children and ``Depends-On`` dependents, transitively), each with its own needs and its
approval for the pipeline (its ``require`` section and, where it submits, Gerrit's submit
requirements; see ``services.triggering``), so the core can enqueue needed changes ahead,
pull approved dependents in behind, or refuse with a reason.
Merged needed changes are passed as merged (satisfied). A change that needs an abandoned
change, or an outdated patch set of an open one, cannot be enqueued at all:
``NotEnqueueable`` says why.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from keepgreen import gating
from keepgreen.domain.change import ABANDONED, MERGED, NEW, Change, PatchSet
from keepgreen.domain.depends import depends_on, junk
from keepgreen.services.review.submit import SubmitService
from keepgreen.store import changes as change_store
from keepgreen.store.schema import changes as changes_table
from keepgreen.store.schema import patch_sets as patch_sets_table

log = logging.getLogger(__name__)

# How many changes one event may carry; Zuul's tenant max-dependencies plays this role.
MAX_RELATED = 100


class NotEnqueueable(Exception):
    """The change needs something that can never be enqueued; the message says what."""


@dataclass
class _Node:
    change: Change
    patch_set: PatchSet | None
    needs: list[int] = field(default_factory=list)
    problem: str | None = None


class NeedsService:
    """``approved`` is the pipeline's verdict on a change (whether it could be enqueued
    there on its own), used for every related change."""

    def __init__(self, submit: SubmitService, approved: Callable[[Change], bool]) -> None:
        self.db = submit.db
        self._approved = approved

    # -- the event ------------------------------------------------------------------------

    def enqueue(self, pipeline: str, change: Change, *, approved: bool,
                evaluate: bool = True) -> gating.Enqueue:
        """The Enqueue event for the current patch set of ``change``. ``approved`` is the
        change's own verdict; ``evaluate`` False leaves the related changes unapproved (the
        check pipeline has no approvals). Raises NotEnqueueable."""
        with self.db.read() as conn:
            nodes = self._graph(conn, change)
        root = nodes[change.number]
        problem = self._blocking_problem(nodes, change.number)
        if problem is not None:
            raise NotEnqueueable(problem)
        related = []
        for number, node in nodes.items():
            if number == change.number:
                continue
            ok = (evaluate and node.change.status == NEW
                  and self._blocking_problem(nodes, number) is None
                  and self._approved(node.change))
            related.append(self._ref(node, ok))
        return gating.Enqueue(pipeline, self._ref(root, approved), tuple(related))

    @staticmethod
    def _ref(node: _Node, approved: bool) -> gating.ChangeRef:
        change = node.change
        return gating.ChangeRef(change.number, change.current_patch_set, change.project,
                                change.branch, needs=tuple(node.needs), approved=approved,
                                merged=change.status == MERGED)

    @staticmethod
    def _blocking_problem(nodes: dict[int, _Node], start: int) -> str | None:
        """The first problem of ``start`` or of anything it needs, transitively."""
        seen: set[int] = set()
        todo = deque([start])
        while todo:
            number = todo.popleft()
            if number in seen or number not in nodes:
                continue
            seen.add(number)
            node = nodes[number]
            if node.problem is not None:
                return node.problem
            todo.extend(node.needs)
        return None

    # -- the graph ------------------------------------------------------------------------

    def _graph(self, conn: Connection, change: Change) -> dict[int, _Node]:
        """``change``, what it needs (transitively), and what needs it (transitively), each
        with what it needs."""
        nodes: dict[int, _Node] = {}
        todo: deque[tuple[Change, bool]] = deque([(change, True)])
        while todo and len(nodes) < MAX_RELATED:
            current, follow_dependents = todo.popleft()
            if current.number in nodes:
                continue
            node = self._node(conn, current)
            nodes[current.number] = node
            if current.status != NEW:
                continue  # merged: satisfied; abandoned: a problem of whoever needs it
            for needed in change_store.changes_by_numbers(conn, node.needs):
                todo.append((needed, False))
            if follow_dependents and node.patch_set is not None:
                for dependent in self._dependents(conn, current, node.patch_set):
                    todo.append((dependent, True))
        if todo:
            log.warning("change %s: more than %s related changes; the rest are left out",
                        change.number, MAX_RELATED)
        # A needed change left out by the limit cannot be planned; the core says so.
        return nodes

    def _node(self, conn: Connection, change: Change) -> _Node:
        current = change_store.current_patch_sets(conn, [change.number])[change.number]
        node = _Node(change, current[0] if current else None)
        if change.status != NEW or node.patch_set is None:
            return node
        ps = node.patch_set
        key = f"{change.number},{ps.number}"
        if ps.parents:
            self._git_parent(conn, change, ps.parents[0], node, key)
        for wanted in depends_on(ps.message):
            if wanted.change_id is not None:
                found = change_store.changes_by_numbers(
                    conn, change_store.numbers_by_change_id(conn, wanted.change_id))
                if any(c.status != ABANDONED for c in found):
                    found = [c for c in found if c.status != ABANDONED]
            else:
                assert wanted.number is not None
                found = change_store.changes_by_numbers(conn, [wanted.number])
                if found and wanted.project and found[0].project != wanted.project:
                    log.info("change %s: Depends-On %s names project %s, but change %s is "
                             "in %s; using the change", key, wanted.text, wanted.project,
                             wanted.number, found[0].project)
            if not found:
                log.info("change %s: Depends-On %s names no known change; ignored", key,
                         wanted.text)
            for needed in found:
                if needed.number == change.number:
                    continue
                if needed.status == ABANDONED and node.problem is None:
                    node.problem = (f"change {key} depends on change {needed.number}, which "
                                    f"is abandoned; restore it or remove the Depends-On footer")
                if needed.number not in node.needs:
                    node.needs.append(needed.number)
        for value in junk(ps.message):
            log.info("change %s: Depends-On %r names no change; ignored", key, value)
        return node

    def _git_parent(self, conn: Connection, change: Change, parent: str, node: _Node,
                    key: str) -> None:
        holders = change_store.patch_sets_with_shas(conn, change.project, [parent])
        if not holders:
            return
        on_branch = {c.number: c for c in change_store.changes_by_numbers(
            conn, sorted({h[0] for h in holders})) if c.branch == change.branch
            and c.number != change.number}
        holders = [h for h in holders if h[0] in on_branch]
        current = [h for h in holders if h[3] == NEW
                   and h[1] == on_branch[h[0]].current_patch_set]
        if current:
            node.needs.insert(0, current[0][0])
        elif any(h[3] == MERGED for h in holders):
            return  # the parent landed: nothing to wait for
        elif any(h[3] == NEW for h in holders):
            number, ps_number = next((h[0], h[1]) for h in holders if h[3] == NEW)
            node.problem = (f"change {key} is based on outdated patch set {ps_number} of "
                            f"change {number}; rebase it onto the current patch set")
        elif holders:
            node.problem = (f"change {key} is based on change {holders[0][0]}, which is "
                            f"abandoned; rebase it onto the branch")

    def _dependents(self, conn: Connection, change: Change, ps: PatchSet) -> list[Change]:
        """Open changes whose current patch set needs ``change``: git children on the same
        branch, and ``Depends-On`` footers naming it by number or Change-Id."""
        found = [c for c, _ in change_store.children_of(conn, change.project, [ps.sha])
                 if c.branch == change.branch and c.number != change.number]
        rows = conn.execute(
            select(patch_sets_table.c.change_number, patch_sets_table.c.message)
            .join(changes_table,
                  (changes_table.c.number == patch_sets_table.c.change_number)
                  & (changes_table.c.current_patch_set == patch_sets_table.c.number))
            .where(changes_table.c.status == NEW,
                   func.lower(patch_sets_table.c.message).contains("depends-on")))
        numbers = []
        for number, message in rows:
            if number == change.number:
                continue
            for wanted in depends_on(message):
                if wanted.number == change.number or wanted.change_id == change.change_id:
                    numbers.append(number)
                    break
        known = {c.number for c in found}
        found += [c for c in change_store.changes_by_numbers(conn, numbers)
                  if c.number not in known]
        return found
