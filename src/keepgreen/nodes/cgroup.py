"""Per-node resource limits through the machine's cgroups, where it lets us use them.

Two backends sit behind one small interface: ``choose()`` gives a ``Cgroups`` for this
machine (or the reason there is none), ``Cgroups.node(name)`` the ``NodeCgroup`` of one
node, which is created with the node's limits, takes its PID 1 (everything the node runs
descends from it), counts the node's OOM kills after a build and is removed with the node.

- cgroup v2 (``/sys/fs/cgroup/cgroup.controllers`` offers ``memory`` and ``cpu``): a node
  lives in ``/sys/fs/cgroup/keepgreen/<provider tag>-<node id>`` with ``memory.max`` (and no
  swap beyond it) and ``cpu.max``; OOM kills come from ``memory.events``.
- cgroup v1 (``nodes/cgroup_v1.py``): writable ``memory`` and ``cpu`` hierarchies; used when
  v2 is not usable.

Without either, ``choose`` says why in one sentence and nodes run without limits.
"""

from __future__ import annotations

from pathlib import Path

from keepgreen.nodes.cgroup_base import ROOT, SELF, Cgroups, NodeCgroup, NodeLimits
from keepgreen.nodes.cgroup_v1 import CgroupV1
from keepgreen.nodes.cgroup_v1 import unavailable as v1_unavailable
from keepgreen.nodes.cgroup_v2 import CgroupV2, unavailable

__all__ = ["Cgroups", "NodeCgroup", "NodeLimits", "choose", "unavailable"]


def choose(root: Path = ROOT, self_cgroup: Path = SELF) -> Cgroups | str:
    """The hierarchy node cgroups go in here: v2 when usable, else v1, else why neither."""
    v2_problem = unavailable(root)
    if v2_problem is None:
        return CgroupV2(root)
    v1_problem = v1_unavailable(root, self_cgroup)
    if v1_problem is None:
        return CgroupV1(root, self_cgroup)
    return f"no usable cgroup hierarchy: cgroup v2: {v2_problem}; cgroup v1: {v1_problem}"
