"""The kubernetes provider against a fake API server on a loopback port, through the real
``kubernetes`` client and a kubeconfig written for it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.domain.node import Node, NodeState, Provider, ResourceId
from keepgreen.nodes.kubernetes import (
    MISSING_CLIENT,
    NODE_ID_LABEL,
    PROVIDER_LABEL,
    SYSTEM_ID_LABEL,
    KubernetesError,
    KubernetesProvider,
    namespace_of,
)
from keepgreen.nodes.kubernetes_config import KubernetesConfig, KubernetesLabel
from keepgreen.nodes.leaks import plan_sweep
from tests.nodes.fake_kubernetes import CA_CERT, PENDING, PULL_ERROR, FakeKubernetes

CLUSTER = KubernetesConfig("", (
    KubernetesLabel("pod-debian", "pod", "docker.io/library/debian:bookworm", "500m", "1Gi"),
    KubernetesLabel("pod-stuck", "pod", "registry.example/stuck:1"),
    KubernetesLabel("pod-missing", "pod", "registry.example/missing:1"),
    KubernetesLabel("k8s-namespace", "namespace"),
))


@pytest.fixture
def fake() -> Iterator[FakeKubernetes]:
    server = FakeKubernetes()
    server.cluster.images["registry.example/stuck:1"] = PENDING
    server.cluster.images["registry.example/missing:1"] = PULL_ERROR
    yield server
    server.close()


@pytest.fixture
def site(tmp_path: Path, fake: FakeKubernetes) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    fake.write_kubeconfig(site / "kubeconfig", context="ci-admin")  # found in the site
    return site


@pytest.fixture
def provider(site: Path) -> KubernetesProvider:
    return KubernetesProvider(CLUSTER, site, name="cluster", boot_timeout=0.6,
                              poll_seconds=0.05)


def test_a_pod_label_gives_a_ready_node_reached_with_kubectl(
        provider: KubernetesProvider, fake: FakeKubernetes, site: Path) -> None:
    assert isinstance(provider, Provider)
    node = provider.create("pod-debian", "a1b2c3")
    assert node.state is NodeState.READY
    assert node.connection_type == "kubectl"
    namespace = namespace_of("a1b2c3")
    assert node.attribute("namespace") == namespace
    assert node.attribute("pod") == "node"
    assert node.attribute("context") == "ci-admin"  # the kubeconfig's current context
    assert node.attribute("api_server") == fake.url
    assert node.attribute("token") == f"sa-token-{namespace}"
    assert node.attribute("ca_cert") == CA_CERT
    labels = fake.cluster.namespaces[namespace]["metadata"]["labels"]
    assert labels == {NODE_ID_LABEL: "a1b2c3", PROVIDER_LABEL: "cluster",
                      SYSTEM_ID_LABEL: (site / "system-id").read_text().strip()}
    pod = fake.cluster.objects[("pods", namespace, "node")]
    container = pod["spec"]["containers"][0]
    assert container["image"] == "docker.io/library/debian:bookworm"
    assert container["command"][:2] == ["/bin/sh", "-c"]
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    # The node's account may act in its own namespace only.
    binding = fake.cluster.objects[("rolebindings", namespace, "keepgreen-worker")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "keepgreen-worker"}
    assert binding["subjects"][0]["namespace"] == namespace


def test_a_namespace_label_gives_the_namespace_and_a_token_for_it(
        provider: KubernetesProvider, fake: FakeKubernetes) -> None:
    node = provider.create("k8s-namespace", "ns0001")
    assert node.connection_type == "namespace"
    namespace = namespace_of("ns0001")
    assert dict(node.attributes)["namespace"] == namespace
    assert node.attribute("token") == f"sa-token-{namespace}"
    assert node.attribute("api_server") == fake.url
    assert node.attribute("context") == "ci-admin"
    assert not node.attribute("pod")
    assert not list(fake.cluster.pods())


def test_a_pod_that_never_runs_times_out_naming_its_label_and_leaves_nothing(
        provider: KubernetesProvider, fake: FakeKubernetes) -> None:
    with pytest.raises(KubernetesError) as failed:
        provider.create("pod-stuck", "stuck1")
    message = str(failed.value)
    assert "pod of label pod-stuck" in message
    assert "was not Running after 0.6 s" in message
    assert "ContainerCreating" in message
    assert "\n" not in message
    assert namespace_of("stuck1") not in fake.cluster.namespaces


def test_an_image_that_cannot_be_pulled_fails_at_once_with_the_reason(
        provider: KubernetesProvider, fake: FakeKubernetes) -> None:
    with pytest.raises(KubernetesError, match="ErrImagePull: failed to pull image "
                       '"registry.example/missing:1": pull access denied'):
        provider.create("pod-missing", "pull01")
    assert not fake.cluster.namespaces


def test_an_api_refusal_carries_the_apis_message(provider: KubernetesProvider,
                                                 fake: FakeKubernetes) -> None:
    fake.cluster.add_namespace(namespace_of("dup001"), {})
    with pytest.raises(KubernetesError, match='refused to create namespace keepgreen-dup001: '
                       'namespaces "keepgreen-dup001" already exists'):
        provider.create("k8s-namespace", "dup001")


def test_delete_removes_the_namespace_and_is_idempotent(provider: KubernetesProvider,
                                                        fake: FakeKubernetes) -> None:
    node = provider.create("pod-debian", "del001")
    provider.delete(node)
    assert not fake.cluster.namespaces and not fake.cluster.objects
    provider.delete(node)  # already gone: done
    # The sweep deletes by node id alone, without the node's attributes.
    provider.delete(Node(id="del001", label="", provider="cluster",
                         state=NodeState.DELETING, host=""))


def test_a_namespace_still_terminating_counts_as_deleted(provider: KubernetesProvider,
                                                         fake: FakeKubernetes) -> None:
    fake.cluster.linger = True  # as on a real cluster: the namespace takes a while to go
    node = provider.create("pod-debian", "slow01")
    provider.delete(node)
    assert fake.cluster.namespaces[namespace_of("slow01")]["status"]["phase"] == "Terminating"
    provider.delete(node)  # the API answers 409 Conflict: being deleted, which is done
    assert provider.list_resources() == []  # never swept again
    fake.cluster.purge()
    assert not fake.cluster.namespaces


def test_the_sweep_deletes_this_sites_leaks_and_never_another_sites(
        provider: KubernetesProvider, fake: FakeKubernetes, tmp_path: Path) -> None:
    provider.create("k8s-namespace", "kept01")
    mine = provider.system_id
    fake.cluster.add_namespace("keepgreen-leak01", {NODE_ID_LABEL: "leak01",
                                                    SYSTEM_ID_LABEL: mine})
    fake.cluster.add_namespace("keepgreen-other1", {NODE_ID_LABEL: "other1",
                                                    SYSTEM_ID_LABEL: "another-site"})
    fake.cluster.add_namespace("kube-system", {})
    resources = provider.list_resources()
    assert resources == [ResourceId("namespace", "keepgreen-kept01", "kept01"),
                         ResourceId("namespace", "keepgreen-leak01", "leak01")]
    first = plan_sweep(resources, {"kept01"}, (), frozenset())
    second = plan_sweep(provider.list_resources(), {"kept01"}, (), first.suspects)
    for resource in second.delete:
        assert resource.node_id is not None
        provider.delete(Node(id=resource.node_id, label="", provider="cluster",
                             state=NodeState.DELETING, host=""))
    assert set(fake.cluster.namespaces) == {"keepgreen-kept01", "keepgreen-other1",
                                            "kube-system"}
    # A second site on the same cluster has its own id, and sees none of these.
    other = KubernetesProvider(CLUSTER, tmp_path / "other-site", name="cluster",
                               kubeconfig=fake.write_kubeconfig(tmp_path / "kc"))
    assert other.system_id != mine
    assert other.list_resources() == []


def test_the_system_id_is_made_once_and_kept(site: Path) -> None:
    first = KubernetesProvider(CLUSTER, site).system_id
    assert (site / "system-id").read_text().strip() == first
    assert KubernetesProvider(CLUSTER, site).system_id == first


def test_an_unreachable_cluster_is_one_sentence(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    server = FakeKubernetes()
    server.write_kubeconfig(kubeconfig)
    server.close()  # nothing listens there any more
    provider = KubernetesProvider(CLUSTER, tmp_path, kubeconfig=kubeconfig)
    with pytest.raises(KubernetesError, match="^cannot reach the Kubernetes API to create "
                                              "namespace keepgreen-x00001: ") as failed:
        provider.create("k8s-namespace", "x00001")
    assert "\n" not in str(failed.value)


def test_without_the_client_package_the_provider_says_what_to_install(
        provider: KubernetesProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kubernetes", None)  # as if it were not installed
    assert provider.preflight() == MISSING_CLIENT
    assert "pip install 'keepgreen[kubernetes]'" in MISSING_CLIENT
    with pytest.raises(KubernetesError, match="needs the Python package 'kubernetes'"):
        provider.create("k8s-namespace", "nopkg1")


def test_an_unknown_label_is_refused(provider: KubernetesProvider) -> None:
    with pytest.raises(ValueError, match="has no label 'nope'"):
        provider.create("nope", "n1")
