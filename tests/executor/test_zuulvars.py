"""The ``zuul`` variables and the inventory have the shapes Zuul's job library reads."""

from __future__ import annotations

import base64
import shlex
from pathlib import Path

from keepgreen.domain.node import Node, NodeState
from keepgreen.executor.model import (
    BuildRequest,
    GroupSpec,
    Item,
    JobSpec,
    NodeSpec,
    Playbook,
    Project,
)
from keepgreen.executor.zuulvars import (
    ExecutorPaths,
    Host,
    SshRoute,
    inventory,
    resources_vars,
    zuul_vars,
)

PATHS = ExecutorPaths(hostname="exec1", work_root="/b/work", src_root="/b/work/src",
                      log_root="/b/work/logs", inventory_file="/b/ansible/inventory.yaml",
                      result_data_file="/b/work/results.json")
LIB = Project("org/lib", canonical_hostname="review.example.org", checkout="main")
APP = Project("org/app", canonical_hostname="review.example.org", source=Path("/src/app"))


def request() -> BuildRequest:
    job = JobSpec(name="unit", run=(Playbook(Path("/cfg"), "playbooks/run.yaml"),),
                  nodes=(NodeSpec("controller", "local"), NodeSpec("worker", "local")),
                  groups=(GroupSpec("workers", ("worker",)),), vars={"greeting": "hi"},
                  host_vars={"worker": {"role": "w", "ansible_host": "evil.example"}},
                  group_vars={"workers": {"size": 2}}, timeout=600, post_timeout=120,
                  pre_timeout=60, override_checkout="stable/1", attempts=2, voting=False,
                  tags=("fast",))
    ahead = Item(LIB, change="41", patchset="2", branch="main", ref="refs/changes/41/41/2")
    item = Item(APP, change="42", patchset="3", branch="main", ref="refs/changes/42/42/3",
                change_url="https://review.example.org/c/42", message="Fix it\n\nbody")
    return BuildRequest(uuid="b1", job=job, item=item, items_ahead=(ahead,),
                        required_projects=(Project("org/tools", "review.example.org",
                                                   required=True),),
                        pipeline="gate", tenant="t1", buildset="bs1", attempt=2)


def test_the_zuul_dict_describes_the_item_and_the_build() -> None:
    zuul = zuul_vars(request(), PATHS, "2.19.0")

    assert zuul["project"] == {
        "name": "org/app", "short_name": "app", "canonical_hostname": "review.example.org",
        "canonical_name": "review.example.org/org/app",
        "src_dir": "src/review.example.org/org/app"}
    assert (zuul["change"], zuul["patchset"], zuul["branch"]) == ("42", "3", "main")
    assert zuul["ref"] == "refs/changes/42/42/3"
    assert (zuul["pipeline"], zuul["tenant"], zuul["job"]) == ("gate", "t1", "unit")
    assert (zuul["build"], zuul["buildset"]) == ("b1", "bs1")
    assert (zuul["attempts"], zuul["max_attempts"]) == (2, 2)
    assert (zuul["timeout"], zuul["post_timeout"], zuul["voting"]) == (600, 120, False)
    assert (zuul["pre_timeout"], zuul["override_checkout"]) == (60, "stable/1")
    assert base64.b64decode(zuul["message"]).decode() == "Fix it\n\nbody"
    assert zuul["executor"] == {
        "hostname": "exec1", "work_root": "/b/work", "src_root": "/b/work/src",
        "log_root": "/b/work/logs", "inventory_file": "/b/ansible/inventory.yaml",
        "result_data_file": "/b/work/results.json"}


def test_items_list_the_speculative_state_with_the_tested_change_last() -> None:
    zuul = zuul_vars(request(), PATHS)

    assert [(i["project"]["name"], i["change"]) for i in zuul["items"]] == [
        ("org/lib", "41"), ("org/app", "42")]
    assert zuul["items"][1]["change_url"] == "https://review.example.org/c/42"
    assert sorted(zuul["projects"]) == ["review.example.org/org/app",
                                        "review.example.org/org/lib",
                                        "review.example.org/org/tools"]
    tools = zuul["projects"]["review.example.org/org/tools"]
    assert tools["required"] is True and tools["src_dir"] == "src/review.example.org/org/tools"


def node(name: str, host: str) -> Node:
    return Node(id=name, label="local", provider="local", state=NodeState.READY, host=host,
                host_key="ssh-ed25519 AAAA")


