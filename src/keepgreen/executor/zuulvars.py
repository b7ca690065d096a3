"""The ``zuul`` variables and the Ansible inventory of a build, built from plain values.

Jobs and roles written for Zuul (zuul-jobs and site libraries) read ``zuul.project.src_dir``,
``zuul.items``, ``zuul.executor.log_root`` and friends; this module gives them the same
shapes Zuul documents. It is pure: the runner decides paths and how nodes are reached, and
hands them in.

The inventory follows Zuul's: every node is a host named after its node-set name, with
``ansible_host``/``ansible_port``/``ansible_user`` and a ``nodepool`` dict; groups list
their hosts; ``all.vars`` holds the job's variables. ``zuul`` itself is passed as an extra
vars file, the highest precedence Ansible has, so no job or host variable can shadow it.

Kubernetes nodes: a pod (connection type ``kubectl``) is a host reached with Ansible's
kubectl connection (``ansible_kubectl_namespace``/``_pod``, and the API server and the
namespace's token, or else the kubeconfig ``context``); a bare namespace (connection type
``namespace``) is no host. Both are listed in ``zuul.resources`` under their node-set name
(``namespace``, ``api_server``, ``token``, and ``pod``/``context`` for pods), for jobs that
run kubectl or helm themselves.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from keepgreen.domain.node import Node
from keepgreen.executor.model import BuildRequest, Item, Project


@dataclass(frozen=True)
class ExecutorPaths:
    """Where a build's files are on the executor (``zuul.executor``)."""

    hostname: str
    work_root: str
    src_root: str
    log_root: str
    inventory_file: str
    result_data_file: str


@dataclass(frozen=True)
class SshRoute:
    """How ssh inside the sandbox reaches one node.

    ``proxy_command`` connects ssh to the node (see ``relay``); ``known_hosts`` pins the
    node's host key, checked strictly, under the name ``host_key_alias`` (so two nodes
    with the same address behind different namespaces never share an entry);
    ``private_key`` is the key to log in with.
    """

    proxy_command: str
    known_hosts: str
    host_key_alias: str
    private_key: str

    def known_hosts_line(self, node: Node) -> str:
        return f"{self.host_key_alias} {node.host_key}"


@dataclass(frozen=True)
class Host:
    """A node of the build as the inventory shows it; ``route`` is for ssh nodes only."""

    name: str
    node: Node
    route: SshRoute | None = None


def project_vars(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "short_name": project.short_name,
        "canonical_hostname": project.canonical_hostname,
        "canonical_name": project.canonical_name,
        "src_dir": project.src_dir,
    }


