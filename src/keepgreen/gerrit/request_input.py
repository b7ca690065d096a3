"""Typed reading of what a caller sends: JSON request bodies and numeric query parameters.

Every handler reads its input through here, so a wrong type, a number too large for the
store or a body nested too deeply is answered 400 with one sentence naming the field,
never a 500 from deep inside a service or the database driver.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from keepgreen.services.errors import BadRequest

# Numbers the store keeps in 32-bit INTEGER columns (SQLite stores 64 bits, PostgreSQL 32):
# one bound for both backends, so the same input gets the same answer everywhere.
MAX_INT = 2**31 - 1
MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted in a request body."""


def decode_json(body: bytes, what: str = "request body") -> Any:
    """``body`` as JSON; an empty body counts as ``{}``. Bad bytes or syntax is a 400."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"{what} is not UTF-8 (byte {exc.start})") from None
    if text.startswith(")]}'"):
        text = text[4:]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise BadRequest(f"{what} is not usable JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(f"{what} nests arrays or objects too deeply") from None
    _check_tree(data, what)
    return data


def _check_tree(value: Any, what: str) -> None:
    """Bound the nesting, and refuse NUL in strings: no store column can keep one."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise BadRequest(f"{what} has a string with a NUL character")
        elif isinstance(item, (dict, list)):
            if level > MAX_DEPTH:
                raise BadRequest(f"{what} nests arrays or objects deeper than {MAX_DEPTH} "
                                 "levels")
            values = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack += [(v, level + 1) for v in values]


def plain_text(value: str, what: str) -> str:
    """``value`` unless it holds a NUL character, which no name or store column can keep."""
    if "\x00" in value:
        raise BadRequest(f"{what} contains a NUL character")
    return value


def check_request(query_params: Any, path_params: Mapping[str, str] | None = None,
                  segments: Iterable[str] = ()) -> None:
    """Refuse NUL characters in path segments and query parameters."""
    for name, value in (path_params or {}).items():
        plain_text(value, f"the {name} named in the URL")
    for value in segments:
        plain_text(value, "the URL path")
    for name, value in query_params.multi_items():
        plain_text(value, f"query parameter {name}")


def whole_number(raw: str, name: str, low: int = 0, high: int = MAX_INT) -> int:
    """A query parameter as an integer within ``low..high``, else a 400 naming it."""
    text = raw.strip()
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isascii() or not digits.isdigit():
        raise BadRequest(f"{name} must be a number, not {raw!r}")
    value = int(text) if len(digits) <= 12 else (low - 1 if text[:1] == "-" else high + 1)
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, not {raw[:40]}")
    return value


class JsonObject:
    """A JSON object read field by field.

    Each accessor returns the field's value or the default when it is absent or ``null``;
    a value of the wrong type is a ``BadRequest`` naming the field by its path
    (``comments.a.txt[0].line``), so handlers never pass unchecked shapes to services.
    """

    def __init__(self, data: dict[str, Any], path: str = "") -> None:
        self.data = data
        self.path = path

    @classmethod
    def of(cls, value: Any, path: str = "request body") -> JsonObject:
        if not isinstance(value, dict):
            raise BadRequest(f"{path} must be a JSON object")
        return cls(value, "" if path == "request body" else path)

    @classmethod
    def parse(cls, body: bytes) -> JsonObject:
        return cls.of(decode_json(body))

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def __contains__(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise BadRequest(f"{self.name(key)} must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if key in self else None

    def whole(self, key: str, default: int | None = None, low: int = -MAX_INT,
              high: int = MAX_INT) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        return number_in(value, self.name(key), low, high)

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise BadRequest(f"{self.name(key)} must be true or false")
        return value

    def obj(self, key: str) -> JsonObject:
        """A nested object; absent or ``null`` reads as an empty one."""
        value = self.data.get(key)
        return JsonObject({} if value is None else _object(value, self.name(key)),
                          self.name(key))

    def entries(self) -> Iterator[tuple[str, Any]]:
        return iter(self.data.items())

    def objects(self) -> Iterator[tuple[str, JsonObject]]:
        """Each field as a nested object (``null`` as an empty one)."""
        for key, value in self.data.items():
            path = self.name(key)
            yield key, JsonObject({} if value is None else _object(value, path), path)

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise BadRequest(f"{self.name(key)} must be a list")
        return value

    def texts(self, key: str) -> list[str]:
        values = self.items(key)
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise BadRequest(f"{self.name(key)}[{i}] must be a string")
        return values

    def choice(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.text(key, default)
        if value.upper() not in allowed:
            raise BadRequest(f"{self.name(key)} must be one of {', '.join(allowed)}")
        return value.upper()


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{path} must be a JSON object")
    return value


def number_in(value: Any, name: str, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    """``value`` (already decoded JSON) as an integer within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be a whole number")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}")
    return value
