"""A site whose ``nodes/`` folder has a kubernetes provider: the launcher runs it, against
a fake cluster on a loopback port reached through ``<site>/kubeconfig``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.nodes.siteconfig import NodeDefaults
from keepgreen.services.nodes.pool_service import LauncherService
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState
from tests.nodes.fake_kubernetes import FakeKubernetes

NODES = {"nodes/providers.yaml": (
    "providers:\n"
    "  - name: cluster\n"
    "    driver: kubernetes\n"
    "    max-pods: 2\n"
    "    labels:\n"
    "      - {name: pod-debian, type: pod, image: debian:bookworm}\n"
    "      - {name: k8s-namespace, type: namespace}\n")}


class Site(LauncherService):
    """A launcher whose config project holds ``NODES``."""

    def read_nodes_folder(self) -> dict[str, str]:
        return dict(NODES)


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    server = FakeKubernetes()
    yield server
    server.close()


@pytest.fixture
def service(database_url: str, tmp_path: Path, fake: FakeKubernetes) -> Iterator[Site]:
    fake.write_kubeconfig(tmp_path / "kubeconfig")
    db = Database(database_url)
    db.migrate()
    site = Site(db, tmp_path, NodeDefaults(max_servers=1, memory_bytes=0))
    assert site.reload_nodes() == []
    yield site
    db.dispose()


def test_a_build_gets_a_pod_node_and_its_namespace_goes_when_it_is_released(
        service: Site, fake: FakeKubernetes) -> None:
    launcher = service.launcher
    request_id = launcher.request(["pod-debian"], 200, "check/unit")
    launcher.step()
    request = launcher.get_request(request_id)
    assert request.state is RequestState.FULFILLED, request.reason
    (stored,) = launcher.nodes()
    assert stored.node.connection_type == "kubectl"
    assert stored.node.attribute("pod") == "node"
    assert list(fake.cluster.namespaces) == [stored.node.attribute("namespace")]
    (node,) = launcher.accept(request_id)
    assert node.attribute("token")  # what the build's kubectl logs in with
    launcher.release([node.id])
    launcher.step()
    assert not fake.cluster.namespaces
    assert launcher.nodes() == []


def test_without_the_client_package_the_request_fails_naming_the_package(
        service: Site, fake: FakeKubernetes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed
    launcher = service.launcher
    request_id = launcher.request(["k8s-namespace"], 200, "check/unit")
    launcher.step()
    request = launcher.get_request(request_id)
    assert request.state is RequestState.FAILED
    assert request.reason == (
        "NODE_FAILURE: provider cluster cannot make nodes on this machine: the kubernetes "
        "driver needs the Python package 'kubernetes'; install it with "
        "`pip install 'keepgreen[kubernetes]'`")
    assert request.failures == 1  # not retried: nothing a retry could change
    assert not fake.cluster.requests
