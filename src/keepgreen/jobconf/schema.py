"""Typed readers for located YAML, shared by the object parsers.

Each reader takes the node, a description of the object (``job "unit"``) and the attribute
name, and either returns a plain Python value or raises ``ConfigError`` pointing at the
value with a sentence saying what was expected: ``job "unit": "timeout" must be a positive
whole number of seconds, not text "ten"``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping

from keepgreen.jobconf.model import Matcher, freeze_mapping
from keepgreen.jobconf.regex import compile_zuul
from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
    describe,
    to_plain,
)


def did_you_mean(word: str, choices: Collection[str]) -> str:
    """``; did you mean "x"?`` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


def wrong(node: Located, what: str, key: str, expected: str) -> ConfigError:
    return ConfigError.at(node, f'{what}: "{key}" must be {expected}, not {describe(node)}')


def check_keys(node: MappingNode, what: str, allowed: Collection[str],
               unsupported: Collection[str] = ()) -> None:
    """Refuse keys outside ``allowed``; ``unsupported`` ones are Zuul's but not handled yet."""
    for key_node, _ in node.entries:
        key = key_node.value
        if not isinstance(key, str):
            raise ConfigError.at(key_node, f"{what} has a key that is not text: "
                                           f"{describe(key_node)}")
        if key in allowed:
            continue
        if key in unsupported:
            raise ConfigError.at(key_node, f'{what} uses "{key}", which keepgreen does not '
                                           "support yet")
        raise ConfigError.at(key_node, f'{what} has unknown key "{key}"'
                                       + did_you_mean(key, allowed))


def untagged(node: Located, what: str, key: str) -> None:
    if node.tag is not None:
        raise ConfigError.at(node, f'{what}: "{key}" does not take the tag "{node.tag}"')


def mapping(node: Located, what: str, key: str | None = None) -> MappingNode:
    if isinstance(node, MappingNode):
        return node
    if key is None:
        raise ConfigError.at(node, f"{what} must be a mapping of attributes, "
                                   f"not {describe(node)}")
    raise wrong(node, what, key, "a mapping")


def name_of(node: MappingNode, what: str, key: str = "name") -> str:
    """The required, non-empty ``name`` of an object."""
    value = node.get(key)
    if value is None and key not in node:
        raise ConfigError.at(node, f'this {what} has no "{key}"; add one')
    assert value is not None
    return text(value, f"this {what}", key)


def text(node: Located, what: str, key: str) -> str:
    untagged(node, what, key)
    if not isinstance(node, ScalarNode) or not isinstance(node.value, str) or not node.value:
        raise wrong(node, what, key, "non-empty text")
    return node.value


def optional_text(node: Located, what: str, key: str) -> str | None:
    if isinstance(node, ScalarNode) and node.value is None:
        return None
    return text(node, what, key)


def boolean(node: Located, what: str, key: str) -> bool:
    untagged(node, what, key)
    if not isinstance(node, ScalarNode) or not isinstance(node.value, bool):
        raise wrong(node, what, key, "true or false")
    return node.value


def integer(node: Located, what: str, key: str, minimum: int, expected: str) -> int:
    untagged(node, what, key)
    if (not isinstance(node, ScalarNode) or isinstance(node.value, bool)
            or not isinstance(node.value, int) or node.value < minimum):
        raise wrong(node, what, key, expected)
    return node.value


def choice(node: Located, what: str, key: str, choices: Collection[str]) -> str:
    value = text(node, what, key)
    if value not in choices:
        options = ", ".join(f'"{c}"' for c in sorted(choices))
        raise ConfigError.at(node, f'{what}: "{key}" must be one of {options}, '
                                   f'not "{value}"' + did_you_mean(value, choices))
    return value


def items(node: Located, what: str, key: str, *, tagged: bool = False) -> tuple[Located, ...]:
    """The entries of a list, or the value itself when a single entry was written."""
    if not tagged:
        untagged(node, what, key)
    if isinstance(node, SequenceNode):
        for item in node.items:
            untagged(item, what, key)
        return node.items
    return (node,)


def text_list(node: Located, what: str, key: str, *, tagged: bool = False) -> tuple[str, ...]:
    """Text or a list of texts, e.g. ``tags`` or ``pre-run``."""
    values = []
    for item in items(node, what, key, tagged=tagged):
        if not isinstance(item, ScalarNode) or not isinstance(item.value, str) or not item.value:
            raise wrong(item, what, key, "text or a list of texts")
        values.append(item.value)
    return tuple(values)


def compile_regex(node: Located, pattern: str, what: str, key: str) -> None:
    try:
        compile_zuul(pattern)
    except re.error as exc:
        raise ConfigError.at(node, f'{what}: "{key}" has an invalid regular expression '
                                   f'"{pattern}": {exc}') from None


def matchers(node: Located, what: str, key: str, *, tagged: bool = False) -> tuple[Matcher, ...]:
    """Regular expressions (``files``, ``branches``...): text, ``{regex, negate}`` or a list."""
    result = []
    for item in items(node, what, key, tagged=tagged):
        if isinstance(item, MappingNode):
            check_keys(item, f'{what}: a regular expression in "{key}"', ("regex", "negate"))
            regex = item.get("regex")
            if regex is None:
                raise ConfigError.at(item, f'{what}: a regular expression in "{key}" '
                                           'needs "regex"')
            pattern = text(regex, what, f"{key}.regex")
            negate_node = item.get("negate")
            negate = False if negate_node is None else boolean(negate_node, what,
                                                               f"{key}.negate")
            compile_regex(regex, pattern, what, key)
            result.append(Matcher(pattern, negate=negate))
            continue
        if not isinstance(item, ScalarNode) or not isinstance(item.value, str) or not item.value:
            raise wrong(item, what, key, "a regular expression or a list of them")
        compile_regex(item, item.value, what, key)
        result.append(Matcher(item.value))
    return tuple(result)


def plain_mapping(node: Located, what: str, key: str, *,
                  tagged: bool = False) -> Mapping[str, object]:
    """A mapping of variables (``vars``), frozen; its keys must be text."""
    if not tagged:
        untagged(node, what, key)
    if isinstance(node, ScalarNode) and node.value is None:
        return freeze_mapping({})
    if not isinstance(node, MappingNode):
        raise wrong(node, what, key, "a mapping")
    for key_node, _ in node.entries:
        if not isinstance(key_node.value, str):
            raise ConfigError.at(key_node, f'{what}: the names in "{key}" must be text, '
                                           f"not {describe(key_node)}")
    value = to_plain(node, f'{what} "{key}"', tagged=True)
    assert isinstance(value, dict)
    return freeze_mapping(value)
