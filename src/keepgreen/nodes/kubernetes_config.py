"""A ``driver: kubernetes`` provider of the ``nodes/`` folder.

Example::

    providers:
      - name: cluster
        driver: kubernetes
        context: ci-admin          # a context of the kubeconfig; left out: its current one
        max-pods: 10               # or max-servers; how many nodes at once
        boot-timeout: 300          # seconds a pod may take to be Running
        labels:
          - name: pod-debian
            type: pod              # a pod the job runs in, reached with kubectl
            image: docker.io/library/debian:bookworm
            cpu: 500m              # optional requests = limits, Kubernetes quantities
            memory: 1Gi
          - name: k8s-namespace
            type: namespace        # an empty namespace and a token for it

Only the standard library and the config source types: ``siteconfig`` calls
``parse_kubernetes`` and keeps the result on its ``ProviderConfig``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
    describe,
)
from keepgreen.nodes import config_values as values

LABEL_TYPES = ("pod", "namespace")
PROVIDER_KEYS = ("name", "driver", "context", "max-pods", "max-servers", "boot-timeout",
                 "labels")
_LABEL_KEYS = ("name", "type", "image", "cpu", "memory")
# A Kubernetes resource quantity: 2, 0.5, 500m, 512Mi, 1G, 1e3.
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")


@dataclass(frozen=True)
class KubernetesLabel:
    """One label of a Kubernetes provider; ``cpu``/``memory`` empty mean no resources set."""

    name: str
    type: str
    image: str = ""
    cpu: str = ""
    memory: str = ""


@dataclass(frozen=True)
class KubernetesConfig:
    """The cluster part of a provider: the kubeconfig context ("" = the current one), its
    labels, and how long a pod may take to be Running."""

    context: str
    labels: tuple[KubernetesLabel, ...]
    boot_timeout: float = 300.0


def parse_kubernetes(node: MappingNode, provider: str, default_servers: int
                     ) -> tuple[KubernetesConfig, int]:
    """The cluster settings of provider ``provider`` and its node limit (``max-pods``, or
    ``max-servers``, or ``default_servers``). Raises ``ConfigError`` naming file and line."""
    for key_node, _ in node.entries:
        if key_node.value not in PROVIDER_KEYS:
            raise ConfigError.at(key_node, f"unknown key {key_node.value!r} in kubernetes "
                                           f"provider {provider!r}; allowed: "
                                           f"{', '.join(PROVIDER_KEYS)}")
    if "max-pods" in node and "max-servers" in node:
        raise ConfigError.at(node.key_node("max-servers") or node,
                             f"provider {provider!r}: give 'max-pods' or 'max-servers', "
                             "not both")
    servers = default_servers
    for key in ("max-pods", "max-servers"):
        value = node.get(key)
        if value is not None:
            if (not isinstance(value, ScalarNode) or isinstance(value.value, bool)
                    or not isinstance(value.value, int) or value.value < 1):
                raise ConfigError.at(value, f"'{key}' must be a whole number of at least 1, "
                                            f"not {describe(value)}")
            servers = value.value
    boot_timeout = 300.0
    value = node.get("boot-timeout")
    if value is not None:
        if (not isinstance(value, ScalarNode) or isinstance(value.value, bool)
                or not isinstance(value.value, int | float) or value.value <= 0):
            raise ConfigError.at(value, f"'boot-timeout' must be a number of seconds above 0, "
                                        f"not {describe(value)}")
        boot_timeout = float(value.value)
    context = values.text(node, "context", "")
    found = node.get("labels")
    if found is None or not isinstance(found, SequenceNode) or not list(found):
        raise ConfigError.at(found or node, f"kubernetes provider {provider!r} needs "
                                            "'labels': a list of {name, type: pod|namespace, "
                                            "image, cpu, memory}")
    labels: list[KubernetesLabel] = []
    for item in found:
        label = _label(item, provider)
        if any(existing.name == label.name for existing in labels):
            raise ConfigError.at(item, f"provider {provider!r} lists label {label.name!r} "
                                       "twice")
        labels.append(label)
    return KubernetesConfig(context, tuple(labels), boot_timeout), servers


def _label(item: Located, provider: str) -> KubernetesLabel:
    if not isinstance(item, MappingNode):
        raise ConfigError.at(item, f"each label of kubernetes provider {provider!r} is a "
                                   f"mapping with 'name' and 'type', not {describe(item)}")
    for key_node, _ in item.entries:
        if key_node.value not in _LABEL_KEYS:
            raise ConfigError.at(key_node, f"unknown key {key_node.value!r} in a kubernetes "
                                           f"label; allowed: {', '.join(_LABEL_KEYS)}")
    name = values.text(item, "name", "")
    if not values.NAME.match(name):
        raise ConfigError.at(item.get("name") or item,
                             f"label name {name!r} must be letters, digits, '.', '_' or '-'")
    kind = values.text(item, "type", "")
    if kind not in LABEL_TYPES:
        raise ConfigError.at(item.get("type") or item,
                             f"label {name!r} has type {kind!r}; use pod or namespace")
    image = values.text(item, "image", "")
    if kind == "pod" and not image:
        raise ConfigError.at(item, f"pod label {name!r} needs 'image', the container image "
                                   "its pod runs")
    if kind == "namespace":
        for key in ("image", "cpu", "memory"):
            if key in item:
                raise ConfigError.at(item.key_node(key) or item,
                                     f"namespace label {name!r}: {key!r} is for pod labels")
    return KubernetesLabel(name, kind, image, _quantity(item, "cpu", name),
                           _quantity(item, "memory", name))


def _quantity(node: MappingNode, key: str, label: str) -> str:
    value = node.get(key)
    if value is None:
        return ""
    text = str(value.value) if isinstance(value, ScalarNode) else ""
    if isinstance(value, ScalarNode) and isinstance(value.value, bool):
        text = ""
    if not _QUANTITY.match(text):
        example = "500m or 2" if key == "cpu" else "512Mi or 2Gi"
        raise ConfigError.at(value, f"label {label!r}: {key} must be a Kubernetes quantity "
                                    f"such as {example}, not {describe(value)}")
    return text
