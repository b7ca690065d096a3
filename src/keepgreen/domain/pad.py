"""Pads as plain values: what a pad is linked to, what its title may be, which changes its
text mentions, and how its edits read as history. Standard library only; the shared text
itself is a CRDT document kept by ``services.pads``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_TITLE = 200
MAX_MENTIONS = 50
# One websocket message, and everything a pad may hold, in bytes of CRDT updates.
MAX_MESSAGE_BYTES = 256 * 1024
MAX_PAD_BYTES = 8 * 1024 * 1024
# Edits by one author less than this far apart read as one entry of the history.
HISTORY_GAP = timedelta(minutes=5)

# "Change 123", "change #123", and links to a change page: /c/123 or /c/project/+/123.
_CHANGE_WORD = re.compile(r"\bchange\s+#?(\d{1,9})\b", re.IGNORECASE)
_CHANGE_LINK = re.compile(r"/c/(?:[^\s?#]+/\+/)?(\d{1,9})(?![\d/]*[\w.-])")


@dataclass(frozen=True)
class Pad:
    """A pad and what it belongs to: a change, a project (meeting notes), or nothing."""

    id: int
    title: str
    project: str | None
    change: int | None
    created_by: int
    created: datetime

    @property
    def kind(self) -> str:
        if self.change is not None:
            return "change"
        return "project" if self.project is not None else "standalone"


@dataclass(frozen=True)
class Edit:
    """One stored update of a pad: who sent it, when, and how many characters it added and
    removed from the text."""

    author_id: int
    at: datetime
    inserted: int
    deleted: int


@dataclass(frozen=True)
class HistoryEntry:
    """Consecutive edits of one author, none more than ``HISTORY_GAP`` after the previous."""

    author_id: int
    first: datetime
    last: datetime
    inserted: int
    deleted: int
    edits: int


def title_problem(title: str) -> str | None:
    """Why ``title`` cannot name a pad, or None."""
    if not title.strip():
        return "a pad needs a title"
    if len(title) > MAX_TITLE:
        return f"a pad's title must be at most {MAX_TITLE} characters"
    if any(ord(c) < 32 for c in title):
        return "a pad's title must be one line without control characters"
    return None


def mentions(text: str) -> list[int]:
    """The change numbers ``text`` mentions, in order of first mention, at most
    ``MAX_MENTIONS``."""
    found: dict[int, int] = {}
    for pattern in (_CHANGE_WORD, _CHANGE_LINK):
        for match in pattern.finditer(text):
            number = int(match.group(1))
            if number > 0 and number not in found:
                found[number] = match.start()
    return sorted(found, key=found.__getitem__)[:MAX_MENTIONS]


def history(edits: list[Edit], gap: timedelta = HISTORY_GAP) -> list[HistoryEntry]:
    """The pad's history, oldest first: edits grouped by author and time."""
    entries: list[HistoryEntry] = []
    for edit in edits:
        last = entries[-1] if entries else None
        if last is not None and last.author_id == edit.author_id and edit.at - last.last <= gap:
            entries[-1] = HistoryEntry(last.author_id, last.first, edit.at,
                                       last.inserted + edit.inserted,
                                       last.deleted + edit.deleted, last.edits + 1)
        else:
            entries.append(HistoryEntry(edit.author_id, edit.at, edit.at, edit.inserted,
                                        edit.deleted, 1))
    return entries
