"""The leak-sweep rule, as a pure decision over resource listings.

Nodepool and zuul-launcher delete a resource whose node the database does not know only when
it shows up in two consecutive sweeps: a launch creates its resources before the node's
record is visible, and a single sighting would race it. Resources of a node that the
database holds in a cleanup state are deleted at once. Standard library only.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from keepgreen.domain.node import ResourceId


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep deletes now, and what it remembers as suspects for the next one."""

    delete: tuple[ResourceId, ...]
    suspects: frozenset[ResourceId]


def plan_sweep(
    resources: Iterable[ResourceId],
    known_ids: Collection[str],
    cleanup_ids: Collection[str],
    suspects: Collection[ResourceId],
) -> SweepPlan:
    """Decide a sweep.

    ``known_ids`` are nodes the store knows and keeps; ``cleanup_ids`` are nodes it holds in
    a cleanup state (their resources go now, whether known or not); ``suspects`` is the
    previous plan's ``suspects``. A resource of an unknown node is deleted when it was already
    a suspect, otherwise it becomes one.
    """
    delete: list[ResourceId] = []
    seen: set[ResourceId] = set()
    for resource in resources:
        if resource.node_id is not None and resource.node_id in cleanup_ids:
            delete.append(resource)
        elif resource.node_id is not None and resource.node_id in known_ids:
            continue
        elif resource in suspects:
            delete.append(resource)
        else:
            seen.add(resource)
    return SweepPlan(delete=tuple(sorted(set(delete))), suspects=frozenset(seen))
