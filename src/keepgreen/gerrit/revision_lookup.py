"""Finding the change and patch set a ``/changes/{id}/revisions/{revision}`` call names,
with the caller's visibility applied: a change they may not see is not found."""

from __future__ import annotations

from keepgreen.domain.change import Change, PatchSet
from keepgreen.gerrit.changes_api import KNOWN_OPTIONS
from keepgreen.gerrit.http import Call
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.changes import ChangeDetails
from keepgreen.services.review.revision_notes import RevisionNotes


def revision_of(call: Call, change: str, revision: str) -> tuple[Change, ChangeDetails,
                                                                 PatchSet]:
    found = call.services.changes.resolve(change, call.who)
    details = call.services.changes.details([found], messages=False)[0]
    return found, details, call.services.changes.patch_set(details, revision)


def options_of(call: Call) -> set[str]:
    """The ``o=`` options; an unknown one is a 400, as for the change endpoints."""
    opts = set()
    for value in call.query_all("o"):
        if value.upper() not in KNOWN_OPTIONS:
            raise BadRequest(f'"{value}" is not a valid value for "-o"')
        opts.add(value.upper())
    return opts


def notes(call: Call) -> RevisionNotes:
    found: RevisionNotes = call.services.revision_notes
    return found


def is_current(change: Change, ps: PatchSet) -> bool:
    return ps.number == change.current_patch_set
