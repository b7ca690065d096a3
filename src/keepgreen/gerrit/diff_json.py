"""Gerrit's DiffInfo ``content``: the lines of two versions of a file in chunks.

A chunk is ``{"ab": [...]}`` for lines both sides share, ``{"a": [...], "b": [...]}`` (either
key alone when one side is empty) for lines that differ, and ``{"skip": n}`` for unchanged
lines left out beyond ``context`` lines around each difference (None means every line, as
Gerrit's ``context=ALL``). A file without differences is one ``ab`` chunk. Pure: standard
library only.
"""

from __future__ import annotations

import difflib
from typing import Any

DEFAULT_CONTEXT = 10  # Gerrit's default for the diff endpoint


def split_lines(text: str) -> list[str]:
    """Lines as Gerrit lists them: without their line ends; a final newline adds no line."""
    return text.splitlines()


def diff_content(old: list[str], new: list[str], context: int | None) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = []
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    for index, (tag, a1, a2, b1, b2) in enumerate(opcodes):
        if tag != "equal":
            chunk: dict[str, Any] = {}
            if a2 > a1:
                chunk["a"] = old[a1:a2]
            if b2 > b1:
                chunk["b"] = new[b1:b2]
            chunks.append(chunk)
            continue
        same = old[a1:a2]
        first, last = index == 0, index == len(opcodes) - 1
        head = 0 if first else (context or 0)
        tail = 0 if last else (context or 0)
        if context is None or (first and last) or head + tail >= len(same):
            chunks.append({"ab": same})
            continue
        if head:
            chunks.append({"ab": same[:head]})
        chunks.append({"skip": len(same) - head - tail})
        if tail:
            chunks.append({"ab": same[len(same) - tail:]})
    return chunks


def parse_context(raw: str | None) -> int | None:
    """``context``: a whole number of lines or ``ALL``; raises ValueError otherwise."""
    if raw is None:
        return DEFAULT_CONTEXT
    if raw.upper() == "ALL" or raw == "-1":
        return None
    if not raw.isdigit() or len(raw) > 6:
        raise ValueError(f'context={raw} must be a whole number of lines or "ALL"')
    return int(raw)
