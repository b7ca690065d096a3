"""The node pool of a process: a ``Launcher`` driven by a thread, configured from the
``nodes/`` folder of the site's ``config`` project."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from pathlib import Path

from prometheus_client import Histogram

from keepgreen.domain.node import NodeState, Provider
from keepgreen.domain.project import SITE_CONFIG
from keepgreen.git.repos import GitError, Repos
from keepgreen.nodes.cgroup import NodeLimits
from keepgreen.nodes.kubernetes import KubernetesProvider
from keepgreen.nodes.local import LocalProvider
from keepgreen.nodes.openstack import OpenStackProvider
from keepgreen.nodes.siteconfig import (
    NodeDefaults,
    NodesConfig,
    ProviderConfig,
    parse_nodes_config,
)
from keepgreen.nodes.static import StaticHost, StaticProvider, login_key
from keepgreen.services.nodes.launcher import LEASE, Launcher, first_line
from keepgreen.siteconf.model import SiteProblem
from keepgreen.store import nodes as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState

log = logging.getLogger(__name__)
CONFIG_PROJECT = SITE_CONFIG
DEBIAN_IMAGE = ".image-debian"


class LauncherService:
    """A launcher process's node pool: a ``Launcher`` driven by a thread.

    ``start`` reads the ``nodes/`` folder of the ``config`` project (or the default: one
    local provider), cleans up after the previous process, and starts the loop: serve
    requests, keep ``min-ready`` spares, delete used and expired held nodes, sweep leaks
    every ``sweep_seconds``. ``reload_nodes`` applies a new ``nodes/`` state; one with
    problems keeps the running configuration. ``stop`` deletes the nodes it launched.

    Several launchers may share a site's pool (``keepgreen launcher``), each ``serves`` some
    providers (all when None) under its ``name``. The ``leader``'s launcher (the one in the
    leading ``keepgreen serve``) also cleans up after a stopped server: every node is done
    with (each deleted by its launcher) and requests nobody waits for any more are failed;
    a launcher of its own (``follow_config``) reloads ``nodes/`` whenever ``config`` moves.
    """

    def __init__(self, db: Database, site: Path, defaults: NodeDefaults | None = None, *,
                 repos: Repos | None = None, clock: Callable[[], datetime] = utcnow,
                 tick: float = 1.0, sweep_seconds: float = 60.0,
                 make_provider: Callable[[ProviderConfig], Provider] | None = None,
                 name: str = "", serves: Collection[str] | None = None, leader: bool = True,
                 follow_config: bool = False, lease: float = LEASE,
                 fetch_config: Callable[[], None] | None = None) -> None:
        self.fetch_config = fetch_config  # brings ``repos`` up to the server's config
        self.name = name
        self.serves = frozenset(serves) if serves is not None else None
        self.leader = leader
        self.follow_config = follow_config
        self.lease = lease
        self._config_tip: str | None = None
        self.db = db
        self.site = Path(site)
        self.defaults = defaults or NodeDefaults()
        self.repos = repos
        self.clock = clock
        self.tick = tick
        self.sweep_seconds = sweep_seconds
        self._make_provider = make_provider or self._provider_for
        self._lock = threading.RLock()  # guards ``launcher`` and ``config`` swaps
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._beats: threading.Thread | None = None
        self._configs: dict[str, ProviderConfig] = {}
        self.config = NodesConfig.default(self.defaults)
        # Seconds from asking a provider for a node to its being READY, per provider; kept
        # across reloads, read by /metrics.
        self.boot_seconds = Histogram(
            "keepgreen_node_boot_seconds", "Time from asking a provider for a node to READY",
            ["provider"], registry=None,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
        self.launcher = self._build(self.config, {})

    # --- configuration ---------------------------------------------------------------------

    def _provider_for(self, config: ProviderConfig) -> Provider:
        folder = "nodes" if config.name == "local" else f"nodes-{config.name}"
        if config.driver == "static":
            key = login_key(self.site)  # the site's own key reaches every static host
            hosts = [StaticHost(h.host, h.labels, h.username, h.host_key, h.connection_port,
                                h.max_parallel_jobs, key) for h in config.hosts]
            return StaticProvider(hosts, self.site / folder, name=config.name,
                                  dry_run_username=config.dry_run.username
                                  if config.dry_run else None)
        if config.driver == "kubernetes" and config.kubernetes is not None:
            # The kubeconfig: <site>/kubeconfig if there is one, else the usual places.
            return KubernetesProvider(config.kubernetes, self.site, name=config.name,
                                      boot_timeout=config.kubernetes.boot_timeout)
        if config.driver == "openstack" and config.openstack is not None:
            cloud = config.openstack
            return OpenStackProvider(
                config.name, cloud.cloud, cloud.labels, site=self.site,
                state_dir=self.site / folder, max_servers=config.max_servers,
                launch_timeout=cloud.launch_timeout, boot_timeout=cloud.boot_timeout,
                launch_retries=cloud.launch_retries, networks=cloud.networks,
                floating_ip=cloud.floating_ip, key_name=cloud.key_name,
                private_key=self.site / cloud.key_file if cloud.key_file else None,
                username=cloud.username, connection_port=cloud.connection_port)
        debian = self.site / folder / DEBIAN_IMAGE
        # ``keepgreen image build --from debootstrap`` made one: nodes boot from it.
        image = debian if (debian / "image.json").exists() else None
        return LocalProvider(self.site / folder, image, name=config.name,
                             labels=config.labels,
                             limits=NodeLimits(config.memory_bytes, config.cpus),
                             disk_bytes=config.disk_bytes)

    def _build(self, config: NodesConfig, old: Mapping[str, Provider]) -> Launcher:
        providers: dict[str, Provider] = {}
        for provider in config.providers:
            same = self._configs.get(provider.name) == provider and provider.name in old
            providers[provider.name] = (old[provider.name] if same
                                        else self._make_provider(provider))
        self._configs = {p.name: p for p in config.providers}
        return Launcher(self.db, providers, config.labels, clock=self.clock,
                        max_servers={p.name: p.max_servers for p in config.providers},
                        on_ready=lambda name, seconds: self.boot_seconds.labels(
                            name).observe(seconds), name=self.name,
                        serves=None if self.serves is None else self.serves & set(providers),
                        lease=self.lease)

    def read_nodes_folder(self) -> dict[str, str]:
        """The ``nodes/`` files at the merged tip of the ``config`` project's default branch."""
        if self.repos is None or not self.repos.exists(CONFIG_PROJECT):
            return {}
        head = self.repos.head(CONFIG_PROJECT)
        if self.repos.resolve(CONFIG_PROJECT, head) is None:
            return {}
        names = self.repos.run(CONFIG_PROJECT, "ls-tree", "-r", "--name-only", head, "--",
                               "nodes/").splitlines()
        return {name: self.repos.run(CONFIG_PROJECT, "show", f"{head}:{name}")
                for name in names if name.endswith((".yaml", ".yml"))}

    def dry_run_labels(self, project: str) -> frozenset[str]:
        """Labels whose static hosts changes of ``project`` may be dry-run against."""
        with self._lock:
            return self.config.dry_run_labels(project)

    def reload_nodes(self) -> list[SiteProblem]:
        """Apply the ``nodes/`` folder of the merged ``config`` state; returns its problems.

        With problems nothing changes. Providers whose configuration did not change keep
        running; nodes of a provider or label that is gone are deleted once they are free.
        """
        try:
            files = self.read_nodes_folder()
        except GitError as exc:
            log.warning("node pool: could not read nodes/ of the config project: %s", exc)
            return []
        config, problems = parse_nodes_config(files, defaults=self.defaults)
        if problems:
            for problem in problems:
                log.warning("node pool: keeping the running configuration: %s", problem)
            return problems
        with self._lock:
            if config != self.config:
                self.launcher = self._build(config, self.launcher.providers)
                self.config = config
                log.info("node pool configuration (%s): %s", config.source,
                         "; ".join(config.summary()))
        self.wake()
        return []

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        self.reload_nodes()
        self.launcher.closing = False
        self._beat()
        self.recover()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="launcher", daemon=True)
        self._thread.start()
        if self.name:
            self._beats = threading.Thread(target=self._beat_loop, name="launcher-beat",
                                           daemon=True)
            self._beats.start()

    def _beat(self) -> None:
        if self.name:
            with self.db.write() as conn:
                store.beat_launcher(conn, self.name, self.launcher.serves, time.time())

    def _beat_loop(self) -> None:
        """Heartbeats while a pass waits for a slow cloud: the pass itself beats too."""
        while not self._stopping.wait(self.lease / 3):
            try:
                self._beat()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("node pool heartbeat failed")

    def recover(self) -> None:
        """Clean up after the process before this one, which may have been killed.

        Its nodes died with it (local nodes stop with their launcher), so the leader's
        launcher marks every node in the store done (its launcher deletes it), and fails
        the requests whose requestor is gone; another launcher marks the nodes of an
        earlier process of its name. Any launcher removes what its providers still
        have of nodes the store does not know.
        """
        now = self.clock()
        with self.db.write() as conn:
            for stored in store.all_nodes(conn):
                if not self.leader and stored.launcher != self.name:
                    continue  # another launcher's (a dead one's go at the end of its lease)
                if stored.node.state is not NodeState.DELETING:
                    store.set_node_state(conn, stored.node.id, NodeState.FAILED,
                                         reason="the server stopped" if self.leader
                                         else f"launcher {self.name} stopped",
                                         request_id=None, now=now)
            for found in store.open_requests(conn) if self.leader else ():
                store.update_request(conn, found.id, state=RequestState.FAILED, now=now,
                                     reason="the server stopped before nodes were ready")
        with self._lock:
            launcher = self.launcher
        launcher.step()
        for name, provider in launcher.providers.items():
            if name not in launcher.serves:
                continue
            sweep = getattr(provider, "sweep", None)
            if callable(sweep):
                # Nothing of a stopped server's nodes is still wanted: remove it at once.
                try:
                    ids = {r.node_id for r in provider.list_resources() if r.node_id}
                    with self.db.read() as conn:
                        known = store.node_ids(conn)
                    sweep(known_ids=known, cleanup_ids=ids - known)
                except Exception as exc:  # noqa: BLE001 - an unreachable cloud must not
                    # keep the server from starting; the periodic sweep tries again.
                    log.warning("node pool: cleanup of provider %s at start failed: %s",
                                getattr(provider, "name", "?"), first_line(exc))

    def stop(self) -> None:
        """Stop the loop and delete the nodes: the leader's launcher is done with every
        node (each deleted by its launcher) and fails the waiting requests; another
        launcher gives up the nodes it launched."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        now = self.clock()
        why = "the server is stopping" if self.leader else f"launcher {self.name} is stopping"
        with self.db.write() as conn:
            for found in store.open_requests(conn) if self.leader else ():
                store.update_request(conn, found.id, state=RequestState.FAILED, now=now,
                                     reason=why)
            for stored in store.all_nodes(conn):
                if self.leader or stored.launcher == self.name:
                    store.set_node_state(conn, stored.node.id, NodeState.USED, reason=why,
                                         now=now)
        with self._lock:
            self.launcher.closing = True
            self.launcher.step()
        if self.name:
            with self.db.write() as conn:
                store.remove_launcher(conn, self.name)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            with self._lock:
                launcher = self.launcher
            try:
                if self.follow_config:
                    self.follow()
                launcher.step()
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    last_sweep = time.monotonic()
                    for leaked in launcher.sweep():
                        log.warning("node pool: deleted leaked %s %s of node %s",
                                    leaked.kind, leaked.name, leaked.node_id)
            except Exception:  # noqa: BLE001 - one bad pass must not stop the node pool
                log.exception("node pool pass failed")
            self._wake.wait(self.tick)
            self._wake.clear()

    def follow(self) -> None:
        """Reload ``nodes/`` when the ``config`` project's tip moved (a launcher process of
        its own hears of no config change otherwise); on another machine than the server,
        ``fetch_config`` first brings the mirror of ``config`` up to date."""
        if self.fetch_config is not None:
            try:
                self.fetch_config()
            except Exception as exc:  # noqa: BLE001 - the running configuration stays
                if self._config_tip != "unreachable":
                    log.warning("node pool: cannot read the server's nodes/: %s", exc)
                self._config_tip = "unreachable"
                return
        repos = self.repos
        if repos is None or not repos.exists(CONFIG_PROJECT):
            return
        tip = repos.resolve(CONFIG_PROJECT, repos.head(CONFIG_PROJECT))
        if tip != self._config_tip:
            self._config_tip = tip
            self.reload_nodes()

    # --- for the executor ------------------------------------------------------------------

    def request(self, labels: Collection[str], priority: int, requestor: str) -> int:
        with self._lock:
            request_id = self.launcher.request(labels, priority, requestor)
        self.wake()
        return request_id

    def release(self, node_ids: Collection[str], hold_until: datetime | None = None) -> None:
        with self._lock:
            self.launcher.release(node_ids, hold_until)
        self.wake()

    def cancel_request(self, request_id: int, reason: str) -> None:
        with self._lock:
            self.launcher.cancel_request(request_id, reason)
        self.wake()
