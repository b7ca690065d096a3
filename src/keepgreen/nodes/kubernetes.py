"""Kubernetes: each node is a namespace of its own, with a pod in it for ``pod`` labels.

For every node the provider creates a namespace named after the node id and labelled with
the node id, the provider name and the site's system id (``<site>/system-id``, made on first
use), a service account with a role that may do everything inside that namespace and
nothing outside it, and a token for the account. A ``namespace`` label hands out just that
(connection type ``namespace``: the API server, the namespace and the token); a ``pod``
label also starts a pod that sleeps until it is deleted, waits until it is Running, and
hands it out with connection type ``kubectl``. Whatever fails, the namespace goes, and the
error is one sentence carrying the API's own reason (an image that cannot be pulled, a
quota).

``delete`` deletes the namespace, which takes everything in it along; a namespace that is
already gone is fine. ``list_resources`` lists the namespaces carrying this site's system
id, so two sites sharing a cluster never sweep each other's nodes.

The ``kubernetes`` package is imported on first use only: a site without it runs every
other provider, and a kubernetes provider then fails its requests with one sentence saying
what to install (``preflight``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from keepgreen.domain.node import Node, NodeState, ResourceId
from keepgreen.nodes.kubernetes_config import KubernetesConfig, KubernetesLabel

MISSING_CLIENT = ("the kubernetes driver needs the Python package 'kubernetes'; install it "
                  "with `pip install 'keepgreen[kubernetes]'`")
NODE_ID_LABEL = "keepgreen/node-id"
PROVIDER_LABEL = "keepgreen/provider"
SYSTEM_ID_LABEL = "keepgreen/system-id"
SERVICE_ACCOUNT = "keepgreen-worker"
POD = "node"
# Container states that no amount of waiting fixes: the launch fails at once with them.
_HOPELESS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                       "CreateContainerConfigError", "CreateContainerError",
                       "CrashLoopBackOff", "ErrImageNeverPull"})


class KubernetesError(RuntimeError):
    """A node could not be made or deleted; the message is one sentence saying why."""


def system_id(site: Path) -> str:
    """This site's id on shared clusters, read from ``<site>/system-id`` (made the first
    time)."""
    path = site / "system-id"
    if not path.exists():
        site.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"system-id.{uuid.uuid4().hex}")
        partial.write_text(uuid.uuid4().hex + "\n")
        try:
            os.link(partial, path)  # fails if another process made it first: theirs stands
        except FileExistsError:
            pass
        finally:
            partial.unlink(missing_ok=True)
    return path.read_text().strip()


def namespace_of(node_id: str) -> str:
    """The namespace of a node: a DNS label made from the node id."""
    cleaned = re.sub(r"[^a-z0-9-]", "-", node_id.lower()).strip("-")
    return f"keepgreen-{cleaned}"[:63].rstrip("-")


def _client() -> Any:
    try:
        import kubernetes  # here, not at the top: the product runs without it
    except ImportError as exc:
        raise KubernetesError(MISSING_CLIENT) from exc
    return kubernetes


class KubernetesProvider:
    """Nodes as namespaces (and pods) of one cluster. Keeps the ``Provider`` port's
    contract; see the module docstring."""

    def __init__(self, cluster: KubernetesConfig, site: Path, *, name: str = "kubernetes",
                 kubeconfig: Path | None = None, boot_timeout: float = 300.0,
                 poll_seconds: float = 1.0) -> None:
        self.name = name
        self.cluster = cluster
        self.labels = tuple(label.name for label in cluster.labels)
        self.site = Path(site)
        self.kubeconfig = kubeconfig
        self.boot_timeout = boot_timeout
        self.poll_seconds = poll_seconds
        self._api: Any = None
        self._context = cluster.context
        self._lock = threading.Lock()
        self._system_id: str | None = None

    # --- the provider port -----------------------------------------------------------------

    def preflight(self) -> str | None:
        """Why this provider cannot make nodes at all (the client package is missing)."""
        try:
            _client()
        except KubernetesError as exc:
            return str(exc)
        return None

    def create(self, label: str, node_id: str) -> Node:
        config = self._label(label)
        created = time.time()
        namespace = namespace_of(node_id)
        self._call(f"create namespace {namespace}", self._core().create_namespace, {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": self._tags(node_id)}})
        try:
            attributes = self._grant(namespace)
            if config.type == "pod":
                self._start_pod(config, namespace)
                attributes["pod"] = POD
        except BaseException:
            self._delete_namespace(namespace, quiet=True)
            raise
        return Node(id=node_id, label=label, provider=self.name, state=NodeState.READY,
                    host="", username="", created_at=created, ready_at=time.time(),
                    connection_type="kubectl" if config.type == "pod" else "namespace",
                    attributes=tuple(sorted(attributes.items())))

    def delete(self, node: Node) -> None:
        """Delete the node's namespace and all in it; a namespace already gone is done."""
        self._delete_namespace(node.attribute("namespace") or namespace_of(node.id))

    def list_resources(self) -> list[ResourceId]:
        found = self._call("list namespaces", self._core().list_namespace,
                           label_selector=f"{SYSTEM_ID_LABEL}={self.system_id}")
        # A Terminating namespace is deleted already; the cluster finishes it on its own.
        return sorted(ResourceId("namespace", item.metadata.name,
                                 (item.metadata.labels or {}).get(NODE_ID_LABEL))
                      for item in found.items if item.metadata.deletion_timestamp is None)

    # --- what a node is made of ------------------------------------------------------------

    @property
    def system_id(self) -> str:
        if self._system_id is None:
            self._system_id = system_id(self.site)
        return self._system_id

    def _tags(self, node_id: str) -> dict[str, str]:
        return {NODE_ID_LABEL: node_id, PROVIDER_LABEL: self.name,
                SYSTEM_ID_LABEL: self.system_id}

    def _grant(self, namespace: str) -> dict[str, str]:
        """A service account that may do anything in ``namespace`` only, and its token."""
        core, rbac = self._core(), self._rbac()
        meta = {"name": SERVICE_ACCOUNT, "namespace": namespace}
        self._call("create the service account", core.create_namespaced_service_account,
                   namespace, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
        self._call("create the role", rbac.create_namespaced_role, namespace, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
        self._call("create the role binding", rbac.create_namespaced_role_binding, namespace, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": SERVICE_ACCOUNT},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT,
                          "namespace": namespace}]})
        secret = f"{SERVICE_ACCOUNT}-token"
        self._call("create the token secret", core.create_namespaced_secret, namespace, {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": secret, "namespace": namespace,
                         "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT}}})
        deadline = time.monotonic() + self.boot_timeout
        while True:  # the cluster's token controller fills the secret in
            data = self._call("read the token secret", core.read_namespaced_secret,
                              secret, namespace).data or {}
            if data.get("token"):
                break
            if time.monotonic() >= deadline:
                raise KubernetesError(f"the cluster gave no token for the service account "
                                      f"of namespace {namespace} within "
                                      f"{self.boot_timeout:g} s")
            time.sleep(self.poll_seconds)
        attributes = {"namespace": namespace, "context": self._context,
                      "api_server": self._api_client().configuration.host,
                      "token": base64.b64decode(data["token"]).decode()}
        if data.get("ca.crt"):
            attributes["ca_cert"] = base64.b64decode(data["ca.crt"]).decode()
        return attributes

    def _start_pod(self, label: KubernetesLabel, namespace: str) -> None:
        resources = {k: v for k, v in (("cpu", label.cpu), ("memory", label.memory)) if v}
        container: dict[str, Any] = {
            "name": POD, "image": label.image,
            # Keeps the pod alive for the job's kubectl exec calls, whatever the image runs.
            "command": ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep infinity & wait"]}
        if resources:
            container["resources"] = {"requests": resources, "limits": resources}
        core = self._core()
        self._call("create the pod", core.create_namespaced_pod, namespace, {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": POD, "namespace": namespace},
            "spec": {"containers": [container], "restartPolicy": "Never",
                     "automountServiceAccountToken": False}})
        deadline = time.monotonic() + self.boot_timeout
        last = "Pending"
        while True:
            pod = self._call("read the pod", core.read_namespaced_pod, POD, namespace)
            phase = (pod.status.phase if pod.status else None) or "Pending"
            if phase == "Running":
                return
            waiting = [s.state.waiting for s in (pod.status.container_statuses or [])
                       if s.state and s.state.waiting] if pod.status else []
            why = "; ".join(f"{w.reason}: {w.message}" if w.message else str(w.reason)
                            for w in waiting if w.reason)
            if phase in ("Failed", "Succeeded") or any(w.reason in _HOPELESS for w in waiting):
                raise KubernetesError(f"the pod of label {label.name} in namespace "
                                      f"{namespace} cannot start: {why or phase}")
            last = f"{phase}, {why}" if why else phase
            if time.monotonic() >= deadline:
                raise KubernetesError(f"the pod of label {label.name} in namespace "
                                      f"{namespace} was not Running after "
                                      f"{self.boot_timeout:g} s (it is {last})")
            time.sleep(self.poll_seconds)

    def _delete_namespace(self, namespace: str, *, quiet: bool = False) -> None:
        api = _client()
        try:
            self._core().delete_namespace(namespace, propagation_policy="Background")
        except api.client.exceptions.ApiException as exc:
            # 404: gone already; 409: being deleted already (Terminating). Both are done.
            if exc.status not in (404, 409) and not quiet:
                raise KubernetesError(f"cannot delete namespace {namespace}: "
                                      f"{_reason(exc)}") from None
        except Exception as exc:
            if not quiet:
                raise KubernetesError(f"cannot delete namespace {namespace}: "
                                      f"{_first_line(exc)}") from None

    # --- the API ---------------------------------------------------------------------------

    def _label(self, label: str) -> KubernetesLabel:
        for config in self.cluster.labels:
            if config.name == label:
                return config
        raise ValueError(f"provider {self.name!r} has no label {label!r}; "
                         f"it offers {', '.join(self.labels)}")

    def _api_client(self) -> Any:
        with self._lock:
            if self._api is None:
                self._api = self._connect()
            return self._api

    def _connect(self) -> Any:
        api = _client()
        path = self.kubeconfig
        if path is None and (self.site / "kubeconfig").exists():
            path = self.site / "kubeconfig"
        try:
            if path is None and not _default_kubeconfig_exists():
                configuration = api.client.Configuration()
                api.config.load_incluster_config(client_configuration=configuration)
                return api.client.ApiClient(configuration)
            file = str(path) if path else None
            if not self._context:
                _, active = api.config.list_kube_config_contexts(config_file=file)
                self._context = active["name"]
            return api.config.new_client_from_config(config_file=file,
                                                     context=self._context or None)
        except Exception as exc:
            where = path or "the default kubeconfig"
            raise KubernetesError(f"provider {self.name!r} cannot load its cluster "
                                  f"credentials from {where}: {_first_line(exc)}") from None

    def _core(self) -> Any:
        return _client().client.CoreV1Api(self._api_client())

    def _rbac(self) -> Any:
        return _client().client.RbacAuthorizationV1Api(self._api_client())

    def _call(self, what: str, method: Any, *args: Any, **kwargs: Any) -> Any:
        api = _client()
        try:
            return method(*args, **kwargs)
        except api.client.exceptions.ApiException as exc:
            raise KubernetesError(f"the Kubernetes API refused to {what}: "
                                  f"{_reason(exc)}") from None
        except KubernetesError:
            raise
        except Exception as exc:
            raise KubernetesError(f"cannot reach the Kubernetes API to {what}: "
                                  f"{_first_line(exc)}") from None


def _default_kubeconfig_exists() -> bool:
    found = os.environ.get("KUBECONFIG", "")
    paths = [Path(p) for p in found.split(os.pathsep) if p] or [Path.home() / ".kube" / "config"]
    return any(p.exists() for p in paths)


def _reason(exc: Any) -> str:
    """The message of the API's Status object, or the HTTP status when it has none."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or f"{exc.status} {exc.reason}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
