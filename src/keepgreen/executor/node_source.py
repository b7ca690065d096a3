"""Where a build's nodes come from: the ``NodeSource`` port the executor asks for the nodes
of each attempt, and ``ProviderNodes``, the source that boots each node from a provider and
deletes it afterwards (what ``keepgreen run-job`` uses; the server's node pool is the other)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from keepgreen.domain.node import Node, Provider
from keepgreen.executor import verdict
from keepgreen.executor.ansible_process import LineSink
from keepgreen.executor.model import BuildRequest, Result


class NodeUnavailable(RuntimeError):
    """A node source could not give a build its nodes; the message says why, in one line."""


class NodeSource(Protocol):
    """Where a build's nodes come from and go back to: the node pool in the server, or a
    provider asked directly (``ProviderNodes``, what ``run-job`` uses).

    ``acquire`` returns the nodes keyed by node-set name, calling ``on_line`` with what it
    waits for and why, or raises ``NodeUnavailable``; ``release`` hands them back with the
    attempt's result (None when the attempt did not end normally), which decides whether
    they are deleted, reused or held.
    """

    def acquire(self, request: BuildRequest, on_line: LineSink) -> dict[str, Node]: ...

    def release(self, request: BuildRequest, nodes: Mapping[str, Node],
                result: Result | None) -> list[str]: ...


class ProviderNodes:
    """A node source that creates each node from a provider and deletes it afterwards."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def acquire(self, request: BuildRequest, on_line: LineSink) -> dict[str, Node]:
        nodes: dict[str, Node] = {}
        prefix = re.sub(r"[^a-z0-9]", "", request.uuid.lower())[:20] or "build"
        for index, spec in enumerate(request.job.nodes):
            try:
                nodes[spec.name] = self.provider.create(
                    spec.label, f"{prefix}-{request.attempt}-{index}")
            except Exception as exc:
                self.release(request, nodes, None)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise NodeUnavailable(verdict.one_line(
                    f"could not get node {spec.name!r} (label {spec.label}): {first}")) from exc
        return nodes

    def release(self, request: BuildRequest, nodes: Mapping[str, Node],
                result: Result | None) -> list[str]:
        for node in nodes.values():
            try:
                self.provider.delete(node)
            except Exception:
                # The leak sweep removes what a failed delete left behind.
                continue
        return []

    def trouble(self, nodes: Mapping[str, Node]) -> str | None:
        """Why the nodes failed the build themselves (out of memory or disk space), or None."""
        for name in ("out_of_memory", "out_of_disk"):
            check = getattr(self.provider, name, None)
            for node in nodes.values():
                reason = check(node) if callable(check) else None
                if reason:
                    return str(reason)
        return None
