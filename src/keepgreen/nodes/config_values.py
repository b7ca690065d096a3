"""The scalar values of the ``nodes/`` files: names, text, whole numbers, flags and lists
of names, read from a provider's or label's mapping with the file and line of a bad one.

Shared by ``siteconfig`` and the cloud drivers' own keys (``openstack_config``,
``kubernetes_config``), so every provider reports a bad value in the same words.
"""

from __future__ import annotations

import re

from keepgreen.jobconf.source import ConfigError, MappingNode, ScalarNode, SequenceNode, describe

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def text(node: MappingNode, key: str, default: str) -> str:
    value = node.get(key)
    if value is None:
        return default
    if not isinstance(value, ScalarNode) or not isinstance(value.value, str):
        raise ConfigError.at(value, f"'{key}' must be text, not {describe(value)}")
    return value.value


def names(node: MappingNode, key: str) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if isinstance(value, ScalarNode) and isinstance(value.value, str):
        return (value.value,)
    if not isinstance(value, SequenceNode) or not all(
            isinstance(i, ScalarNode) and isinstance(i.value, str) for i in value):
        raise ConfigError.at(value, f"'{key}' must be a list of names, not {describe(value)}")
    return tuple(str(i.value) for i in value if isinstance(i, ScalarNode))


def whole_number(node: MappingNode, key: str, default: int, *, minimum: int) -> int:
    """A whole number of at least ``minimum``; a ``*timeout`` key says it is in seconds."""
    value = node.get(key)
    if value is None:
        return default
    if (not isinstance(value, ScalarNode) or isinstance(value.value, bool)
            or not isinstance(value.value, int) or value.value < minimum):
        unit = " (seconds)" if key.endswith("timeout") else ""
        raise ConfigError.at(value, f"'{key}' must be a whole number of at least "
                                    f"{minimum}{unit}, not {describe(value)}")
    return value.value


def flag(node: MappingNode, key: str, default: bool) -> bool:
    value = node.get(key)
    if value is None:
        return default
    if not isinstance(value, ScalarNode) or not isinstance(value.value, bool):
        raise ConfigError.at(value, f"'{key}' must be true or false, not {describe(value)}")
    return value.value
