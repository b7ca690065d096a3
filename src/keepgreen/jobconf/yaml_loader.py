"""Load configuration YAML into located trees with PyYAML (the one adapter of ``jobconf``).

``yaml.compose`` keeps a mark for every node, so the tree remembers line and column. Scalars
are typed the way ``yaml.safe_load`` types them; Zuul's ``!override``, ``!inherit`` and
``!encrypted/pkcs1-oaep`` tags are kept on the node for the parsers to read. Syntax errors,
unknown tags, duplicate keys, recursive aliases and alias bombs all become ``ConfigError``.
"""

from __future__ import annotations

import datetime

import yaml

from keepgreen.jobconf.source import (
    KNOWN_TAGS,
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    ScalarValue,
    SequenceNode,
)

# A file whose aliases expand to more nodes than this is refused ("billion laughs").
MAX_EXPANDED_NODES = 200_000

_STANDARD_PREFIX = "tag:yaml.org,2002:"
_STANDARD_TAGS = {
    "ScalarNode": {"str", "int", "float", "bool", "null", "timestamp", "binary", "merge"},
    "SequenceNode": {"seq", "omap", "pairs"},
    "MappingNode": {"map", "set"},
}


def load(path: str, text: str) -> Located | None:
    """The located tree of one YAML document; ``None`` for an empty file."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = exc.problem or exc.context or "not valid YAML"
        raise ConfigError(path, line, column, f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(path, 1, 1, f"YAML syntax error: {exc}") from None
    if root is None:
        return None
    return _Converter(path).convert(root)


class _Converter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.loader = yaml.SafeLoader("")
        self.done: dict[int, Located] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def convert(self, root: yaml.Node) -> Located:
        if self._size(root) > MAX_EXPANDED_NODES:
            raise ConfigError(self.path, root.start_mark.line + 1, root.start_mark.column + 1,
                              f"this file's aliases expand to more than {MAX_EXPANDED_NODES} "
                              "values; write the values out or use fewer aliases")
        return self._node(root)

    def _where(self, node: yaml.Node) -> tuple[str, int, int]:
        return self.path, node.start_mark.line + 1, node.start_mark.column + 1

    def _error(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(*self._where(node), message)

    def _size(self, node: yaml.Node) -> int:
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if key in self.active:
            raise self._error(node, "an alias refers to the value that contains it; "
                                    "recursive values are not allowed")
        self.active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(self._size(item) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(self._size(k) + self._size(v) for k, v in node.value)
        self.active.discard(key)
        self.sizes[key] = min(total, MAX_EXPANDED_NODES + 1)
        return self.sizes[key]

    def _tag(self, node: yaml.Node) -> str | None:
        tag = str(node.tag)
        if tag.startswith(_STANDARD_PREFIX):
            if tag[len(_STANDARD_PREFIX):] not in _STANDARD_TAGS[type(node).__name__]:
                raise self._error(node, f'unsupported YAML tag "!!{tag[len(_STANDARD_PREFIX):]}"')
            return None
        if tag not in KNOWN_TAGS:
            raise self._error(node, f'unknown YAML tag "{tag}"; the tags understood here are '
                                    + ", ".join(f'"{t}"' for t in sorted(KNOWN_TAGS)))
        return tag

    def _node(self, node: yaml.Node) -> Located:
        key = id(node)
        if key in self.done:
            return self.done[key]
        tag = self._tag(node)
        result: Located
        if isinstance(node, yaml.ScalarNode):
            result = ScalarNode(self._scalar(node, tag), *self._where(node), tag=tag)
        elif isinstance(node, yaml.SequenceNode):
            items = tuple(self._node(item) for item in node.value)
            result = SequenceNode(items, *self._where(node), tag=tag)
        elif isinstance(node, yaml.MappingNode):
            result = MappingNode(self._entries(node), *self._where(node), tag=tag)
        else:  # pragma: no cover - PyYAML has only these three node kinds
            raise self._error(node, "unsupported YAML value")
        self.done[key] = result
        return result

    def _scalar(self, node: yaml.ScalarNode, tag: str | None) -> ScalarValue:
        if tag is not None:
            # A tagged scalar is typed as if it had no tag: plain style resolves implicitly.
            implicit = node.style is None
            resolved = self.loader.resolve(yaml.ScalarNode, node.value, (implicit, False))
            node = yaml.ScalarNode(resolved, node.value, node.start_mark, node.end_mark,
                                   style=node.style)
        try:
            value = self.loader.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML raises ValueError etc. for e.g. "!!int x"
            problem = getattr(exc, "problem", None) or f'"{node.value}" is not a valid value'
            raise self._error(node, f"invalid YAML value: {problem}") from None
        if value is None or isinstance(value, str | bool | int | float):
            return value
        if isinstance(value, datetime.date | bytes):
            return str(node.value)  # keep dates and binary as the text that was written
        raise self._error(node, "unsupported YAML value")  # pragma: no cover

    def _entries(self, node: yaml.MappingNode) -> tuple[tuple[ScalarNode, Located], ...]:
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, "a mapping key must be a plain value, "
                                            "not a list or mapping")
            if key_node.tag == _STANDARD_PREFIX + "merge":
                continue
            key = self._scalar(key_node, self._tag(key_node))
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise self._error(key_node, f'key "{key}" appears twice in this mapping '
                                            f"(first on line {first})")
            seen[key] = key_node
        try:
            self.loader.flatten_mapping(node)  # applies "<<" merge keys
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or node.start_mark
            raise ConfigError(self.path, mark.line + 1, mark.column + 1,
                              f"invalid YAML merge: {exc.problem}") from None
        entries: dict[object, tuple[ScalarNode, Located]] = {}
        for key_node, value_node in node.value:
            key_located = self._node(key_node)
            assert isinstance(key_located, ScalarNode)
            entries.pop(key_located.value, None)  # a later key overrides a merged one
            entries[key_located.value] = (key_located, self._node(value_node))
        return tuple(entries.values())
