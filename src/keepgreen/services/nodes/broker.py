"""Builds get their nodes from the node pool: the executor's node source for the server.

``PoolNodes.acquire`` files one node request for the job's node set with the launcher
service (priority from the pipeline, as Zuul's: gate before check, post and periodic last),
says in the build's log what it waits for and why, and takes the nodes once the request is
fulfilled. ``release`` gives them back: deleted (local) or freed for reuse (static), or, for
a failing build that an autohold request matches, held until the request's expiry with the
ssh command that reaches each node recorded for the build.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Mapping
from datetime import timedelta

from keepgreen.domain.node import Node
from keepgreen.executor.ansible_process import LineSink
from keepgreen.executor.model import BuildRequest, Result
from keepgreen.executor.node_source import NodeUnavailable
from keepgreen.nodes import pool
from keepgreen.services.nodes.pool_service import LauncherService
from keepgreen.store import nodes as store
from keepgreen.store.nodes import RequestState

# Results that keep nodes for an autohold request, as Zuul's autohold does.
HOLD_RESULTS = frozenset({Result.FAILURE, Result.POST_FAILURE, Result.TIMED_OUT,
                          Result.RETRY_LIMIT})
LATE_PIPELINES = frozenset({"post", "periodic", "promote", "release", "tag"})
POLL_SECONDS = 0.05


def priority_of(pipeline: str) -> int:
    """Dependent pipelines (gate) first, then independent ones (check), post/periodic last."""
    if pipeline == "gate" or pipeline.endswith("-gate"):
        return pool.GATE_PRIORITY
    if pipeline in LATE_PIPELINES:
        return pool.LATE_PRIORITY
    return pool.CHECK_PRIORITY


def ssh_command(node: Node) -> str:
    """A shell command that logs in to ``node`` from the server's machine, host key checked.

    A Kubernetes pod is entered with ``kubectl exec``, and a namespace listed, through the
    kubeconfig context the provider made it with."""
    if node.connection_type in ("kubectl", "namespace"):
        context = node.attribute("context")
        argv = ["kubectl", *(["--context", context] if context else []),
                "--namespace", node.attribute("namespace")]
        if node.connection_type == "kubectl":
            return shlex.join([*argv, "exec", "-it", node.attribute("pod"), "--", "/bin/sh"])
        return shlex.join([*argv, "get", "all"])
    argv = ["ssh"]
    if node.private_key is not None:
        argv += ["-i", str(node.private_key), "-o", "IdentitiesOnly=yes"]
    if node.state_dir is not None and (node.state_dir / "known_hosts").exists():
        argv += ["-o", f"UserKnownHostsFile={node.state_dir / 'known_hosts'}",
                 "-o", "StrictHostKeyChecking=yes"]
    argv += ["-p", str(node.port), f"{node.username}@{node.host}"]
    if node.netns:
        # Local nodes are only reachable from their executor network namespace.
        argv = ["ip", "netns", "exec", node.netns[-1], *argv]
    return shlex.join(argv)


class PoolNodes:
    """The executor's ``NodeSource`` backed by a running ``LauncherService``."""

    def __init__(self, service: LauncherService) -> None:
        self.service = service
        self._cancelled: set[str] = set()  # builds whose wait for nodes must stop

    def cancel(self, uuid: str) -> None:
        """Stop the wait of build ``uuid`` for its nodes (see ``acquire``)."""
        self._cancelled.add(uuid)

    def acquire(self, request: BuildRequest, on_line: LineSink) -> dict[str, Node]:
        specs = request.job.nodes
        labels = [spec.label for spec in specs]
        priority = priority_of(request.pipeline)
        request_id = self.service.request(
            labels, priority, f"{request.pipeline}/{request.job.name}/{request.uuid}")
        on_line(f"[executor] node request {request_id}: {', '.join(labels)} "
                f"(priority {priority}, pipeline {request.pipeline})")
        said = ""
        while True:
            if request.uuid in self._cancelled:
                self._cancelled.discard(request.uuid)
                self.service.cancel_request(request_id, "the build was cancelled")
                raise NodeUnavailable(f"node request {request_id} was cancelled with its "
                                      "build")
            found = self.service.launcher.get_request(request_id)
            if found.state is RequestState.FULFILLED:
                nodes = self.service.launcher.accept(request_id)
                return {spec.name: node for spec, node in zip(specs, nodes, strict=True)}
            if found.state is RequestState.FAILED:
                raise NodeUnavailable(f"node request {request_id} failed: {found.reason}")
            if found.reason and found.reason != said:
                said = found.reason
                on_line(f"[executor] waiting for nodes: {found.reason}")
            time.sleep(POLL_SECONDS)

    def release(self, request: BuildRequest, nodes: Mapping[str, Node],
                result: Result | None) -> list[str]:
        ids = [node.id for node in nodes.values()]
        if result in HOLD_RESULTS:
            lines = self._hold(request, nodes)
            if lines:
                return lines
        self.service.release(ids)
        return []

    def trouble(self, nodes: Mapping[str, Node]) -> str | None:
        """Why the nodes failed the build themselves (out of memory or disk), or None."""
        for node in nodes.values():
            provider = self.service.launcher.providers.get(node.provider)
            for question in ("out_of_memory", "out_of_disk"):
                check = getattr(provider, question, None)
                reason = check(node) if callable(check) else None
                if reason:
                    return str(reason)
        return None

    def _hold(self, request: BuildRequest, nodes: Mapping[str, Node]) -> list[str]:
        number = request.item.change or ""
        change = int(number) if number.isdigit() else None
        now = self.service.clock()
        with self.service.db.write() as conn:
            autohold = store.claim_autohold(conn, request.item.project.name,
                                            request.job.name, change)
            if autohold is None:
                return []
            until = now + timedelta(seconds=autohold.hold_seconds)
            lines = []
            for name, node in nodes.items():
                command = ssh_command(node)
                store.add_hold(conn, store.Hold(node.id, request.uuid, autohold.id, command,
                                                until), now)
                lines.append(f"[executor] node {name} ({node.id}) is held until "
                             f"{until.isoformat(timespec='seconds')}Z by autohold "
                             f"{autohold.id}: {command}")
        self.service.release([node.id for node in nodes.values()], hold_until=until)
        return lines
