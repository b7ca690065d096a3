"""The ``nodes/`` keys of a provider with ``driver: openstack``.

Example::

    providers:
      - name: cloud1
        driver: openstack
        cloud: mycloud          # an entry of clouds.yaml
        max-servers: 10
        launch-timeout: 600     # seconds until the server is ACTIVE
        boot-timeout: 120       # seconds from ACTIVE until its sshd answers
        launch-retries: 3
        networks: [private]
        floating-ip: false
        key-name: keepgreen     # the nova keypair put on each server
        key-file: secrets/cloud1  # its private half, relative to the site folder
        username: debian
        labels:
          - name: debian-12
            image: debian-12-generic
            flavor: m1.medium
          - name: big
            image: debian-12-generic
            min-ram: 16384      # the smallest flavor with at least 16 GiB

Parsing is pure: values are checked here, names (cloud, images, flavors, networks) only
when the provider talks to the cloud. Every problem names file and line.
"""

from __future__ import annotations

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

DRIVER = "openstack"
KEYS = ("name", "driver", "cloud", "max-servers", "launch-timeout", "boot-timeout",
        "launch-retries", "networks", "floating-ip", "key-name", "key-file", "username",
        "connection-port", "labels")
LABEL_KEYS = ("name", "image", "flavor", "min-ram")
# Nodepool's defaults: a cloud may take long to schedule, a booted image should answer soon.
LAUNCH_TIMEOUT = 3600
BOOT_TIMEOUT = 60
LAUNCH_RETRIES = 3


@dataclass(frozen=True)
class CloudLabel:
    """A label served by booting ``image`` on ``flavor`` (or the smallest flavor with at
    least ``min_ram`` MiB when no flavor is named)."""

    name: str
    image: str
    flavor: str = ""
    min_ram: int = 0


@dataclass(frozen=True)
class OpenStackConfig:
    """What an OpenStack provider needs beyond its name, labels and ``max-servers``."""

    cloud: str
    labels: tuple[CloudLabel, ...]
    launch_timeout: int = LAUNCH_TIMEOUT
    boot_timeout: int = BOOT_TIMEOUT
    launch_retries: int = LAUNCH_RETRIES
    networks: tuple[str, ...] = ()
    floating_ip: bool = False
    key_name: str = ""
    key_file: str = ""
    username: str = "root"
    connection_port: int = 22


def is_openstack(node: Located) -> bool:
    """Whether a provider entry asks for the OpenStack driver."""
    if not isinstance(node, MappingNode):
        return False
    driver = node.get("driver")
    return isinstance(driver, ScalarNode) and driver.value == DRIVER


def parse_openstack(node: MappingNode, name: str, default_servers: int
                    ) -> tuple[tuple[str, ...], int, OpenStackConfig]:
    """The labels, ``max-servers`` and cloud settings of provider ``name``."""
    for key_node, _ in node.entries:
        if key_node.value not in KEYS:
            raise ConfigError.at(key_node, f"unknown key {key_node.value!r} in openstack "
                                           f"provider; allowed: {', '.join(KEYS)}")
    cloud = values.text(node, "cloud", "")
    if not cloud:
        raise ConfigError.at(node, f"openstack provider {name!r} needs 'cloud', the name of "
                                   "its entry in clouds.yaml")
    key_file = values.text(node, "key-file", "")
    if not key_file:
        raise ConfigError.at(node, f"openstack provider {name!r} needs 'key-file', the "
                                   "private key (in the site folder) that logs in to its "
                                   "servers; upload its public half as 'key-name'")
    if key_file.startswith("/") or ".." in key_file.split("/"):
        raise ConfigError.at(node.get("key-file") or node,
                             f"provider {name!r}: 'key-file' is a path inside the site "
                             f"folder, not {key_file!r}")
    labels = _labels(node, name)
    config = OpenStackConfig(
        cloud=cloud, labels=labels,
        launch_timeout=values.whole_number(node, "launch-timeout", LAUNCH_TIMEOUT, minimum=1),
        boot_timeout=values.whole_number(node, "boot-timeout", BOOT_TIMEOUT, minimum=1),
        launch_retries=values.whole_number(node, "launch-retries", LAUNCH_RETRIES, minimum=1),
        networks=values.names(node, "networks"),
        floating_ip=values.flag(node, "floating-ip", False),
        key_name=values.text(node, "key-name", ""), key_file=key_file,
        username=values.text(node, "username", "root"),
        connection_port=values.whole_number(node, "connection-port", 22, minimum=1))
    servers = values.whole_number(node, "max-servers", default_servers, minimum=1)
    return tuple(label.name for label in labels), servers, config


def _labels(node: MappingNode, provider: str) -> tuple[CloudLabel, ...]:
    found = node.get("labels")
    if found is None or not isinstance(found, SequenceNode) or not list(found):
        raise ConfigError.at(found or node, f"openstack provider {provider!r} needs "
                                            "'labels', a list of {name, image, flavor}")
    labels: list[CloudLabel] = []
    for item in found:
        if not isinstance(item, MappingNode):
            raise ConfigError.at(item, f"each label of openstack provider {provider!r} is a "
                                       f"mapping with name, image and flavor, not "
                                       f"{describe(item)}")
        for key_node, _ in item.entries:
            if key_node.value not in LABEL_KEYS:
                raise ConfigError.at(key_node, f"unknown key {key_node.value!r} in label; "
                                               f"allowed: {', '.join(LABEL_KEYS)}")
        name = values.text(item, "name", "")
        if not values.NAME.match(name):
            raise ConfigError.at(item.get("name") or item,
                                 f"label name {name!r} must be letters, digits, '.', '_' "
                                 "or '-'")
        if any(label.name == name for label in labels):
            raise ConfigError.at(item, f"label {name!r} is listed twice in provider "
                                       f"{provider!r}")
        image = values.text(item, "image", "")
        if not image:
            raise ConfigError.at(item, f"label {name!r} needs 'image', the name of a cloud "
                                       "image")
        flavor = values.text(item, "flavor", "")
        min_ram = values.whole_number(item, "min-ram", 0, minimum=0)
        if not flavor and not min_ram:
            raise ConfigError.at(item, f"label {name!r} needs 'flavor' (a flavor name) or "
                                       "'min-ram' (MiB, the smallest flavor with as much)")
        labels.append(CloudLabel(name, image, flavor, min_ram))
    return tuple(labels)



