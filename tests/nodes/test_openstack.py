"""OpenStack nodes, with openstacksdk talking HTTP to a fake cloud on a loopback port.

The fake's servers "are" a real sshd on 127.0.0.1, so host-key scanning and the login check
are the real thing; only Keystone, Nova, Glance and Neutron are stood in for.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, NodeState, Provider, ResourceId
from keepgreen.nodes.fake import FakeProvider
from keepgreen.nodes.openstack import (
    MISSING_SDK,
    NODE_TAG,
    PROVIDER_TAG,
    SYSTEM_TAG,
    OpenStackError,
    OpenStackProvider,
    QuotaError,
)
from keepgreen.nodes.openstack_config import CloudLabel
from keepgreen.nodes.pool import CHECK_PRIORITY, LabelConfig
from keepgreen.services.nodes.launcher import Launcher
from keepgreen.services.nodes.pool_service import LauncherService
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState
from tests.nodes.fake_openstack import UNREACHABLE, Cloud, clouds_yaml, serve
from tests.nodes.loopback_sshd import Sshd, loopback_sshd

pytestmark = [
    pytest.mark.timeout(60),
    # openstacksdk 4 warns about its own internals (influxdb, _compute_attributes...).
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]

LABELS = (CloudLabel("debian", "debian-12-generic", "m1.small"),
          CloudLabel("big", "debian-12-generic", min_ram=6000))
Make = Callable[..., OpenStackProvider]


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with loopback_sshd(tmp_path_factory.mktemp("sshd")) as running:
        yield running


@pytest.fixture
def cloud(tmp_path: Path) -> Iterator[Cloud]:
    with serve() as (state, auth_url):
        (tmp_path / "site").mkdir()
        (tmp_path / "site" / "clouds.yaml").write_text(clouds_yaml("ci-cloud", auth_url))
        yield state


@pytest.fixture
def make(cloud: Cloud, sshd: Sshd, tmp_path: Path) -> Make:
    def make(**changes: object) -> OpenStackProvider:
        values: dict[str, object] = {
            "site": tmp_path / "site", "state_dir": tmp_path / "site" / "nodes-ci",
            "launch_timeout": 5, "boot_timeout": 5, "launch_retries": 1,
            "key_name": "keepgreen", "private_key": sshd.client_key,
            "username": sshd.username, "connection_port": sshd.port, "poll": 0.05}
        values.update(changes)
        return OpenStackProvider("ci", "ci-cloud", LABELS, **values)  # type: ignore[arg-type]
    return make


def on(provider: OpenStackProvider, node: Node, command: str) -> str:
    result = subprocess.run([*provider.ssh_command(node), command], capture_output=True,
                            text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def posts(cloud: Cloud) -> int:
    return cloud.calls.count("POST /compute/v2.1/servers")


def test_a_node_is_a_tagged_server_reached_by_ssh_with_its_key_checked(
        make: Make, cloud: Cloud, sshd: Sshd, tmp_path: Path) -> None:
    provider = make()

    node = provider.create("debian", "n1")

    assert isinstance(provider, Provider)
    assert (node.state, node.host, node.port) == (NodeState.READY, "127.0.0.1", sshd.port)
    assert node.host_key == sshd.host_key and node.boot_seconds is not None
    assert on(provider, node, "echo reached") == "reached"
    (server,) = cloud.servers.values()
    system_id = (tmp_path / "site" / "system-id").read_text().strip()
    assert server["metadata"] == {NODE_TAG: "n1", PROVIDER_TAG: "ci", SYSTEM_TAG: system_id}
    assert (server["key_name"], server["flavor"]["original_name"]) == ("keepgreen", "m1.small")
    assert provider.list_resources() == [ResourceId("server", server["id"], "n1")]


def test_min_ram_picks_the_smallest_flavor_with_enough(make: Make, cloud: Cloud) -> None:
    make().create("big", "n2")
    assert [s["flavor"]["original_name"] for s in cloud.servers.values()] == ["m1.large"]


def test_named_networks_are_the_servers_networks(make: Make, cloud: Cloud) -> None:
    make(networks=["storage"]).create("debian", "n14")
    (server,) = cloud.servers.values()
    assert list(server["addresses"]) == ["storage"]
    with pytest.raises(OpenStackError, match="cloud ci-cloud has no network 'nowhere'"):
        make(networks=["nowhere"]).create("debian", "n15")


def test_a_server_stuck_in_build_hits_the_launch_timeout_and_is_deleted(
        make: Make, cloud: Cloud) -> None:
    cloud.mode = "build"
    with pytest.raises(OpenStackError, match=r"was not ACTIVE within the launch-timeout of "
                                             r"0\.3 seconds \(still BUILD\)"):
        make(launch_timeout=0.3).create("debian", "n3")
    assert posts(cloud) == 1 and cloud.servers == {}


def test_a_server_in_error_fails_with_the_clouds_fault_and_is_deleted(
        make: Make, cloud: Cloud) -> None:
    cloud.mode = "error"
    with pytest.raises(OpenStackError) as failed:
        make(launch_retries=2).create("debian", "n4")
    assert str(failed.value).startswith("2 launches in cloud ci-cloud failed; the last: ")
    assert "went to ERROR in cloud ci-cloud: No valid host was found." in str(failed.value)
    assert posts(cloud) == 2 and cloud.servers == {}


def test_a_failed_attempt_is_replaced_by_a_new_server_within_launch_retries(
        make: Make, cloud: Cloud) -> None:
    cloud.errors_next = 1

    node = make(launch_retries=2).create("debian", "n13")

    assert node.state is NodeState.READY and posts(cloud) == 2
    assert [s["status"] for s in cloud.servers.values()] == ["ACTIVE"]


def test_a_server_whose_sshd_never_answers_hits_the_boot_timeout(
        make: Make, cloud: Cloud, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(OpenStackError, match=r"node n5 did not answer ssh within the "
                                             r"boot-timeout of 1 seconds: no ssh host key"):
        make(boot_timeout=1, connection_port=9).create("debian", "n5")
    assert cloud.servers == {}
    # The end of its console is logged: what the boot said is usually why.
    assert "node n5 never answered ssh; the end of its console:" in caplog.text
    assert "cloud-init: no route to metadata" in caplog.text


def test_an_exhausted_quota_is_said_plainly_and_no_server_is_created(
        make: Make, cloud: Cloud) -> None:
    cloud.limits["maxTotalInstances"] = 1
    cloud.add_server("someone-else", {})
    with pytest.raises(QuotaError, match=r"cloud ci-cloud quota is exhausted for a m1.small "
                                         r"server: instances 1 of 1 used; no server was "
                                         r"created"):
        make().create("debian", "n6")
    cloud.limits.update(maxTotalInstances=10, maxTotalRAMSize=4096)
    with pytest.raises(QuotaError, match=r"RAM \(MiB\) 2048 of 4096 used"):
        make().create("big", "n7")
    assert posts(cloud) == 0


def test_unknown_image_flavor_or_keypair_names_what_is_missing(
        make: Make, cloud: Cloud) -> None:
    images = list(cloud.images)
    cloud.images.clear()
    with pytest.raises(OpenStackError, match="cloud ci-cloud has no image 'debian-12-generic' "
                                             r"\(label debian\)"):
        make().create("debian", "n8")
    cloud.images.extend(images)
    with pytest.raises(OpenStackError, match="cloud ci-cloud has no keypair 'nope'; create it"):
        make(key_name="nope").create("debian", "n8")
    cloud.flavors.pop(0)
    with pytest.raises(OpenStackError, match="cloud ci-cloud has no flavor 'm1.small'"):
        make().create("debian", "n8")
    assert posts(cloud) == 0


def test_a_cloud_that_cannot_be_used_is_said_in_one_sentence(
        make: Make, cloud: Cloud, tmp_path: Path) -> None:
    site = tmp_path / "site"
    good = (site / "clouds.yaml").read_text()
    (site / "clouds.yaml").write_text(good.replace("password: secret", "password: wrong"))
    with pytest.raises(OpenStackError, match=r"^cloud ci-cloud refused the credentials of "
                                             r"its clouds.yaml entry: The request you have "
                                             r"made requires authentication. \(HTTP 401\)$"):
        make().create("debian", "n12")
    with pytest.raises(OpenStackError, match=r"^cloud 'elsewhere' is not usable: Cloud "
                                             r"elsewhere was not found. \(clouds.yaml is read"):
        OpenStackProvider("ci", "elsewhere", LABELS, site=site,
                          state_dir=tmp_path).create("debian", "n12")
    (site / "clouds.yaml").write_text(clouds_yaml("ci-cloud", "http://127.0.0.1:9/identity"))
    with pytest.raises(OpenStackError) as unreachable:
        make().create("debian", "n12")
    assert str(unreachable.value).endswith("Unable to establish connection to "
                                           "http://127.0.0.1:9/identity")
    assert "\n" not in str(unreachable.value)


def test_delete_is_idempotent(make: Make, cloud: Cloud) -> None:
    provider = make()
    node = provider.create("debian", "n9")

    on(provider, node, "true")  # pins its host key in the provider's state folder
    provider.delete(node)
    provider.delete(node)
    provider.delete(Node(id="never-made", label="", provider="ci", state=NodeState.DELETING,
                         host=""))

    assert cloud.servers == {} and provider.list_resources() == []
    assert list(provider.state_dir.glob("known_hosts-*")) == []


def test_a_floating_ip_is_attached_and_released(make: Make, cloud: Cloud) -> None:
    cloud.fixed_address = UNREACHABLE  # only the floating address reaches the sshd
    provider = make(floating_ip=True)

    node = provider.create("debian", "n10")

    assert node.host == "127.0.0.1" and on(provider, node, "echo via-fip") == "via-fip"
    (ip,) = cloud.floating_ips.values()
    public = next(n for n in cloud.networks if n["router:external"])
    assert ip["floating_network_id"] == public["id"] and ip["port_id"] is not None
    assert [r.kind for r in provider.list_resources()] == ["floating-ip", "server"]
    provider.delete(node)
    assert cloud.floating_ips == {} and cloud.servers == {}


def test_the_leak_sweep_deletes_leaked_servers_of_this_site_only(
        make: Make, cloud: Cloud, tmp_path: Path) -> None:
    provider = make()
    mine = {SYSTEM_TAG: provider.system_id, PROVIDER_TAG: "ci"}
    leaked = cloud.add_server("ci-debian-crashed", {**mine, NODE_TAG: "crashed"})
    foreign = cloud.add_server("other-site", {SYSTEM_TAG: "another-site", PROVIDER_TAG: "ci",
                                              NODE_TAG: "crashed"})
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.migrate()
    launcher = Launcher(db, {"ci": provider}, [LabelConfig("debian", ("ci",))])
    try:
        request = launcher.request(["debian"], CHECK_PRIORITY, "check/job")
        launcher.step()
        assert launcher.get_request(request).state is RequestState.FULFILLED
        in_use = launcher.accept(request)[0]

        assert launcher.sweep() == []  # first sighting: a launch may be recording it
        assert launcher.sweep() == [ResourceId("server", leaked, "crashed")]

        assert leaked not in cloud.servers and foreign in cloud.servers
        assert [s["metadata"][NODE_TAG] for s in cloud.servers.values()
                if s["id"] != foreign] == [in_use.id]
    finally:
        db.dispose()


def test_a_restarted_server_deletes_the_servers_its_crashed_process_left_at_once(
        cloud: Cloud, sshd: Sshd, tmp_path: Path) -> None:
    site = tmp_path / "site"
    provider = OpenStackProvider("local", "ci-cloud", (CloudLabel("local", "debian-12-generic",
                                                                  "m1.small"),),
                                 site=site, state_dir=tmp_path / "state", poll=0.05)
    mine = {SYSTEM_TAG: provider.system_id, PROVIDER_TAG: "local"}
    leaked = cloud.add_server("local-local-crashed", {**mine, NODE_TAG: "crashed"})
    foreign = cloud.add_server("other-site", {SYSTEM_TAG: "another-site",
                                              PROVIDER_TAG: "local", NODE_TAG: "crashed"})
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.migrate()
    try:
        service = LauncherService(db, site, make_provider=lambda config: provider)

        service.recover()

        assert leaked not in cloud.servers and foreign in cloud.servers
    finally:
        db.dispose()


def test_an_unreachable_cloud_neither_stops_the_start_nor_other_providers_sweeps(
        make: Make, tmp_path: Path) -> None:
    (tmp_path / "site" / "clouds.yaml").write_text(
        clouds_yaml("ci-cloud", "http://127.0.0.1:9/identity"))
    down = make()
    other = FakeProvider("other", labels=("small",))
    other.leaked.add(ResourceId("server", "left-over", "gone"))
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.migrate()
    try:
        service = LauncherService(db, tmp_path / "site", make_provider=lambda config: down)
        service.recover()  # logs the cloud's problem instead of failing the start

        launcher = Launcher(db, {"ci": down, "other": other},
                            [LabelConfig("debian", ("ci",)), LabelConfig("small", ("other",))])
        launcher.sweep()
        assert launcher.sweep() == [ResourceId("server", "left-over", "gone")]
        assert other.leaked == set()
    finally:
        db.dispose()


def test_without_openstacksdk_a_launch_fails_with_one_sentence(
        make: Make, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # keepgreen itself starts without the package: only a provider's first call needs it.
    started = subprocess.run([sys.executable, "-c", "import sys; sys.modules['openstack'] = "
                              "None; import keepgreen.services.nodes.pool_service"],
                             capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 0, started.stderr
    monkeypatch.setitem(sys.modules, "openstack", None)  # import openstack now fails
    provider = make()
    assert provider.preflight() == MISSING_SDK
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.migrate()
    launcher = Launcher(db, {"ci": provider}, [LabelConfig("debian", ("ci",))])
    try:
        request = launcher.request(["debian"], CHECK_PRIORITY, "check/job")
        launcher.step()
        found = launcher.get_request(request)
        assert found.state is RequestState.FAILED
        assert found.reason == ("NODE_FAILURE: provider ci cannot make nodes on this machine: "
                                "the openstack driver needs the openstacksdk package; install "
                                "it with `pip install 'keepgreen[openstack]'`")
    finally:
        db.dispose()


def test_a_nodes_file_with_an_openstack_provider_serves_node_requests(
        cloud: Cloud, sshd: Sshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "secrets").mkdir()
    (site / "secrets" / "ci").write_bytes(sshd.client_key.read_bytes())
    (site / "secrets" / "ci").chmod(0o600)
    nodes_file = ("providers:\n"
                  "  - name: ci\n"
                  "    driver: openstack\n"
                  "    cloud: ci-cloud\n"
                  "    max-servers: 3\n"
                  "    launch-timeout: 5\n"
                  "    boot-timeout: 5\n"
                  "    key-name: keepgreen\n"
                  "    key-file: secrets/ci\n"
                  f"    username: {sshd.username}\n"
                  f"    connection-port: {sshd.port}\n"
                  "    labels:\n"
                  "      - {name: debian, image: debian-12-generic, flavor: m1.small}\n")
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.migrate()
    try:
        service = LauncherService(db, site)
        # What the merged config project holds: read from git in the running server.
        monkeypatch.setattr(service, "read_nodes_folder",
                            lambda: {"nodes/cloud.yaml": nodes_file})
        assert service.reload_nodes() == []
        provider = service.launcher.providers["ci"]
        assert isinstance(provider, OpenStackProvider) and provider.max_servers == 3

        request = service.request(["debian"], CHECK_PRIORITY, "check/job")
        service.launcher.step()
        (node,) = service.launcher.accept(request)

        assert node.private_key == site / "secrets" / "ci"
        assert on(provider, node, "echo configured") == "configured"
        service.stop()  # deletes every node
        assert cloud.servers == {}
    finally:
        db.dispose()
