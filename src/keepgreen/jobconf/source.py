"""Located YAML values and the configuration error that points into them.

The YAML adapter turns a file into a tree of ``ScalarNode``, ``SequenceNode`` and
``MappingNode`` values. Every node knows the file (its path inside the repository), the
1-based line and column where it starts, and the explicit tag it carried (``!override``,
``!inherit``, ``!encrypted/pkcs1-oaep``; ``None`` for ordinary values). Parsers read these
trees instead of plain dicts, so every problem they find names the exact place.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

ScalarValue: TypeAlias = str | int | float | bool | None

OVERRIDE_TAG = "!override"
INHERIT_TAG = "!inherit"
ENCRYPTED_TAG = "!encrypted/pkcs1-oaep"
KNOWN_TAGS = frozenset({OVERRIDE_TAG, INHERIT_TAG, ENCRYPTED_TAG})


@dataclass(frozen=True)
class Position:
    """A place in a configuration file: repository path, 1-based line and column."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class ConfigError(Exception):
    """A problem in the job configuration, with the file, line and column it comes from.

    ``str(error)`` reads ``zuul.d/jobs.yaml:12:5: job "unit" has unknown key ...``.
    ``project`` and ``branch`` are filled in when the layout knows where the file lives, so a
    scheduler can tell which change's configuration an error belongs to.
    """

    def __init__(self, path: str, line: int, column: int, message: str, *,
                 project: str | None = None, branch: str | None = None) -> None:
        super().__init__(path, line, column, message)
        self.path = path
        self.line = line
        self.column = column
        self.message = message
        self.project = project
        self.branch = branch

    @classmethod
    def at(cls, where: Position | Located, message: str) -> ConfigError:
        pos = where if isinstance(where, Position) else where.position
        return cls(pos.path, pos.line, pos.column, message)

    @property
    def position(self) -> Position:
        return Position(self.path, self.line, self.column)

    def in_source(self, project: str, branch: str) -> ConfigError:
        """The same error, marked as coming from ``project`` on ``branch``."""
        return ConfigError(self.path, self.line, self.column, self.message,
                           project=project, branch=branch)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True)
class ScalarNode:
    value: ScalarValue
    path: str
    line: int
    column: int
    tag: str | None = None

    @property
    def position(self) -> Position:
        return Position(self.path, self.line, self.column)


@dataclass(frozen=True)
class SequenceNode:
    items: tuple[Located, ...]
    path: str
    line: int
    column: int
    tag: str | None = None

    @property
    def position(self) -> Position:
        return Position(self.path, self.line, self.column)

    def __iter__(self) -> Iterator[Located]:
        return iter(self.items)


@dataclass(frozen=True)
class MappingNode:
    """A YAML mapping; ``entries`` keep the key nodes so errors can point at a key."""

    entries: tuple[tuple[ScalarNode, Located], ...]
    path: str
    line: int
    column: int
    tag: str | None = None

    @property
    def position(self) -> Position:
        return Position(self.path, self.line, self.column)

    def get(self, key: str) -> Located | None:
        for key_node, value in self.entries:
            if key_node.value == key:
                return value
        return None

    def key_node(self, key: str) -> ScalarNode | None:
        for key_node, _ in self.entries:
            if key_node.value == key:
                return key_node
        return None

    def __contains__(self, key: object) -> bool:
        return any(key_node.value == key for key_node, _ in self.entries)

    def keys(self) -> list[ScalarValue]:
        return [key_node.value for key_node, _ in self.entries]


Located: TypeAlias = ScalarNode | SequenceNode | MappingNode


def describe(node: Located) -> str:
    """How a value reads in an error message: ``text "ten"``, ``a list``, ``null``..."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = node.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    shown = value if len(value) <= 40 else value[:37] + "..."
    return f'text "{shown}"'


def to_plain(node: Located, what: str, *, tagged: bool = False) -> object:
    """The plain Python value of ``node`` (dicts, lists, scalars).

    Merge tags only make sense on a whole job attribute and encrypted values only inside a
    secret, so a tag anywhere inside a plain value is an error naming ``what``. With
    ``tagged`` the outermost node may carry a tag (the caller has already read it).
    """
    if node.tag is not None and not tagged:
        raise ConfigError.at(node, f'{what} uses the tag "{node.tag}" inside a value; '
                                   "tags may only be put on a whole attribute")
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, SequenceNode):
        return [to_plain(item, what) for item in node.items]
    return {key.value: to_plain(value, what) for key, value in node.entries}
