"""A pad's text from its CRDT updates (pycrdt, the Yjs format that browsers speak).

The shared type is the ``Text`` named ``text`` of a ``Doc``; the browser client uses the same
name. These helpers replay stored updates into a fresh document.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pycrdt import Doc, Text, TextEvent

from keepgreen.domain.pad import Edit

TEXT = "text"


def document(updates: Iterable[bytes]) -> Doc:  # type: ignore[type-arg]
    doc: Doc = Doc()  # type: ignore[type-arg]
    doc.get(TEXT, type=Text)
    for update in updates:
        doc.apply_update(update)
    return doc


def text_of(doc: Doc) -> str:  # type: ignore[type-arg]
    return str(doc.get(TEXT, type=Text))


def edits(rows: Iterable[tuple[int, datetime, bytes]]) -> tuple[list[Edit], str]:
    """Each stored update as an ``Edit`` (characters it added and removed), and the text
    they make."""
    doc: Doc = Doc()  # type: ignore[type-arg]
    text = doc.get(TEXT, type=Text)
    counts = [0, 0]

    def count(event: TextEvent) -> None:
        for op in event.delta:
            if "insert" in op:
                inserted = op["insert"]
                counts[0] += len(inserted) if isinstance(inserted, str) else 1
            elif "delete" in op:
                counts[1] += int(op["delete"])

    text.observe(count)
    found: list[Edit] = []
    for author, at, update in rows:
        counts[0] = counts[1] = 0
        doc.apply_update(update)
        found.append(Edit(author, at, counts[0], counts[1]))
    return found, str(text)
