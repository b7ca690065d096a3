"""The ``nodes/`` folder of the config project: what it configures, and problems that name
file and line."""

from __future__ import annotations

from keepgreen.nodes.siteconfig import (
    NodeDefaults,
    NodesConfig,
    parse_nodes_config,
    parse_size,
)
from keepgreen.services.siteconf.seeding import seed_files

DEFAULTS = NodeDefaults(min_ready=0, max_servers=3, memory_bytes=1 << 30, cpus=0.0)


def problems(text: str, path: str = "nodes/providers.yaml") -> list[str]:
    return [str(p) for p in parse_nodes_config({path: text}, defaults=DEFAULTS)[1]]


def test_the_seed_is_one_local_provider_with_the_settings_defaults() -> None:
    config, found = parse_nodes_config(seed_files(), defaults=DEFAULTS)
    assert found == []
    assert config == NodesConfig.default(DEFAULTS)
    assert config.summary() == ["provider local (local): labels local, max-servers 3, "
                                "memory 1 GiB", "label local: min-ready 0, from local"]


def test_no_nodes_folder_means_the_default() -> None:
    config, found = parse_nodes_config({"zuul.d/jobs.yaml": "[]"}, defaults=DEFAULTS)
    assert (config, found) == (NodesConfig.default(DEFAULTS), [])


def test_providers_labels_and_limits() -> None:
    config, found = parse_nodes_config({
        "nodes/providers.yaml": (
            "providers:\n"
            "  - name: local\n"
            "    labels: [small, big]\n"
            "    max-servers: 2\n"
            "    memory: 512MiB\n"
            "    cpus: 1.5\n"
            "  - name: lab\n"
            "    driver: static\n"
            "    hosts:\n"
            "      - host: 10.1.2.3\n"
            "        labels: [big]\n"
            "        host-key: ssh-ed25519 AAAA\n"
            "        max-parallel-jobs: 2\n"),
        "nodes/labels.yaml": "labels:\n  - name: small\n    min-ready: 2\n"},
        defaults=DEFAULTS)
    assert found == []
    local, lab = config.providers
    assert (local.max_servers, local.memory_bytes, local.cpus) == (2, 512 << 20, 1.5)
    assert (lab.driver, lab.max_servers, lab.hosts[0].host) == ("static", 2, "10.1.2.3")
    assert {(c.name, c.providers, c.min_ready) for c in config.labels} == {
        ("small", ("local",), 2), ("big", ("local", "lab"), 0)}


def test_problems_name_file_and_line() -> None:
    assert problems("providers:\n  - name: local\n    driver: cloud\n") == [
        "nodes/providers.yaml:3: provider 'local' has unknown driver 'cloud'; "
        "use one of local, static, openstack, kubernetes"]
    assert problems("providers:\n  - name: local\n    max-servers: lots\n") == [
        "nodes/providers.yaml:3: 'max-servers' must be a whole number of at least 1, "
        'not text "lots"']
    assert problems("providers:\n  - name: local\n    memory: plenty\n") == [
        "nodes/providers.yaml:3: provider 'local': memory must be a size such as 2GiB or "
        '512MiB (0 for no limit), not text "plenty"']
    assert problems("providers:\n  - name: local\nlabels:\n  - name: gpu\n    min-ready: 1\n"
                    ) == ["nodes/providers.yaml:4: label 'gpu' is offered by no provider; "
                          "add it to a provider's labels"]
    assert problems("providers:\n  - name: local\n    colour: red\n") == [
        "nodes/providers.yaml:3: unknown key 'colour' in provider; allowed: name, driver, "
        "labels, max-servers, memory, cpus, disk, hosts, dry-run, context, max-pods, "
        "boot-timeout"]
    assert problems("providers: [\n")[0].startswith("nodes/providers.yaml:2: YAML syntax")
    assert problems("labels: []\n") == [
        "nodes/providers.yaml:1: the nodes/ folder defines no provider; builds would get "
        "no nodes"]


def test_sizes() -> None:
    assert parse_size("2GiB") == 2 << 30
    assert parse_size("512M") == 512 << 20
    assert parse_size("1.5g") == 3 << 29
    assert parse_size("0") == 0
    assert parse_size("lots") is None


STATIC = """\
providers:
  - name: production
    driver: static
    hosts:
      - host: web1.example.org
        labels: [web]
        host-key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB
      - host: db1.example.org
        labels: [db]
        host-key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC
"""
DRY_RUN = """\
    dry-run:
      username: keepgreen-ro
      projects: [org/system-config]
"""


def test_a_static_provider_with_dry_run_offers_its_labels_read_only_too() -> None:
    text = STATIC.replace("    hosts:\n", DRY_RUN + "    hosts:\n")
    config, found = parse_nodes_config({"nodes/providers.yaml": text}, defaults=DEFAULTS)
    assert found == []
    (provider,) = config.providers
    assert provider.labels == ("web", "db", "web:dry-run", "db:dry-run")
    assert provider.dry_run is not None and provider.dry_run.username == "keepgreen-ro"
    # Dry-run labels are never booted ahead of need.
    assert {label.name: label.min_ready for label in config.labels}["web:dry-run"] == 0
    assert config.dry_run_labels("org/system-config") == {"web", "db"}
    assert config.dry_run_labels("org/app") == frozenset()  # the site names the projects


def test_without_dry_run_no_project_may_dry_run() -> None:
    config, found = parse_nodes_config({"nodes/providers.yaml": STATIC}, defaults=DEFAULTS)
    assert found == [] and config.dry_run_labels("org/system-config") == frozenset()


def test_dry_run_problems_name_file_and_line() -> None:
    root = STATIC.replace("    hosts:\n", DRY_RUN.replace("keepgreen-ro", "root") + "    hosts:\n")
    assert problems(root) == [
        "nodes/providers.yaml:5: provider 'production': 'dry-run' needs the 'username' of a "
        "read-only account on the hosts (not root)"]
    nobody = STATIC.replace("    hosts:\n", DRY_RUN.replace(
        "      projects: [org/system-config]\n", "") + "    hosts:\n")
    assert problems(nobody) == [
        "nodes/providers.yaml:5: provider 'production': 'dry-run' needs 'projects', the "
        "projects whose changes may be dry-run here"]
    local = "providers:\n  - name: local\n    driver: local\n" + DRY_RUN
    assert problems(local) == [
        "nodes/providers.yaml:4: provider 'local': 'dry-run' is for static providers"]
