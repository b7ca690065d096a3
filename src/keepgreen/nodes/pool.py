"""The node pool's allocation rules, as a pure decision over the pool's current state.

Given the label and provider configuration, the nodes the store knows and the open node
requests, ``decide`` returns what to do next: hand READY spare nodes to requests (highest
priority first), launch nodes for what is still missing within each provider's
``max-servers``, top labels up to ``min-ready``, and delete nodes that are done with.
The launcher service performs the actions; tests check the rules with values alone.
Standard library only (STYLE.md, habit 1).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from keepgreen.domain.node import NodeState

# Zuul's PRIORITY_MAP: a gate item's nodes come before a check item's; pre-warming last.
GATE_PRIORITY = 100
CHECK_PRIORITY = 200
LATE_PRIORITY = 300  # post, periodic
MIN_READY_PRIORITY = 900

# A node in one of these states counts for the request it is allocated to: it is ready or on
# its way. FAILED nodes do not: the request needs a replacement.
_COVERING = frozenset({NodeState.REQUESTED, NodeState.BUILDING, NodeState.READY})
# Done with: the provider may free them now.
_DONE = frozenset({NodeState.USED, NodeState.FAILED, NodeState.DELETING})


@dataclass(frozen=True)
class LabelConfig:
    """A label jobs ask for: which providers can make it, and how many to keep spare."""

    name: str
    providers: tuple[str, ...]
    min_ready: int = 0


@dataclass(frozen=True)
class PoolNode:
    """What allocation needs to know about a node."""

    id: str
    label: str
    provider: str
    state: NodeState
    request_id: int | None = None
    hold_until: datetime | None = None


@dataclass(frozen=True)
class PoolRequest:
    """An open (not yet fulfilled) node request; ``labels`` may repeat a label."""

    id: int
    labels: tuple[str, ...]
    priority: int


@dataclass(frozen=True)
class Assign:
    """Allocate a READY spare node to a request."""

    node_id: str
    request_id: int


@dataclass(frozen=True)
class Launch:
    """Create a node of ``label`` in ``provider``; for a request, or spare when None."""

    label: str
    provider: str
    request_id: int | None


@dataclass(frozen=True)
class Fulfil:
    """Every label of the request has a READY node; ``node_ids`` in the request's order."""

    request_id: int
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class Wait:
    """The request cannot get everything now; ``reason`` says why, in one line."""

    request_id: int
    reason: str


@dataclass(frozen=True)
class Fail:
    """The request can never be served as configured (for example an unknown label)."""

    request_id: int
    reason: str


@dataclass(frozen=True)
class Delete:
    """Free a node through its provider."""

    node_id: str
    reason: str


Action = Assign | Launch | Fulfil | Wait | Fail | Delete


@dataclass
class _Capacity:
    """Servers per provider, counted as the decision goes so launches never overshoot."""

    limits: Mapping[str, int]
    used: Counter[str] = field(default_factory=Counter)

    def room(self, provider: str) -> int:
        return max(0, self.limits.get(provider, 0) - self.used[provider])

    def pick(self, providers: Sequence[str]) -> str | None:
        # The least-used provider (by share of its limit) first, as zuul-launcher does.
        open_ = [p for p in providers if self.room(p) > 0]
        if not open_:
            return None
        return min(open_, key=lambda p: (self.used[p] / max(1, self.limits[p]),
                                         providers.index(p)))


def decide(labels: Mapping[str, LabelConfig], limits: Mapping[str, int],
           nodes: Sequence[PoolNode], requests: Sequence[PoolRequest],
           now: datetime) -> list[Action]:
    """The next actions for the pool; see the module docstring for the rules.

    Every node in ``nodes`` occupies a server of its provider until it is deleted, including
    the ones being deleted now: their servers still exist until the provider confirms.
    """
    actions: list[Action] = []
    capacity = _Capacity(limits, Counter(node.provider for node in nodes))
    for node in nodes:
        if node.state in _DONE:
            actions.append(Delete(node.id, f"node is {node.state.value}"))
        elif (node.state is NodeState.HOLD and node.hold_until is not None
              and node.hold_until <= now):
            actions.append(Delete(node.id, "hold expired"))

    spare: dict[str, list[PoolNode]] = {}
    allocated: dict[int, list[PoolNode]] = {}
    for node in sorted(nodes, key=lambda n: n.id):
        if node.state not in _COVERING:
            continue
        if node.request_id is None:
            spare.setdefault(node.label, []).append(node)
        else:
            allocated.setdefault(node.request_id, []).append(node)
    for candidates in spare.values():
        # READY spares first, so a request is served now rather than after a boot.
        candidates.sort(key=lambda n: n.state is not NodeState.READY)

    for request in sorted(requests, key=lambda r: (r.priority, r.id)):
        actions.extend(_serve(request, labels, allocated.get(request.id, []), spare,
                              capacity))

    for label in sorted(labels.values(), key=lambda c: c.name):
        missing = label.min_ready - len(spare.get(label.name, []))
        for _ in range(missing):
            provider = capacity.pick(label.providers)
            if provider is None:
                break
            capacity.used[provider] += 1
            actions.append(Launch(label.name, provider, None))
    return actions


def _serve(request: PoolRequest, labels: Mapping[str, LabelConfig], mine: list[PoolNode],
           spare: dict[str, list[PoolNode]], capacity: _Capacity) -> list[Action]:
    unknown = sorted({label for label in request.labels if label not in labels})
    if unknown:
        return [Fail(request.id, f"no provider offers label {', '.join(unknown)}")]
    actions: list[Action] = []
    have = list(mine)
    covered: list[PoolNode | None] = []
    for label in request.labels:
        node = next((n for n in have if n.label == label), None)
        if node is not None:
            have.remove(node)
        covered.append(node)

    waits: list[str] = []
    for index, label in enumerate(request.labels):
        if covered[index] is not None:
            continue
        pool = spare.get(label, [])
        ready = next((n for n in pool if n.state is NodeState.READY), None)
        if ready is not None:
            pool.remove(ready)
            covered[index] = ready
            actions.append(Assign(ready.id, request.id))
            continue
        config = labels[label]
        provider = capacity.pick(config.providers)
        if provider is None:
            waits.append(_full_reason(label, config.providers, capacity))
            continue
        capacity.used[provider] += 1
        actions.append(Launch(label, provider, request.id))

    if waits:
        actions.append(Wait(request.id, "; ".join(dict.fromkeys(waits))))
    elif all(n is not None and n.state is NodeState.READY for n in covered) and not any(
            isinstance(a, Launch) for a in actions):
        actions.append(Fulfil(request.id, tuple(n.id for n in covered if n is not None)))
    return actions


def _full_reason(label: str, providers: Sequence[str], capacity: _Capacity) -> str:
    if not providers:
        return f"label {label} has no provider"
    full = ", ".join(f"{p} is at max-servers {capacity.limits.get(p, 0)}" for p in providers)
    return f"waiting for label {label}: provider {full}"
