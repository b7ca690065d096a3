"""Node pool vocabulary: node states, the node value and the provider port.

Standard library only (STYLE.md, habit 1): the launcher, the executor and every provider
adapter (local namespaces, static hosts, clouds) speak in these values, and tests can build
them without touching the machine.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


class NodeState(enum.Enum):
    """Where a node is in its life, with Nodepool's and zuul-launcher's names.

    The launcher sets REQUESTED, BUILDING, READY, DELETING and FAILED; the scheduler sets
    IN_USE, USED and HOLD.
    """

    REQUESTED = "requested"
    BUILDING = "building"
    READY = "ready"
    IN_USE = "in-use"
    USED = "used"
    HOLD = "hold"
    DELETING = "deleting"
    FAILED = "failed"


# Nodepool's DeletedNodeWorker rule: an unlocked node in one of these states is deleted, even a
# BUILDING one, because an unlocked BUILDING node means its launcher died mid-launch.
CLEANUP_STATES: frozenset[NodeState] = frozenset(
    {NodeState.BUILDING, NodeState.IN_USE, NodeState.USED, NodeState.DELETING, NodeState.FAILED}
)


CONNECTION_TYPES: tuple[str, ...] = ("ssh", "kubectl", "namespace")


@dataclass(frozen=True)
class Node:
    """One short-lived build node, as a provider hands it out.

    ``host``/``port``/``username`` reach its sshd; ``host_key`` is the node's public host key
    line (``ssh-ed25519 AAAA...``) so clients check it strictly instead of trusting on first
    use; ``private_key`` is the client key the executor authenticates with.
    ``pid``/``netns``/``state_dir`` are provider bookkeeping the leak sweep relies on; remote
    providers leave them empty.

    ``connection_type`` says how a job reaches the node: ``ssh`` (the fields above),
    ``kubectl`` (a pod, reached with ``kubectl exec``) or ``namespace`` (no host at all: the
    job gets a Kubernetes namespace and a token for it). ``attributes`` holds the details
    of the non-ssh kinds as sorted ``(key, value)`` pairs (``namespace``, ``pod``,
    ``context``, ``api_server``, ``token``); ``attribute`` reads one.
    """

    id: str
    label: str
    provider: str
    state: NodeState
    host: str
    port: int = 22
    username: str = "root"
    host_key: str = ""
    private_key: Path | None = None
    pid: int | None = None
    netns: tuple[str, ...] = ()
    state_dir: Path | None = None
    created_at: float = 0.0
    ready_at: float | None = None
    connection_type: str = "ssh"
    attributes: tuple[tuple[str, str], ...] = ()

    def attribute(self, key: str, default: str = "") -> str:
        """The value of one of ``attributes``, or ``default``."""
        return next((v for k, v in self.attributes if k == key), default)

    @property
    def known_hosts_line(self) -> str:
        """The ``known_hosts`` entry that pins this node's host key."""
        host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{host} {self.host_key}"

    @property
    def boot_seconds(self) -> float | None:
        """Create-to-ready time, the number the node pool's benchmark tracks."""
        return None if self.ready_at is None else self.ready_at - self.created_at


@dataclass(frozen=True, order=True)
class ResourceId:
    """Something a provider made that can leak: a process, a network namespace, a folder.

    ``node_id`` is the node it was tagged with at creation (Nodepool tags cloud servers the
    same way), or ``None`` when the tag cannot be read; the sweep treats those as leaks too.
    """

    kind: str
    name: str
    node_id: str | None


@runtime_checkable
class Provider(Protocol):
    """Where nodes come from. One adapter per kind of place; all are driven the same way.

    ``create`` returns a READY node or raises with a sentence saying why not, having removed
    whatever it made. ``delete`` is idempotent: deleting a node that is already (partly) gone
    finishes the job without error. ``list_resources`` lists everything the provider has made
    that still exists, tagged with node ids, for leak sweeps.
    """

    name: str
    labels: tuple[str, ...]

    def create(self, label: str, node_id: str) -> Node: ...

    def delete(self, node: Node) -> None: ...

    def list_resources(self) -> list[ResourceId]: ...
