"""The node pool's defaults from the site's settings."""

from __future__ import annotations

from keepgreen.nodes.siteconfig import MIN_DISK_BYTES, NodeDefaults, parse_size
from keepgreen.settings import Settings, SettingsError


def node_defaults(settings: Settings) -> NodeDefaults:
    """What the ``nodes/`` folder leaves out; raises ``SettingsError`` for unreadable limits."""
    memory = parse_size(settings.node_memory_limit)
    if memory is None:
        raise SettingsError(f"node_memory_limit must be a size such as 2GiB or 512MiB, not "
                            f"{settings.node_memory_limit!r}.")
    try:
        cpus = float(settings.node_cpu_limit)
    except ValueError:
        cpus = -1.0
    if cpus < 0:
        raise SettingsError(f"node_cpu_limit must be a number of CPUs such as 1.5 (0 for no "
                            f"limit), not {settings.node_cpu_limit!r}.")
    disk = parse_size(settings.node_disk_limit)
    if disk is None:
        raise SettingsError(f"node_disk_limit must be a size such as 1GiB or 512MiB (0 for no "
                            f"limit), not {settings.node_disk_limit!r}.")
    if 0 < disk < MIN_DISK_BYTES:
        raise SettingsError(f"node_disk_limit must be at least 16MiB (a node's own files "
                            f"need that much), not {settings.node_disk_limit!r}.")
    return NodeDefaults(min_ready=max(0, settings.nodes_min_ready),
                        max_servers=max(0, settings.nodes_max_servers),
                        memory_bytes=memory, cpus=cpus, disk_bytes=disk)
