"""``Depends-On:`` footers: the changes a commit message says it needs.

Footers are read from the message's last paragraph, case-insensitively, several allowed (as
Zuul reads them). Each value names a change in one of three ways:

* a change URL on any host: ``https://host[/prefix]/c/<project>/+/<number>`` (a patch set or
  file path may follow), ``https://host/c/<number>``, ``https://host/#/c/<number>`` or
  ``https://host/<number>``;
* a change number: ``1234``;
* a Change-Id: ``I`` and 40 lowercase hex digits (it may match changes on any project and
  branch).

Values that are none of these are ignored; ``junk`` returns them so callers can log them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

_DEPENDS_ON = re.compile(r"^depends-on:\s*(.*?)\s*$", re.IGNORECASE)
_CHANGE_ID = re.compile(r"^I[0-9a-f]{40}$")
_NUMBER = re.compile(r"^[1-9][0-9]{0,9}$")
MAX_NUMBER = 2**31 - 1
# /c/<project>/+/<number>[/...]
_PROJECT_PATH = re.compile(r"/c/(?P<project>.+?)/\+/(?P<number>[0-9]+)(?:/.*)?$")
# /c/<number>[/...] or /<number>[/]
_NUMBER_PATH = re.compile(r"(?:^|/)(?:c/)?(?P<number>[0-9]+)/?(?:[0-9]+/?)?$")


@dataclass(frozen=True)
class DependsOn:
    """One needed change: by ``number`` (``project`` set when the URL named one) or by
    ``change_id``. ``text`` is the footer's value as written."""

    text: str
    number: int | None = None
    change_id: str | None = None
    project: str | None = None


def _last_paragraph(message: str) -> list[str]:
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", message.strip()) if p.strip()]
    if len(paragraphs) < 2:
        return []  # a subject alone has no footers
    return paragraphs[-1].splitlines()


def _values(message: str) -> list[str]:
    found = []
    for line in _last_paragraph(message):
        match = _DEPENDS_ON.match(line)
        if match and match.group(1):
            found.append(match.group(1))
    return found


def _number(text: str) -> int | None:
    if not _NUMBER.match(text):
        return None
    value = int(text)
    return value if value <= MAX_NUMBER else None


def parse_value(text: str) -> DependsOn | None:
    """What one footer value names, or None when it names no change."""
    text = text.strip()
    if _CHANGE_ID.match(text):
        return DependsOn(text, change_id=text)
    number = _number(text)
    if number is not None:
        return DependsOn(text, number=number)
    try:
        url = urlsplit(text)
    except ValueError:
        return None
    if url.scheme not in ("http", "https") or not url.netloc or " " in text:
        return None
    # Old Gerrit UIs put the change in the fragment: https://host/#/c/123/
    path = url.fragment if url.fragment.startswith("/c/") else url.path
    match = _PROJECT_PATH.search(path)
    if match:
        number = _number(match.group("number"))
        project = unquote(match.group("project")).strip("/")
        if number is None or not project:
            return None
        return DependsOn(text, number=number, project=project)
    if "/+/" in path:
        return None
    match = _NUMBER_PATH.search(path)
    if match:
        number = _number(match.group("number"))
        if number is not None:
            return DependsOn(text, number=number)
    return None


def depends_on(message: str) -> list[DependsOn]:
    """Every change the message's ``Depends-On:`` footers name, in order, without repeats."""
    result: list[DependsOn] = []
    seen: set[tuple[int | None, str | None]] = set()
    for value in _values(message):
        parsed = parse_value(value)
        if parsed is None:
            continue
        key = (parsed.number, parsed.change_id)
        if key not in seen:
            seen.add(key)
            result.append(parsed)
    return result


def junk(message: str) -> list[str]:
    """The ``Depends-On:`` values of the message that name no change."""
    return [v for v in _values(message) if parse_value(v) is None]
