"""A fake Kubernetes API server on a loopback port, for the kubernetes provider's tests.

It serves the calls the provider makes with the shapes a real API server answers with:
namespaces (labels, label selectors, deletion), service accounts, secrets (a
``kubernetes.io/service-account-token`` secret gets its ``token`` and ``ca.crt`` filled in,
as the token controller does), roles and role bindings, and pods whose status moves from
Pending to Running, or never does, or fails its image pull, as the test chooses per image.
Errors are ``Status`` objects with Kubernetes' reasons (NotFound 404, AlreadyExists 409,
Unauthorized 401). Requests must carry the kubeconfig's bearer token.

The real ``kubernetes`` client talks to it unmodified through ``write_kubeconfig``.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ADMIN_TOKEN = "fake-admin-token"
CA_CERT = "-----BEGIN CERTIFICATE-----\nZmFrZQ==\n-----END CERTIFICATE-----\n"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
# Per-image behaviour of pods: how they look on every read after creation.
RUNNING = "running"
PENDING = "pending"  # stays ContainerCreating forever
PULL_ERROR = "pull-error"

# Plural resource name -> (kind, API version) for the namespaced resources served.
_NAMESPACED = {
    "serviceaccounts": ("ServiceAccount", "v1"),
    "secrets": ("Secret", "v1"),
    "pods": ("Pod", "v1"),
    "roles": ("Role", "rbac.authorization.k8s.io/v1"),
    "rolebindings": ("RoleBinding", "rbac.authorization.k8s.io/v1"),
}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status(code: int, reason: str, message: str, name: str = "", kind: str = ""
           ) -> dict[str, Any]:
    details = {"name": name, "kind": kind} if name else {}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "details": details, "code": code}


@dataclass
class FakeCluster:
    """The cluster's state; tests read it and choose pod behaviour with ``images``."""

    namespaces: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    images: dict[str, str] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # True: a deleted namespace stays Terminating (as on a real cluster, while its content
    # goes) until ``purge``; False: it is gone at once.
    linger: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pods(self) -> Iterator[dict[str, Any]]:
        return (o for (plural, _, _), o in self.objects.items() if plural == "pods")

    def purge(self) -> None:
        """The namespace controller finishes: Terminating namespaces disappear."""
        for name in [n for n, ns in self.namespaces.items()
                     if ns["status"]["phase"] == "Terminating"]:
            del self.namespaces[name]

    def add_namespace(self, name: str, labels: dict[str, str]) -> None:
        """A namespace made outside the provider (a leak, or another site's)."""
        self.namespaces[name] = _stamp({"apiVersion": "v1", "kind": "Namespace",
                                        "metadata": {"name": name, "labels": labels}})
        self.namespaces[name]["status"] = {"phase": "Active"}


