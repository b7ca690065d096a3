"""Change-Id footers in commit messages."""

from __future__ import annotations

import re

_CHANGE_ID = re.compile(r"^I[0-9a-f]{40}$")
_FOOTER = re.compile(r"^([A-Za-z0-9-]+):\s*(.*)$")


def is_change_id(text: str) -> bool:
    return bool(_CHANGE_ID.match(text))


def footers(message: str) -> list[tuple[str, str]]:
    """The ``Key: value`` lines of the message's last paragraph, in order.

    The last paragraph only counts as a footer block when every line in it is a footer
    (continuation lines that start with whitespace are allowed), as git's trailers do.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []
    result: list[tuple[str, str]] = []
    for line in paragraphs[-1].splitlines():
        if line[:1].isspace() and result:
            key, value = result[-1]
            result[-1] = (key, value + " " + line.strip())
            continue
        match = _FOOTER.match(line)
        if not match:
            return []
        result.append((match.group(1), match.group(2).strip()))
    return result


def change_ids(message: str) -> list[str]:
    """Every ``Change-Id`` footer value in the message (normally exactly one)."""
    return [v for k, v in footers(message) if k.lower() == "change-id"]


def subject(message: str) -> str:
    """The first line of the message, as the change's subject."""
    for line in message.splitlines():
        if line.strip():
            return line.strip()
    return ""
