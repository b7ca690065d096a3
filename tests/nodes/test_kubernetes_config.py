"""A ``driver: kubernetes`` provider in the ``nodes/`` folder: labels of type pod and
namespace, the context and the pod limit, and problems that name file and line."""

from __future__ import annotations

from keepgreen.nodes.kubernetes_config import KubernetesConfig, KubernetesLabel
from keepgreen.nodes.siteconfig import NodeDefaults, parse_nodes_config

DEFAULTS = NodeDefaults(max_servers=3)
PROVIDER = ("providers:\n"
            "  - name: cluster\n"
            "    driver: kubernetes\n")


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_nodes_config({"nodes/k8s.yaml": text}, defaults=DEFAULTS)[1]]


def test_a_kubernetes_provider_with_pod_and_namespace_labels() -> None:
    config, found = parse_nodes_config({"nodes/k8s.yaml": (
        PROVIDER +
        "    context: ci-admin\n"
        "    max-pods: 10\n"
        "    boot-timeout: 90\n"
        "    labels:\n"
        "      - name: pod-debian\n"
        "        type: pod\n"
        "        image: docker.io/library/debian:bookworm\n"
        "        cpu: 500m\n"
        "        memory: 1Gi\n"
        "      - name: k8s-namespace\n"
        "        type: namespace\n"
        "labels:\n"
        "  - name: pod-debian\n"
        "    min-ready: 1\n")}, defaults=DEFAULTS)
    assert found == []
    (cluster,) = config.providers
    assert (cluster.driver, cluster.labels, cluster.max_servers) == (
        "kubernetes", ("pod-debian", "k8s-namespace"), 10)
    assert cluster.kubernetes == KubernetesConfig("ci-admin", (
        KubernetesLabel("pod-debian", "pod", "docker.io/library/debian:bookworm", "500m",
                        "1Gi"),
        KubernetesLabel("k8s-namespace", "namespace")), boot_timeout=90.0)
    assert {(c.name, c.providers, c.min_ready) for c in config.labels} == {
        ("pod-debian", ("cluster",), 1), ("k8s-namespace", ("cluster",), 0)}


def test_max_servers_works_too_and_the_context_defaults_to_the_current_one() -> None:
    config, found = parse_nodes_config({"nodes/k8s.yaml": (
        PROVIDER + "    max-servers: 2\n    labels:\n      - {name: ns, type: namespace}\n")},
        defaults=DEFAULTS)
    assert found == []
    assert config.providers[0].max_servers == 2
    assert config.providers[0].kubernetes == KubernetesConfig(
        "", (KubernetesLabel("ns", "namespace"),))


def test_problems_name_file_and_line() -> None:
    assert problems(PROVIDER + "    labels:\n      - {name: p, type: vm}\n") == [
        "nodes/k8s.yaml:5: label 'p' has type 'vm'; use pod or namespace"]
    assert problems(PROVIDER + "    labels:\n      - name: p\n        type: pod\n") == [
        "nodes/k8s.yaml:5: pod label 'p' needs 'image', the container image its pod runs"]
    assert problems(PROVIDER + "    labels:\n      - name: p\n        type: pod\n"
                               "        image: debian\n        memory: lots\n") == [
        "nodes/k8s.yaml:8: label 'p': memory must be a Kubernetes quantity such as 512Mi or "
        '2Gi, not text "lots"']
    assert problems(PROVIDER + "    labels:\n      - {name: n, type: namespace, image: x}\n"
                    ) == ["nodes/k8s.yaml:5: namespace label 'n': 'image' is for pod labels"]
    assert problems(PROVIDER + "    max-pods: 0\n    labels:\n      - {name: n, type: "
                               "namespace}\n") == [
        "nodes/k8s.yaml:4: 'max-pods' must be a whole number of at least 1, not the number 0"]
    assert problems(PROVIDER) == [
        "nodes/k8s.yaml:2: kubernetes provider 'cluster' needs 'labels': a list of {name, "
        "type: pod|namespace, image, cpu, memory}"]
    assert problems(PROVIDER + "    hosts: []\n    labels:\n      - {name: n, type: "
                               "namespace}\n") == [
        "nodes/k8s.yaml:4: unknown key 'hosts' in kubernetes provider 'cluster'; allowed: "
        "name, driver, context, max-pods, max-servers, boot-timeout, labels"]
    assert problems(PROVIDER + "    boot-timeout: soon\n    labels:\n      - {name: n, type: "
                               "namespace}\n") == [
        "nodes/k8s.yaml:4: 'boot-timeout' must be a number of seconds above 0, not text "
        '"soon"']
    assert problems("providers:\n  - name: local\n    context: x\n") == [
        "nodes/k8s.yaml:3: provider 'local': 'context' is for kubernetes providers"]
