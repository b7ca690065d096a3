"""Where a comment made on one version of a file sits in another version of it.

Lines that are unchanged between the two versions keep their comments (shifted by what was
inserted or deleted above them); a comment on a line that changed, or a range that no
longer holds together, becomes a comment on the whole file. Pure: texts in, positions out.
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

MAX_LINES = 20_000  # larger files are not compared; their comments move to file level


def line_map(old: list[str], new: list[str]) -> dict[int, int] | None:
    """1-based old line -> new line, for every line the two versions share unchanged;
    None when the files are too large to compare."""
    if old == new:
        return {i: i for i in range(1, len(old) + 1)}
    if len(old) > MAX_LINES or len(new) > MAX_LINES:
        return None
    mapping: dict[int, int] = {}
    matcher = SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                mapping[i1 + k + 1] = j1 + k + 1
    return mapping


def ported_position(mapping: dict[int, int] | None, line: int | None,
                    range_: dict[str, Any] | None) -> tuple[int | None, dict[str, Any] | None]:
    """The (line, range) of a comment in the new version; (None, None) puts it on the
    whole file."""
    if mapping is None:
        return None, None
    if range_:
        start, end = mapping.get(int(range_["start_line"])), mapping.get(int(range_["end_line"]))
        if start is None or end is None or start > end:
            return None, None
        moved = dict(range_, start_line=start, end_line=end)
        return (mapping.get(line, end) if line else end), moved
    if not line:
        return None, None
    new_line = mapping.get(line)
    return (new_line, None) if new_line is not None else (None, None)