def test_inventory_has_hosts_groups_and_job_vars_and_pins_connections() -> None:
    route = SshRoute(proxy_command="python3 -I -S /keepgreen/ansible/fdpass.py /relay/0",
                     known_hosts="/b/ansible/known_hosts", host_key_alias="controller",
                     private_key="/b/ansible/key-controller")
    hosts = [Host("controller", node("n0", "198.18.0.2"), route),
             Host("worker", node("n1", "198.18.0.6"), route)]

    inv = inventory(request(), hosts)["all"]

    assert set(inv["hosts"]) == {"controller", "worker"}
    controller = inv["hosts"]["controller"]
    assert (controller["ansible_host"], controller["ansible_port"],
            controller["ansible_user"]) == ("198.18.0.2", 22, "root")
    assert controller["nodepool"]["label"] == "local"
    args = shlex.split(controller["ansible_ssh_common_args"])
    assert "ProxyCommand=python3 -I -S /keepgreen/ansible/fdpass.py /relay/0" in args
    assert "StrictHostKeyChecking=yes" in args and "HostKeyAlias=controller" in args
    # A job's host vars add to a host but cannot redirect its connection.
    assert inv["hosts"]["worker"]["role"] == "w"
    assert inv["hosts"]["worker"]["ansible_host"] == "198.18.0.6"
    assert inv["children"]["workers"] == {"hosts": {"worker": None}, "vars": {"size": 2}}
    assert inv["vars"] == {"greeting": "hi"}
    assert route.known_hosts_line(hosts[0].node) == "controller ssh-ed25519 AAAA"


def pod(name: str) -> Node:
    return Node(id=name, label="pod-debian", provider="cluster", state=NodeState.READY,
                host="", username="", connection_type="kubectl",
                attributes=(("api_server", "https://k8s.example:6443"),
                            ("context", "ci-admin"), ("namespace", f"keepgreen-{name}"),
                            ("pod", "node"), ("token", "t0k3n")))


def test_a_pod_node_is_a_kubectl_host_and_ssh_nodes_stay_as_they_are() -> None:
    route = SshRoute(proxy_command="relay", known_hosts="/b/kh", host_key_alias="controller",
                     private_key="/b/key")
    hosts = [Host("controller", node("n0", "198.18.0.2"), route), Host("worker", pod("k1"))]

    inv = inventory(request(), hosts)["all"]

    worker = inv["hosts"]["worker"]
    assert worker["ansible_connection"] == "kubectl"
    assert worker["ansible_kubectl_namespace"] == "keepgreen-k1"
    assert worker["ansible_kubectl_pod"] == "node"
    assert worker["ansible_kubectl_host"] == "https://k8s.example:6443"
    assert worker["ansible_kubectl_token"] == "t0k3n"
    assert "ansible_ssh_common_args" not in worker
    assert worker["nodepool"]["label"] == "pod-debian"
    assert worker["role"] == "w"  # the job's host vars still apply
    controller = inv["hosts"]["controller"]
    assert controller["ansible_connection"] == "ssh"
    assert controller["ansible_host"] == "198.18.0.2"


def test_a_pod_node_without_a_token_is_reached_through_the_kubeconfig_context() -> None:
    bare = Node(id="k2", label="pod", provider="cluster", state=NodeState.READY, host="",
                connection_type="kubectl",
                attributes=(("context", "ci-admin"), ("namespace", "ns"), ("pod", "node")))
    worker = inventory(request(), [Host("worker", bare)])["all"]["hosts"]["worker"]
    assert worker["ansible_kubectl_context"] == "ci-admin"
    assert "ansible_kubectl_token" not in worker


def test_a_namespace_node_is_no_host_but_a_resource() -> None:
    space = Node(id="k3", label="k8s-namespace", provider="cluster", state=NodeState.READY,
                 host="", connection_type="namespace",
                 attributes=(("api_server", "https://k8s.example:6443"),
                             ("namespace", "keepgreen-k3"), ("token", "t0k3n")))
    inv = inventory(request(), [Host("worker", space)])["all"]
    assert inv["hosts"] == {}
    resources = resources_vars({"worker": space, "controller": node("n0", "198.18.0.2"),
                                "pod": pod("k1")})
    assert resources == {
        "worker": {"namespace": "keepgreen-k3", "api_server": "https://k8s.example:6443",
                   "token": "t0k3n"},
        "pod": {"namespace": "keepgreen-k1", "pod": "node", "context": "ci-admin",
                "api_server": "https://k8s.example:6443", "token": "t0k3n"}}