def _stamp(body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
    meta = body.setdefault("metadata", {})
    meta.update(uid=str(uuid.uuid4()), resourceVersion="1", creationTimestamp=_now())
    if namespace is not None:
        meta["namespace"] = namespace
    return body


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}") if length else {}

    def _handle(self, method: str) -> None:
        body = self._body()
        url = urlsplit(self.path)
        if self.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
            self._send(401, status(401, "Unauthorized", "Unauthorized"))
            return
        with self.cluster.lock:
            self.cluster.requests.append((method, url.path))
            code, answer = self._route(method, url.path.rstrip("/").split("/")[1:],
                                       parse_qs(url.query), body)
        self._send(code, answer)

    do_GET = lambda self: self._handle("GET")  # noqa: E731
    do_POST = lambda self: self._handle("POST")  # noqa: E731
    do_DELETE = lambda self: self._handle("DELETE")  # noqa: E731

    def _route(self, method: str, parts: list[str], query: dict[str, list[str]],
               body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        # /api/v1/namespaces[/{ns}[/{plural}[/{name}]]] and the same under RBAC's group.
        prefix = 2 if parts[:2] == ["api", "v1"] else 3 if parts[:1] == ["apis"] else -1
        rest = parts[prefix:] if prefix > 0 else []
        if not rest or rest[0] != "namespaces":
            return 404, status(404, "NotFound", "the server could not find the requested "
                                                "resource")
        if prefix == 2 and len(rest) == 1:
            return self._namespaces(method, query, body)
        if prefix == 2 and len(rest) == 2:
            return self._namespace(method, rest[1])
        if len(rest) in (3, 4):
            return self._namespaced(method, rest[1], rest[2],
                                    rest[3] if len(rest) == 4 else None, body)
        return 404, status(404, "NotFound", "the server could not find the requested resource")

    def _namespaces(self, method: str, query: dict[str, list[str]], body: dict[str, Any]
                    ) -> tuple[int, dict[str, Any]]:
        cluster = self.cluster
        if method == "POST":
            name = body["metadata"]["name"]
            if name in cluster.namespaces:
                return 409, status(409, "AlreadyExists", f'namespaces "{name}" already exists',
                                   name, "namespaces")
            body = _stamp(body)
            body["status"] = {"phase": "Active"}
            cluster.namespaces[name] = body
            return 201, body
        wanted = dict(pair.split("=", 1) for sel in query.get("labelSelector", [])
                      for pair in sel.split(",") if pair)
        items = [ns for ns in cluster.namespaces.values()
                 if all((ns["metadata"].get("labels") or {}).get(k) == v
                        for k, v in wanted.items())]
        return 200, {"kind": "NamespaceList", "apiVersion": "v1",
                     "metadata": {"resourceVersion": "1"}, "items": items}

    def _namespace(self, method: str, name: str) -> tuple[int, dict[str, Any]]:
        cluster = self.cluster
        found = cluster.namespaces.get(name)
        if found is None:
            return 404, status(404, "NotFound", f'namespaces "{name}" not found', name,
                               "namespaces")
        if method == "DELETE":
            if found["status"]["phase"] == "Terminating":
                return 409, status(409, "Conflict", f'Operation cannot be fulfilled on '
                                   f'namespaces "{name}": The system is ensuring all content '
                                   "is removed from this namespace.  Upon completion, this "
                                   "namespace will automatically be purged by the system.",
                                   name, "namespaces")
            # Deleting a namespace deletes everything in it.
            for key in [k for k in cluster.objects if k[1] == name]:
                del cluster.objects[key]
            found["status"] = {"phase": "Terminating"}
            found["metadata"]["deletionTimestamp"] = _now()
            if not cluster.linger:
                del cluster.namespaces[name]
        return 200, found

    def _namespaced(self, method: str, namespace: str, plural: str, name: str | None,
                    body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        cluster = self.cluster
        if plural not in _NAMESPACED:
            return 404, status(404, "NotFound", "the server could not find the requested "
                                                "resource")
        if namespace not in cluster.namespaces:
            return 404, status(404, "NotFound", f'namespaces "{namespace}" not found',
                               namespace, "namespaces")
        if method == "POST":
            name = body["metadata"]["name"]
            if (plural, namespace, name) in cluster.objects:
                return 409, status(409, "AlreadyExists",
                                   f'{plural} "{name}" already exists', name, plural)
            body = _stamp(body, namespace)
            if plural == "secrets" and body.get("type") == "kubernetes.io/service-account-token":
                body["data"] = {"token": base64.b64encode(
                    f"sa-token-{namespace}".encode()).decode(),
                    "ca.crt": base64.b64encode(CA_CERT.encode()).decode(),
                    "namespace": base64.b64encode(namespace.encode()).decode()}
            if plural == "pods":
                body["status"] = {"phase": "Pending", "conditions": []}
            cluster.objects[(plural, namespace, name)] = body
            return 201, body
        assert name is not None
        found = cluster.objects.get((plural, namespace, name))
        if found is None:
            return 404, status(404, "NotFound", f'{plural} "{name}" not found', name, plural)
        if plural == "pods" and method == "GET":
            self._progress(found)
        return 200, found

    def _progress(self, pod: dict[str, Any]) -> None:
        """A pod read after its creation shows what its image makes of it."""
        container = pod["spec"]["containers"][0]
        behaviour = self.cluster.images.get(container["image"], RUNNING)
        state: dict[str, Any]
        if behaviour == RUNNING:
            pod["status"]["phase"] = "Running"
            state = {"running": {"startedAt": _now()}}
        elif behaviour == PULL_ERROR:
            state = {"waiting": {"reason": "ErrImagePull",
                                 "message": f'failed to pull image "{container["image"]}": '
                                            "pull access denied, repository does not exist"}}
        else:
            state = {"waiting": {"reason": "ContainerCreating"}}
        pod["status"]["containerStatuses"] = [{
            "name": container["name"], "image": container["image"], "imageID": "",
            "ready": behaviour == RUNNING, "restartCount": 0, "state": state}]


class FakeKubernetes:
    """The fake API server, serving on ``url`` until ``close``."""

    def __init__(self) -> None:
        self.cluster = FakeCluster()
        handler = type("Handler", (_Handler,), {"cluster": self.cluster})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def write_kubeconfig(self, path: Path, context: str = "fake-admin") -> Path:
        """A kubeconfig whose (current) ``context`` reaches this server as its admin."""
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "admin", "user": {"token": ADMIN_TOKEN}}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "admin"}}],
        }))
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
