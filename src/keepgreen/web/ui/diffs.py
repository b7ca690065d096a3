"""File diffs for the change page: lines paired side by side or in one column, with syntax
highlighting (pygments) and the changed characters of edited lines marked (difflib).

``file_diff`` takes the two texts of one file and returns a ``FileDiff`` whose lines carry
ready-made HTML (escaped source wrapped in token classes); templates only place them.
Unchanged runs longer than the context are folded into a gap that says how many lines it
hides, as review tools do.
"""

from __future__ import annotations

import difflib
import html
from dataclasses import dataclass, field
from itertools import zip_longest

from markupsafe import Markup
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.token import STANDARD_TYPES, _TokenType
from pygments.util import ClassNotFound

CONTEXT = 10
# Files beyond this are listed but not drawn: a page must stay usable on a phone.
MAX_LINES = 5000
# Edited lines this different are shown as removed and added, not as a character diff.
MIN_SIMILARITY = 0.4

SAME, ADDED, REMOVED = "same", "add", "del"


@dataclass(frozen=True)
class Line:
    """One line of one side: its number there, whether it was kept, added or removed."""

    number: int
    kind: str
    html: Markup


@dataclass(frozen=True)
class Row:
    """A row of the side-by-side view; ``gap`` rows stand for ``hidden`` unchanged lines."""

    old: Line | None = None
    new: Line | None = None
    gap: int = 0


@dataclass(frozen=True)
class UnifiedLine:
    old_number: int | None
    new_number: int | None
    kind: str
    html: Markup
    gap: int = 0


@dataclass
class FileDiff:
    rows: list[Row] = field(default_factory=list)
    unified: list[UnifiedLine] = field(default_factory=list)
    too_large: bool = False


def _lexer(path: str, text: str) -> Lexer:
    try:
        return get_lexer_for_filename(path, text, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False, ensurenl=False)


Token = tuple[str, str]  # css class, text


def highlighted_lines(path: str, text: str) -> list[list[Token]]:
    """``text`` split into lines, each a list of (token class, text); the whole file is
    lexed at once so strings and comments spanning lines stay coloured."""
    lines: list[list[Token]] = [[]]
    for ttype, value in _lexer(path, text).get_tokens(text):
        css = _css_class(ttype)
        parts = value.split("\n")
        for index, part in enumerate(parts):
            if index:
                lines.append([])
            if part:
                lines[-1].append((css, part))
    if text.endswith("\n") or not text:
        lines.pop()
    return lines


def _css_class(ttype: _TokenType) -> str:
    while ttype not in STANDARD_TYPES and ttype.parent is not None:
        ttype = ttype.parent
    return STANDARD_TYPES.get(ttype, "")


def render_tokens(tokens: list[Token], changed: list[tuple[int, int]] | None = None) -> Markup:
    """HTML for one line; the character ranges in ``changed`` are wrapped in ``<mark>``."""
    out: list[str] = []
    position = 0
    marks = sorted(changed or [])
    for css, text in tokens:
        start, end = position, position + len(text)
        cuts = {start, end}
        for lo, hi in marks:
            if start < lo < end:
                cuts.add(lo)
            if start < hi < end:
                cuts.add(hi)
        points = sorted(cuts)
        for lo, hi in zip(points, points[1:], strict=False):
            piece = html.escape(text[lo - start:hi - start])
            if css:
                piece = f'<span class="{css}">{piece}</span>'
            if any(m_lo <= lo and hi <= m_hi for m_lo, m_hi in marks):
                piece = f"<mark>{piece}</mark>"
            out.append(piece)
        position = end
    return Markup("".join(out))


def _changed_ranges(old: str, new: str) -> tuple[list[tuple[int, int]],
                                                  list[tuple[int, int]]] | None:
    """The character ranges that differ in a pair of edited lines; None when the lines
    have too little in common for marking characters to help."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    if matcher.ratio() < MIN_SIMILARITY:
        return None
    old_ranges, new_ranges = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            old_ranges.append((i1, i2))
        if j2 > j1:
            new_ranges.append((j1, j2))
    return old_ranges, new_ranges


def _line_text(tokens: list[Token]) -> str:
    return "".join(text for _, text in tokens)


def file_diff(path: str, old_text: str, new_text: str, context: int = CONTEXT,
              old_path: str | None = None) -> FileDiff:
    """The diff of one file between ``old_text`` and ``new_text`` (either may be empty for
    an added or deleted file)."""
    old_lines = highlighted_lines(old_path or path, old_text)
    new_lines = highlighted_lines(path, new_text)
    if max(len(old_lines), len(new_lines)) > MAX_LINES:
        return FileDiff(too_large=True)
    old_plain = [_line_text(t) for t in old_lines]
    new_plain = [_line_text(t) for t in new_lines]
    diff = FileDiff()
    matcher = difflib.SequenceMatcher(None, old_plain, new_plain, autojunk=False)
    shown_old = 0  # the old line number up to which rows exist, to count folded lines
    for group in matcher.get_grouped_opcodes(context):
        first_old = group[0][1]
        if first_old > shown_old:
            _gap(diff, first_old - shown_old)
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                    body = render_tokens(old_lines[i])
                    diff.rows.append(Row(Line(i + 1, SAME, body),
                                         Line(j + 1, SAME, render_tokens(new_lines[j]))))
                    diff.unified.append(UnifiedLine(i + 1, j + 1, SAME,
                                                    render_tokens(new_lines[j])))
            else:
                _changed_block(diff, old_lines, new_lines, i1, i2, j1, j2)
        shown_old = group[-1][2]
    if shown_old < len(old_lines) and diff.rows:
        _gap(diff, len(old_lines) - shown_old)
    return diff


def _gap(diff: FileDiff, hidden: int) -> None:
    diff.rows.append(Row(gap=hidden))
    diff.unified.append(UnifiedLine(None, None, "gap", Markup(""), gap=hidden))


def _changed_block(diff: FileDiff, old_lines: list[list[Token]], new_lines: list[list[Token]],
                   i1: int, i2: int, j1: int, j2: int) -> None:
    removed: list[Line] = []
    added: list[Line] = []
    for i, j in zip_longest(range(i1, i2), range(j1, j2)):
        marks = None
        if i is not None and j is not None:
            marks = _changed_ranges(_line_text(old_lines[i]), _line_text(new_lines[j]))
        if i is not None:
            removed.append(Line(i + 1, REMOVED,
                                render_tokens(old_lines[i], marks[0] if marks else None)))
        if j is not None:
            added.append(Line(j + 1, ADDED,
                              render_tokens(new_lines[j], marks[1] if marks else None)))
    for old, new in zip_longest(removed, added):
        diff.rows.append(Row(old, new))
    diff.unified.extend(UnifiedLine(line.number, None, REMOVED, line.html) for line in removed)
    diff.unified.extend(UnifiedLine(None, line.number, ADDED, line.html) for line in added)
