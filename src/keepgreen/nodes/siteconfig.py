"""The node pool's part of the site's ``config`` project: the files under ``nodes/``.

``parse_nodes_config`` reads every YAML file of the folder into one ``NodesConfig``: the
providers (``local``, ``static``, ``openstack`` or ``kubernetes``, whose own keys
``openstack_config`` and ``kubernetes_config`` parse), the labels they offer, how many
spare nodes to keep per label (``min-ready``), each provider's ``max-servers`` and the
per-node resource limits.
Problems name file and line; a folder with problems still gives a usable value (the parts
that parsed), but the launcher keeps its previous configuration when there are any.

Example (the seed's ``nodes/providers.yaml``)::

    providers:
      - name: local
        driver: local
        labels: [local]
        max-servers: 4
        memory: 2GiB
        cpus: 1
        disk: 10GiB
    labels:
      - name: local
        min-ready: 1

Keys left out take the site's settings (``nodes_max_servers``, ``nodes_min_ready``,
``node_memory_limit``, ``node_cpu_limit``, ``node_disk_limit``), so an empty folder means
one local provider with label ``local``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from keepgreen.jobconf.source import (
    ConfigError,
    Located,
    MappingNode,
    ScalarNode,
    SequenceNode,
    describe,
)
from keepgreen.jobconf.yaml_loader import load
from keepgreen.nodes import config_values as values
from keepgreen.nodes.kubernetes_config import PROVIDER_KEYS, KubernetesConfig, parse_kubernetes
from keepgreen.nodes.openstack_config import OpenStackConfig, is_openstack, parse_openstack
from keepgreen.nodes.pool import LabelConfig
from keepgreen.siteconf.model import SiteProblem

FOLDER = "nodes/"
DRIVERS = ("local", "static", "openstack", "kubernetes")
DEFAULT_PROVIDER = "local"
DEFAULT_LABEL = "local"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
# The smallest disk limit: below it a node's own files and ext4's overhead leave no room.
MIN_DISK_BYTES = 16 << 20


@dataclass(frozen=True)
class NodeDefaults:
    """What keys left out of ``nodes/`` mean; the site's settings fill it in.

    ``max_servers`` 0 means the number of CPUs of this machine; ``memory_bytes``,
    ``cpus`` and ``disk_bytes`` 0 mean no limit.
    """

    min_ready: int = 0
    max_servers: int = 0
    memory_bytes: int = 2 << 30
    cpus: float = 0.0
    disk_bytes: int = 0

    def servers(self) -> int:
        return self.max_servers or (os.cpu_count() or 1)


@dataclass(frozen=True)
class StaticHostConfig:
    host: str
    labels: tuple[str, ...]
    host_key: str
    username: str = "root"
    connection_port: int = 22
    max_parallel_jobs: int = 1


DRY_RUN = ":dry-run"
"""Suffix of the label under which a static provider with ``dry-run`` offers its hosts with
the read-only login: ``web:dry-run`` is a ``web`` host reached as the dry-run user. Label
names cannot hold ``:``, so no configured label collides with one."""


@dataclass(frozen=True)
class DryRunConfig:
    """Who may dry-run against a static provider's hosts, and with which read-only user."""

    username: str
    projects: tuple[str, ...]


@dataclass(frozen=True)
class ProviderConfig:
    """One provider; ``memory_bytes``/``cpus``/``disk_bytes`` of 0 mean no limit (local
    nodes only); ``openstack`` is set for ``driver: openstack`` (see ``openstack_config``)."""

    name: str
    driver: str
    labels: tuple[str, ...]
    max_servers: int
    memory_bytes: int = 0
    cpus: float = 0.0
    hosts: tuple[StaticHostConfig, ...] = ()
    disk_bytes: int = 0
    dry_run: DryRunConfig | None = None
    kubernetes: KubernetesConfig | None = None
    openstack: OpenStackConfig | None = None