def _item_vars(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {"project": project_vars(item.project), "branch": item.branch,
                            "ref": item.ref}
    if item.change is not None:
        data.update(change=item.change, patchset=item.patchset, change_url=item.change_url)
        if item.message is not None:
            data["change_message"] = item.message
        if item.topic is not None:
            data["topic"] = item.topic
    for name in ("oldrev", "newrev"):
        value = getattr(item, name)
        if value is not None:
            data[name] = value
    return data


def _projects_vars(request: BuildRequest) -> dict[str, Any]:
    """``zuul.projects``: every prepared repository, keyed by canonical name."""
    projects: dict[str, Any] = {}
    for project in request.projects:
        data = project_vars(project)
        data.update(required=project.required, checkout=project.checkout,
                    checkout_description="branch checkout", commit=project.commit)
        projects[project.canonical_name] = data
    return projects


def zuul_vars(request: BuildRequest, paths: ExecutorPaths,
              ansible_version: str = "") -> dict[str, Any]:
    """The ``zuul`` dict for one attempt of a build."""
    job = request.job
    item = request.item
    data: dict[str, Any] = {
        "build": request.uuid,
        "buildset": request.buildset,
        "job": job.name,
        "jobtags": list(job.tags),
        "voting": job.voting,
        "pipeline": request.pipeline,
        "tenant": request.tenant,
        "event_id": request.event_id,
        "post_review": False,
        "attempts": request.attempt,
        "max_attempts": job.attempts,
        "timeout": job.timeout,
        "pre_timeout": job.pre_timeout,
        "post_timeout": job.post_timeout,
        "project": project_vars(item.project),
        "projects": _projects_vars(request),
        "items": [_item_vars(i) for i in request.items],
        "child_jobs": [],
        "branch": item.branch,
        "ref": item.ref,
        "override_checkout": job.override_checkout,
        "ansible_version": ansible_version,
        "executor": {
            "hostname": paths.hostname,
            "work_root": paths.work_root,
            "src_root": paths.src_root,
            "log_root": paths.log_root,
            "inventory_file": paths.inventory_file,
            "result_data_file": paths.result_data_file,
        },
    }
    if item.change is not None:
        data.update(change=item.change, patchset=item.patchset, change_url=item.change_url)
        if item.message is not None:
            # Zuul passes the commit message base64-encoded, so that nothing in it is ever
            # evaluated as a Jinja template.
            data["message"] = base64.b64encode(item.message.encode()).decode()
        if item.topic is not None:
            data["topic"] = item.topic
    if item.ref.startswith("refs/tags/"):
        data["tag"] = item.ref[len("refs/tags/"):]
    for name in ("oldrev", "newrev"):
        value = getattr(item, name)
        if value is not None:
            data[name] = value
    return data


def ssh_common_args(route: SshRoute) -> str:
    """The ssh options that make Ansible reach a node through its relay, key pinned."""
    options = [
        ("ProxyCommand", route.proxy_command),
        ("ProxyUseFdpass", "yes"),
        ("StrictHostKeyChecking", "yes"),
        ("UserKnownHostsFile", route.known_hosts),
        ("HostKeyAlias", route.host_key_alias),
        ("GlobalKnownHostsFile", "/dev/null"),
        ("IdentitiesOnly", "yes"),
    ]
    return " ".join(f"-o {shlex.quote(f'{key}={value}')}" for key, value in options)


_SSH_FIXED = ("ansible_host", "ansible_port", "ansible_ssh_common_args",
              "ansible_ssh_private_key_file", "ansible_connection")


def kubectl_vars(node: Node) -> dict[str, str]:
    """How Ansible's kubectl connection reaches a pod node: its namespace and pod, and the
    API server with the namespace's token (or, without a token, the kubeconfig context)."""
    found = {"ansible_connection": "kubectl",
             "ansible_kubectl_namespace": node.attribute("namespace"),
             "ansible_kubectl_pod": node.attribute("pod")}
    if node.attribute("token"):
        found.update(ansible_kubectl_host=node.attribute("api_server"),
                     ansible_kubectl_token=node.attribute("token"))
    elif node.attribute("context"):
        found["ansible_kubectl_context"] = node.attribute("context")
    return found


def resources_vars(nodes: Mapping[str, Node]) -> dict[str, Any]:
    """``zuul.resources``: the Kubernetes nodes of the build by node-set name."""
    keys = ("namespace", "pod", "context", "api_server", "token")
    return {name: {k: node.attribute(k) for k in keys if node.attribute(k)}
            for name, node in nodes.items() if node.connection_type in ("kubectl", "namespace")}


def host_vars(host: Host, python: str) -> dict[str, Any]:
    node = host.node
    nodepool = {"label": node.label, "provider": node.provider, "cloud": "", "region": "",
                "az": "", "host_id": node.id, "interface_ip": node.host,
                "public_ipv4": node.host, "private_ipv4": node.host}
    if node.connection_type == "kubectl":
        return {**kubectl_vars(node), "ansible_python_interpreter": python,
                "nodepool": nodepool}
    if host.route is None:
        raise ValueError(f"node {node.id} of {host.name!r} is an ssh node without a route")
    return {
        "ansible_host": node.host,
        "ansible_port": node.port,
        "ansible_user": node.username,
        "ansible_connection": "ssh",
        "ansible_ssh_private_key_file": host.route.private_key,
        "ansible_ssh_common_args": ssh_common_args(host.route),
        "ansible_python_interpreter": python,
        "nodepool": nodepool,
    }


def inventory(request: BuildRequest, hosts: list[Host],
              python: str = "auto_silent") -> dict[str, Any]:
    """The inventory of one attempt: hosts, groups, and the job's variables.

    Host vars from the job override the node's defaults except the connection settings,
    which a job must not be able to point elsewhere. Namespace nodes are no hosts.
    """
    job = request.job
    all_hosts: dict[str, Any] = {}
    for host in hosts:
        if host.node.connection_type == "namespace":
            continue
        defaults = host_vars(host, python)
        merged = {**defaults, **dict(job.host_vars.get(host.name, {}))}
        fixed_keys = (_SSH_FIXED if host.node.connection_type == "ssh"
                      else tuple(kubectl_vars(host.node)))
        for fixed in fixed_keys:
            merged[fixed] = defaults[fixed]
        for key in list(merged):
            if key.startswith("ansible_kubectl_") and key not in fixed_keys:
                del merged[key]  # a job must not add its own way in either
        all_hosts[host.name] = merged
    children: dict[str, Any] = {}
    for group in job.groups:
        children[group.name] = {"hosts": {name: None for name in group.nodes}}
        if group.name in job.group_vars:
            children[group.name]["vars"] = dict(job.group_vars[group.name])
    group_all: dict[str, Any] = {"hosts": all_hosts, "vars": dict(job.vars)}
    if children:
        group_all["children"] = children
    return {"all": group_all}
