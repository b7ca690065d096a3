"""Rows of change lists (dashboard and search): each change with its owner, status, latest
CI result and its votes at a glance, loaded in bulk for the whole list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from keepgreen.domain.change import Change
from keepgreen.domain.labels import DEFAULT_LABELS
from keepgreen.store.schema import buildsets

LABEL_NAMES = tuple(label.name for label in DEFAULT_LABELS)


@dataclass(frozen=True)
class ChangeRow:
    change: Change
    owner: str
    # Per label the vote that matters most: the lowest if anyone objects, else the highest.
    votes: dict[str, int]
    ci: str | None  # result of the latest buildset ("RUNNING" while it has none)
    ci_pipeline: str | None

    @property
    def status(self) -> str:
        if self.change.is_open and self.change.wip:
            return "WIP"
        return self.change.status


def summarize_votes(values: dict[str, list[int]]) -> dict[str, int]:
    """Gerrit's "at a glance" vote: the lowest when negative, otherwise the highest."""
    summary = {}
    for label, given in values.items():
        lowest, highest = min(given), max(given)
        summary[label] = lowest if lowest < 0 else highest
    return summary


def rows(services: Any, changes: list[Change]) -> list[ChangeRow]:
    """The list rows for ``changes`` (already filtered for visibility by the query)."""
    if not changes:
        return []
    details = services.changes.details(changes, messages=False, patch_sets="current")
    numbers = [c.number for c in changes]
    with services.db.read() as conn:
        found = conn.execute(select(buildsets.c.change_number, buildsets.c.result,
                                    buildsets.c.pipeline)
                             .where(buildsets.c.change_number.in_(numbers))
                             .order_by(buildsets.c.started)).all()
    latest = {r.change_number: (r.result or "RUNNING", r.pipeline) for r in found}
    result = []
    for d in details:
        change = d.change
        given: dict[str, list[int]] = {}
        for vote in d.approvals:
            if vote.patch_set == change.current_patch_set and vote.value:
                given.setdefault(vote.label, []).append(vote.value)
        owner = d.accounts.get(change.owner_id)
        ci, pipeline = latest.get(change.number, (None, None))
        result.append(ChangeRow(change, owner.name if owner else f"#{change.owner_id}",
                                summarize_votes(given), ci, pipeline))
    return result