@dataclass(frozen=True)
class NodesConfig:
    """Providers and labels of the node pool, as the launcher runs them."""

    providers: tuple[ProviderConfig, ...]
    labels: tuple[LabelConfig, ...]
    source: str = field(default="built-in default", compare=False)

    @classmethod
    def default(cls, defaults: NodeDefaults | None = None) -> NodesConfig:
        """One local provider offering label ``local``: what a site without ``nodes/`` runs."""
        d = defaults or NodeDefaults()
        return cls((ProviderConfig(DEFAULT_PROVIDER, "local", (DEFAULT_LABEL,), d.servers(),
                                   d.memory_bytes, d.cpus, disk_bytes=d.disk_bytes),),
                   (LabelConfig(DEFAULT_LABEL, (DEFAULT_PROVIDER,), d.min_ready),))

    def provider(self, name: str) -> ProviderConfig | None:
        return next((p for p in self.providers if p.name == name), None)

    def dry_run_labels(self, project: str) -> frozenset[str]:
        """The labels whose hosts changes of ``project`` may be dry-run against."""
        return frozenset(label.removesuffix(DRY_RUN) for p in self.providers
                         if p.dry_run is not None and project in p.dry_run.projects
                         for label in p.labels if label.endswith(DRY_RUN))

    def summary(self) -> list[str]:
        """One line per provider and label, for plans and the server log."""
        lines = []
        for p in self.providers:
            limits = []
            if p.memory_bytes:
                limits.append(f"memory {format_size(p.memory_bytes)}")
            if p.cpus:
                limits.append(f"cpus {p.cpus:g}")
            if p.disk_bytes:
                limits.append(f"disk {format_size(p.disk_bytes)}")
            extra = f", {', '.join(limits)}" if limits else ""
            lines.append(f"provider {p.name} ({p.driver}): labels {', '.join(p.labels)}, "
                         f"max-servers {p.max_servers}{extra}")
        for label in self.labels:
            lines.append(f"label {label.name}: min-ready {label.min_ready}, from "
                         f"{', '.join(label.providers)}")
        return lines


def format_size(size: int) -> str:
    for unit, factor in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def parse_size(text: str) -> int | None:
    """Bytes in ``2GiB``, ``512M``, ``1.5G`` or a plain number of bytes; None if unreadable."""
    found = _SIZE.match(text)
    if found is None:
        return None
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()])


def parse_nodes_config(files: Mapping[str, str], *, defaults: NodeDefaults | None = None
                       ) -> tuple[NodesConfig, list[SiteProblem]]:
    """Parse the ``nodes/`` folder given as repository path -> text (other paths ignored).

    Returns the configuration and its problems, each naming file and line. With no YAML file
    under ``nodes/`` the value is ``NodesConfig.default(defaults)``.
    """

    parser = _Parser(defaults or NodeDefaults())
    paths = sorted(p for p in files if p.startswith(FOLDER) and p.endswith((".yaml", ".yml")))
    for path in paths:
        try:
            parser.file(path, files[path])
        except ConfigError as exc:
            parser.problems.append(exc)
    config = parser.result(paths) if paths else NodesConfig.default(defaults)
    return config, [SiteProblem(e.path, e.line, e.message) for e in parser.problems]


