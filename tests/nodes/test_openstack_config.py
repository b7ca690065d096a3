"""``driver: openstack`` providers in the ``nodes/`` folder: what they configure, and problems
that name file and line."""

from __future__ import annotations

from keepgreen.nodes.openstack_config import CloudLabel, OpenStackConfig
from keepgreen.nodes.siteconfig import NodeDefaults, parse_nodes_config

DEFAULTS = NodeDefaults(min_ready=0, max_servers=3)
BASE = ("providers:\n"
        "  - name: cloud1\n"
        "    driver: openstack\n"
        "    cloud: mycloud\n")
PROVIDER = BASE + "    key-file: secrets/cloud1\n"
LABELS = ("    labels:\n"
          "      - name: debian\n"
          "        image: debian-12\n"
          "        flavor: m1.small\n")


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_nodes_config({"nodes/cloud.yaml": text},
                                               defaults=DEFAULTS)[1]]


def test_an_openstack_provider_with_every_key() -> None:
    config, found = parse_nodes_config({"nodes/cloud.yaml": (
        PROVIDER +
        "    max-servers: 12\n"
        "    launch-timeout: 600\n"
        "    boot-timeout: 120\n"
        "    launch-retries: 2\n"
        "    networks: [private, storage]\n"
        "    floating-ip: true\n"
        "    key-name: keepgreen\n"
        "    username: debian\n"
        "    connection-port: 2222\n"
        + LABELS +
        "      - name: big\n"
        "        image: debian-12\n"
        "        min-ram: 16384\n"
        "labels:\n"
        "  - name: debian\n"
        "    min-ready: 1\n")}, defaults=DEFAULTS)

    assert found == []
    (provider,) = config.providers
    assert (provider.driver, provider.labels, provider.max_servers) == (
        "openstack", ("debian", "big"), 12)
    assert provider.openstack == OpenStackConfig(
        cloud="mycloud", labels=(CloudLabel("debian", "debian-12", "m1.small"),
                                 CloudLabel("big", "debian-12", "", 16384)),
        launch_timeout=600, boot_timeout=120, launch_retries=2,
        networks=("private", "storage"), floating_ip=True, key_name="keepgreen",
        key_file="secrets/cloud1", username="debian", connection_port=2222)
    assert {(c.name, c.min_ready) for c in config.labels} == {("debian", 1), ("big", 0)}
    assert config.summary()[0] == ("provider cloud1 (openstack): labels debian, big, "
                                   "max-servers 12")


def test_left_out_keys_take_nodepools_defaults() -> None:
    config, found = parse_nodes_config({"nodes/cloud.yaml": PROVIDER + LABELS},
                                       defaults=DEFAULTS)
    assert found == []
    cloud = config.providers[0].openstack
    assert cloud is not None and config.providers[0].max_servers == 3
    assert (cloud.launch_timeout, cloud.boot_timeout, cloud.launch_retries,
            cloud.floating_ip, cloud.username) == (3600, 60, 3, False, "root")


def test_problems_name_file_and_line() -> None:
    assert problems("providers:\n  - name: cloud1\n    driver: openstack\n" + LABELS) == [
        "nodes/cloud.yaml:2: openstack provider 'cloud1' needs 'cloud', the name of its "
        "entry in clouds.yaml"]
    assert problems(BASE + LABELS) == [
        "nodes/cloud.yaml:2: openstack provider 'cloud1' needs 'key-file', the private key "
        "(in the site folder) that logs in to its servers; upload its public half as "
        "'key-name'"]
    assert problems(BASE + "    key-file: /root/.ssh/id_rsa\n" + LABELS) == [
        "nodes/cloud.yaml:5: provider 'cloud1': 'key-file' is a path inside the site "
        "folder, not '/root/.ssh/id_rsa'"]
    assert problems(PROVIDER + "    launch-timeout: soon\n" + LABELS) == [
        "nodes/cloud.yaml:6: 'launch-timeout' must be a whole number of at least 1 "
        '(seconds), not text "soon"']
    assert problems(PROVIDER + "    floating-ip: maybe\n" + LABELS) == [
        "nodes/cloud.yaml:6: 'floating-ip' must be true or false, not text \"maybe\""]
    assert problems(PROVIDER + "    region: north\n" + LABELS)[0].startswith(
        "nodes/cloud.yaml:6: unknown key 'region' in openstack provider; allowed: name, "
        "driver, cloud,")
    assert problems(PROVIDER) == [
        "nodes/cloud.yaml:2: openstack provider 'cloud1' needs 'labels', a list of "
        "{name, image, flavor}"]
    assert problems(PROVIDER + "    labels:\n      - name: debian\n        flavor: m1\n") == [
        "nodes/cloud.yaml:7: label 'debian' needs 'image', the name of a cloud image"]
    assert problems(PROVIDER + "    labels:\n      - name: debian\n        image: d\n") == [
        "nodes/cloud.yaml:7: label 'debian' needs 'flavor' (a flavor name) or 'min-ram' "
        "(MiB, the smallest flavor with as much)"]
    assert problems(PROVIDER + LABELS + "        min-ram: lots\n") == [
        "nodes/cloud.yaml:10: 'min-ram' must be a whole number of at least 0, not text "
        '"lots"']
    assert problems(PROVIDER + LABELS + "        disk: 10\n") == [
        "nodes/cloud.yaml:10: unknown key 'disk' in label; allowed: name, image, flavor, "
        "min-ram"]