class _Parser:
    def __init__(self, defaults: NodeDefaults) -> None:
        self.defaults = defaults
        self.providers: list[tuple[ProviderConfig, Located]] = []
        self.labels: list[tuple[str, int | None, Located]] = []
        self.problems: list[ConfigError] = []

    def file(self, path: str, text: str) -> None:
        root = load(path, text)
        if root is None:
            return
        if not isinstance(root, MappingNode):
            raise ConfigError.at(root, f"a nodes file is a mapping with 'providers' and "
                                       f"'labels', not {describe(root)}")
        for key_node, value in root.entries:
            if key_node.value == "providers":
                for item in self._list(value, "providers"):
                    self._catch(self._provider, item)
            elif key_node.value == "labels":
                for item in self._list(value, "labels"):
                    self._catch(self._label, item)
            else:
                self.problems.append(ConfigError.at(
                    key_node, f"unknown key {key_node.value!r}; a nodes file has "
                              "'providers' and 'labels'"))

    def _catch(self, parse: object, item: Located) -> None:
        try:
            parse(item)  # type: ignore[operator]
        except ConfigError as exc:
            self.problems.append(exc)

    def _list(self, node: Located, what: str) -> list[Located]:
        if isinstance(node, ScalarNode) and node.value is None:
            return []
        if not isinstance(node, SequenceNode):
            self.problems.append(ConfigError.at(node, f"'{what}' must be a list, not "
                                                      f"{describe(node)}"))
            return []
        return list(node)

    def _mapping(self, node: Located, what: str, allowed: tuple[str, ...]) -> MappingNode:
        if not isinstance(node, MappingNode):
            raise ConfigError.at(node, f"each of '{what}' must be a mapping, not "
                                       f"{describe(node)}")
        for key_node, _ in node.entries:
            if key_node.value not in allowed:
                raise ConfigError.at(key_node, f"unknown key {key_node.value!r} in {what[:-1]}; "
                                               f"allowed: {', '.join(allowed)}")
        return node

    def _provider(self, item: Located) -> None:
        if is_openstack(item):
            assert isinstance(item, MappingNode)
            self._openstack(item)
            return
        node = self._mapping(item, "providers", tuple(dict.fromkeys((
            "name", "driver", "labels", "max-servers", "memory", "cpus", "disk", "hosts",
            "dry-run", *PROVIDER_KEYS))))
        name = _name(node, "provider")
        if any(p.name == name for p, _ in self.providers):
            raise ConfigError.at(node, f"provider {name!r} is defined twice")
        driver = values.text(node, "driver", "local")
        if driver not in DRIVERS:
            raise ConfigError.at(node.get("driver") or node,
                                 f"provider {name!r} has unknown driver {driver!r}; "
                                 f"use one of {', '.join(DRIVERS)}")
        if driver == "kubernetes":
            cluster, servers = parse_kubernetes(node, name, self.defaults.servers())
            self.providers.append((ProviderConfig(
                name, driver, tuple(label.name for label in cluster.labels), servers,
                kubernetes=cluster), node))
            return
        for key in ("context", "max-pods", "boot-timeout"):
            if key in node:
                raise ConfigError.at(node.key_node(key) or node,
                                     f"provider {name!r}: {key!r} is for kubernetes providers")
        hosts: tuple[StaticHostConfig, ...] = ()
        dry_run = None
        if driver == "static":
            hosts = self._hosts(node, name)
            labels = tuple(dict.fromkeys(label for h in hosts for label in h.labels))
            servers = sum(h.max_parallel_jobs for h in hosts)
            dry_run = self._dry_run(node, name)
            if dry_run is not None:
                labels += tuple(label + DRY_RUN for label in labels)
        else:
            for key in ("hosts", "dry-run"):
                if key in node:
                    raise ConfigError.at(node.key_node(key) or node,
                                         f"provider {name!r}: {key!r} is for static providers")
            labels = values.names(node, "labels") or (DEFAULT_LABEL,)
            servers = values.whole_number(node, "max-servers", self.defaults.servers(), minimum=1)
        memory = self.defaults.memory_bytes
        if "memory" in node:
            value = node.get("memory")
            assert value is not None
            parsed = parse_size(str(value.value)) if isinstance(value, ScalarNode) else None
            if parsed is None:
                raise ConfigError.at(value, f"provider {name!r}: memory must be a size such "
                                            f"as 2GiB or 512MiB (0 for no limit), not "
                                            f"{describe(value)}")
            memory = parsed
        cpus = _number(node, "cpus", self.defaults.cpus)
        disk = self.defaults.disk_bytes
        if "disk" in node:
            value = node.get("disk")
            assert value is not None
            parsed = parse_size(str(value.value)) if isinstance(value, ScalarNode) else None
            if parsed is None or 0 < parsed < MIN_DISK_BYTES:
                raise ConfigError.at(value, f"provider {name!r}: disk must be a size of at "
                                            f"least 16MiB such as 10GiB (0 for no limit), not "
                                            f"{describe(value)}")
            disk = parsed
        self.providers.append((ProviderConfig(name, driver, labels, servers, memory, cpus,
                                              hosts, disk, dry_run), node))

    def _openstack(self, node: MappingNode) -> None:
        name = _name(node, "provider")
        if any(p.name == name for p, _ in self.providers):
            raise ConfigError.at(node, f"provider {name!r} is defined twice")
        labels, servers, cloud = parse_openstack(node, name, self.defaults.servers())
        self.providers.append((ProviderConfig(name, "openstack", labels, servers,
                                              openstack=cloud), node))

    def _dry_run(self, node: MappingNode, provider: str) -> DryRunConfig | None:
        found = node.get("dry-run")
        if found is None:
            return None
        entry = self._mapping(found, "dry-runs", ("username", "projects"))
        username = values.text(entry, "username", "")
        if not username or username == "root":
            raise ConfigError.at(entry, f"provider {provider!r}: 'dry-run' needs the "
                                        "'username' of a read-only account on the hosts "
                                        "(not root)")
        projects = values.names(entry, "projects")
        if not projects:
            raise ConfigError.at(entry, f"provider {provider!r}: 'dry-run' needs 'projects', "
                                        "the projects whose changes may be dry-run here")
        return DryRunConfig(username, projects)

    def _hosts(self, node: MappingNode, provider: str) -> tuple[StaticHostConfig, ...]:
        found = node.get("hosts")
        if found is None:
            raise ConfigError.at(node, f"static provider {provider!r} needs 'hosts'")
        hosts = []
        for item in self._list(found, "hosts"):
            host = self._mapping(item, "hosts", ("host", "labels", "host-key", "username",
                                                 "connection-port", "max-parallel-jobs"))
            name = values.text(host, "host", "")
            key = values.text(host, "host-key", "")
            if not name:
                raise ConfigError.at(host, "a static host needs 'host'")
            if not key:
                raise ConfigError.at(host, f"static host {name} needs 'host-key' (the line "
                                           "ssh-keyscan prints), so ssh can check it")
            labels = values.names(host, "labels")
            if not labels:
                raise ConfigError.at(host, f"static host {name} needs 'labels'")
            hosts.append(StaticHostConfig(
                name, labels, key, values.text(host, "username", "root"),
                values.whole_number(host, "connection-port", 22, minimum=1),
                values.whole_number(host, "max-parallel-jobs", 1, minimum=1)))
        if not hosts:
            raise ConfigError.at(found, f"static provider {provider!r} lists no hosts")
        return tuple(hosts)

    def _label(self, item: Located) -> None:
        node = self._mapping(item, "labels", ("name", "min-ready"))
        name = _name(node, "label")
        if any(existing == name for existing, _, _ in self.labels):
            raise ConfigError.at(node, f"label {name!r} is defined twice")
        min_ready = values.whole_number(node, "min-ready", -1, minimum=0)
        self.labels.append((name, None if min_ready < 0 else min_ready, node))

    def result(self, paths: list[str]) -> NodesConfig:
        providers = [p for p, _ in self.providers]
        if not providers and not self.problems:
            self.problems.append(ConfigError(paths[0], 1, 1, "the nodes/ folder defines no "
                                             "provider; builds would get no nodes"))
        offered: dict[str, list[str]] = {}
        for p in providers:
            for label in p.labels:
                offered.setdefault(label, []).append(p.name)
        explicit = {name: (min_ready, node) for name, min_ready, node in self.labels}
        for name, (_, node) in explicit.items():
            if name not in offered:
                self.problems.append(ConfigError.at(
                    node, f"label {name!r} is offered by no provider; add it to a "
                          "provider's labels"))
        labels = tuple(
            LabelConfig(name, tuple(names),
                        0 if name.endswith(DRY_RUN)  # hosts are not booted ahead
                        else self.defaults.min_ready if explicit.get(name, (None,))[0] is None
                        else int(explicit[name][0] or 0))
            for name, names in offered.items())
        return NodesConfig(tuple(providers), labels, source=", ".join(paths))



def _name(node: MappingNode, what: str) -> str:
    if "name" not in node:
        raise ConfigError.at(node, f"a {what} needs a 'name'")
    name = values.text(node, "name", "")
    if not values.NAME.match(name):
        raise ConfigError.at(node.get("name") or node,
                             f"{what} name {name!r} must be letters, digits, '.', '_' or '-'")
    return name




def _number(node: MappingNode, key: str, default: float) -> float:
    value = node.get(key)
    if value is None:
        return default
    if (not isinstance(value, ScalarNode) or isinstance(value.value, bool)
            or not isinstance(value.value, int | float) or value.value < 0):
        raise ConfigError.at(value, f"'{key}' must be a number of CPUs (0 for no limit), "
                                    f"not {describe(value)}")
    return float(value.value)
