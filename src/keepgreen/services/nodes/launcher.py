"""The launcher: serves node requests from providers, following zuul-launcher's model.

Each pass loads the pool from the store, asks ``nodes.pool.decide`` what to do, records the
decision (allocations, waiting reasons, node rows for launches) in one transaction, and only
then calls the providers, several at a time. Every node exists in the store before its
provider is asked for it, so quota counts and leak sweeps never miss a server, and a
restarted launcher finds half-done work in the store (see ``resume``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prometheus_client import Histogram
from sqlalchemy import Connection

from keepgreen.domain.node import Node, NodeState, Provider, ResourceId
from keepgreen.domain.project import SITE_CONFIG
from keepgreen.git.repos import GitError, Repos
from keepgreen.nodes import pool
from keepgreen.nodes.cgroup import NodeLimits
from keepgreen.nodes.kubernetes import KubernetesProvider
from keepgreen.nodes.leaks import plan_sweep
from keepgreen.nodes.local import LocalProvider
from keepgreen.nodes.openstack import OpenStackProvider
from keepgreen.nodes.siteconfig import (
    NodeDefaults,
    NodesConfig,
    ProviderConfig,
    parse_nodes_config,
)
from keepgreen.nodes.static import StaticHost, StaticProvider, login_key
from keepgreen.services.errors import Conflict, NotFound
from keepgreen.siteconf.model import SiteProblem
from keepgreen.store import nodes as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from keepgreen.store.nodes import RequestState

log = logging.getLogger(__name__)
CONFIG_PROJECT = SITE_CONFIG
DEBIAN_IMAGE = ".image-debian"

LAUNCH_ATTEMPTS = 3  # zuul-launcher's launch-attempts default
MAX_PASSES = 20  # a step settles long before this; the bound only guards against a loop


@dataclass(frozen=True)
class _Job:
    """Provider I/O decided by a pass: launch ``node_id`` or delete ``node``."""

    node_id: str
    label: str
    provider: str
    request_id: int | None
    node: Node | None = None  # set for deletes


class Launcher:
    """Node requests in, READY nodes out.

    ``request`` records a request; ``step`` serves requests until nothing is left to do right
    now; ``accept`` hands a fulfilled request's nodes to its user (IN_USE); ``release`` gives
    them back (USED, to be deleted, or HOLD until a time); ``sweep`` deletes what providers
    still have that the store does not know, on the second sighting.
    """

    def __init__(self, db: Database, providers: Mapping[str, Provider],
                 labels_config: Mapping[str, pool.LabelConfig] | Iterable[pool.LabelConfig],
                 *, max_servers: Mapping[str, int] | None = None,
                 clock: Callable[[], datetime] = utcnow, workers: int = 4,
                 launch_attempts: int = LAUNCH_ATTEMPTS,
                 on_ready: Callable[[str, float], None] | None = None) -> None:
        self.db = db
        self.on_ready = on_ready  # (provider, seconds the launch took) for each READY node
        self.providers = dict(providers)
        configs = (labels_config.values() if isinstance(labels_config, Mapping)
                   else labels_config)
        self.labels = {config.name: config for config in configs}
        for config in self.labels.values():
            unknown = [p for p in config.providers if p not in self.providers]
            if unknown:
                raise ValueError(f"label {config.name!r} names unknown provider(s) "
                                 f"{', '.join(unknown)}; configured: "
                                 f"{', '.join(self.providers) or 'none'}")
        limits = dict(max_servers or {})
        for name, provider in self.providers.items():
            limits.setdefault(name, int(getattr(provider, "max_servers", 10)))
        self.limits = limits
        self.clock = clock
        self.workers = workers
        self.launch_attempts = launch_attempts
        self._suspects: dict[str, frozenset[ResourceId]] = {}

    # --- the requestor's side --------------------------------------------------------------

    def request(self, labels: Collection[str], priority: int = pool.CHECK_PRIORITY,
                requestor: str = "") -> int:
        """Record a node request; ``step`` serves it. Returns the request id."""
        with self.db.write() as conn:
            return store.add_request(conn, list(labels), priority, requestor, self.clock())

    def get_request(self, request_id: int) -> store.NodeRequest:
        with self.db.read() as conn:
            found = store.get_request(conn, request_id)
        if found is None:
            raise NotFound(f"node request {request_id} does not exist")
        return found

    def accept(self, request_id: int) -> list[Node]:
        """Take a fulfilled request's nodes, in the request's label order; they are IN_USE."""
        now = self.clock()
        with self.db.write() as conn:
            found = store.get_request(conn, request_id)
            if found is None:
                raise NotFound(f"node request {request_id} does not exist")
            if found.state is not RequestState.FULFILLED:
                why = f": {found.reason}" if found.reason else ""
                raise Conflict(f"node request {request_id} is {found.state.value}{why}")
            for node_id in found.node_ids:
                store.set_node_state(conn, node_id, NodeState.IN_USE, now=now)
            return [s.node for s in store.nodes_by_ids(conn, list(found.node_ids))]

    def cancel_request(self, request_id: int, reason: str) -> None:
        """Nobody waits for the request any more: fail it if it is open, and give back
        the nodes of a fulfilled one nobody accepted."""
        with self.db.write() as conn:
            found = store.get_request(conn, request_id)
            if found is None or found.state is RequestState.FAILED:
                return
            if found.state is RequestState.FULFILLED:
                for stored in store.nodes_by_ids(conn, list(found.node_ids)):
                    if stored.node.state is NodeState.READY:
                        store.set_node_state(conn, stored.node.id, NodeState.USED,
                                             now=self.clock())
                store.update_request(conn, request_id, state=RequestState.FAILED,
                                     reason=reason, now=self.clock())
                return
            self._fail_request(conn, request_id, reason, self.clock())

    def release(self, node_ids: Collection[str], hold_until: datetime | None = None) -> None:
        """Give nodes back: USED (deleted by the next step) or HOLD until ``hold_until``."""
        state = NodeState.USED if hold_until is None else NodeState.HOLD
        with self.db.write() as conn:
            for stored in store.nodes_by_ids(conn, list(node_ids)):
                if stored.node.state not in (NodeState.IN_USE, NodeState.READY):
                    continue  # already released: releasing twice is harmless
                store.set_node_state(conn, stored.node.id, state, now=self.clock(),
                                     hold_until=hold_until)

    def nodes(self) -> list[store.StoredNode]:
        with self.db.read() as conn:
            return store.all_nodes(conn)

    # --- the launcher's loop ---------------------------------------------------------------

    def resume(self) -> None:
        """After a restart: launches that were in flight died with the old process.

        Their nodes are marked FAILED (deleted by the next step, as Nodepool deletes unlocked
        BUILDING nodes) and their requests get a new node without counting a failure.
        """
        with self.db.write() as conn:
            for stored in store.all_nodes(conn):
                if stored.node.state in (NodeState.REQUESTED, NodeState.BUILDING):
                    store.set_node_state(conn, stored.node.id, NodeState.FAILED,
                                         reason="the launcher stopped during the launch",
                                         request_id=None, now=self.clock())

    def step(self) -> list[pool.Action]:
        """Serve requests until a pass calls no provider; returns every action taken."""
        taken: list[pool.Action] = []
        for _ in range(MAX_PASSES):
            actions, jobs = self._decide()
            taken.extend(actions)
            if not jobs:
                break
            with ThreadPoolExecutor(max_workers=self.workers,
                                    thread_name_prefix="launcher") as executor:
                for future in [executor.submit(self._perform, job) for job in jobs]:
                    future.result()
        return taken

    def _decide(self) -> tuple[list[pool.Action], list[_Job]]:
        now = self.clock()
        jobs: list[_Job] = []
        with self.db.write() as conn:
            stored = store.all_nodes(conn)
            by_id = {s.node.id: s for s in stored}
            requests = store.open_requests(conn)
            actions = pool.decide(
                self.labels, self.limits,
                [pool.PoolNode(s.node.id, s.node.label, s.node.provider, s.node.state,
                               s.request_id, s.hold_until) for s in stored],
                [pool.PoolRequest(r.id, r.labels, r.priority) for r in requests], now)
            waiting = {r.id: r.reason for r in requests}
            for action in actions:
                if isinstance(action, pool.Assign):
                    store.allocate(conn, [action.node_id], action.request_id)
                elif isinstance(action, pool.Fulfil):
                    store.update_request(conn, action.request_id, now=now,
                                         state=RequestState.FULFILLED,
                                         node_ids=action.node_ids, reason="")
                elif isinstance(action, pool.Wait):
                    if waiting.get(action.request_id) != action.reason:
                        store.update_request(conn, action.request_id, now=now,
                                             reason=action.reason)
                elif isinstance(action, pool.Fail):
                    self._fail_request(conn, action.request_id, action.reason, now)
                elif isinstance(action, pool.Launch):
                    node_id = uuid.uuid4().hex[:12]
                    store.add_node(conn, node_id, action.label, action.provider,
                                   action.request_id, now)
                    jobs.append(_Job(node_id, action.label, action.provider,
                                     action.request_id))
                else:
                    node = by_id[action.node_id].node
                    if node.state is not NodeState.DELETING:
                        store.set_node_state(conn, node.id, NodeState.DELETING,
                                             reason=action.reason, now=now)
                    jobs.append(_Job(node.id, node.label, node.provider, None, node))
        return actions, jobs

    def _perform(self, job: _Job) -> None:
        if job.node is not None:
            self._delete(job.node)
        else:
            self._launch(job)

    def _launch(self, job: _Job) -> None:
        provider = self.providers[job.provider]
        check = getattr(provider, "preflight", None)
        problem = check() if callable(check) else None
        if problem:
            # No retry can help: the request fails now, and says what to install.
            self._launch_failed(job, str(problem), final=True)
            return
        with self.db.write() as conn:
            store.set_node_state(conn, job.node_id, NodeState.BUILDING, now=self.clock())
        started = time.monotonic()
        try:
            node = provider.create(job.label, job.node_id)
        except Exception as exc:
            reason = _first_line(exc)
            log.warning("launch of node %s (%s in %s) failed: %s", job.node_id, job.label,
                        job.provider, reason)
            self._launch_failed(job, reason)
            return
        with self.db.write() as conn:
            store.save_launched(conn, node, self.clock())
        if self.on_ready is not None:
            self.on_ready(job.provider, time.monotonic() - started)

    def _launch_failed(self, job: _Job, reason: str, *, final: bool = False) -> None:
        now = self.clock()
        with self.db.write() as conn:
            # Detached from its request, so the next pass launches a replacement.
            store.set_node_state(conn, job.node_id, NodeState.FAILED, reason=reason,
                                 request_id=None, now=now)
            if job.request_id is None:
                return
            found = store.get_request(conn, job.request_id)
            if found is None or found.state is not RequestState.REQUESTED:
                return
            failures = found.failures + 1
            if final:
                self._fail_request(conn, found.id,
                                   f"NODE_FAILURE: provider {job.provider} cannot make "
                                   f"nodes on this machine: {reason}", now,
                                   failures=failures)
            elif failures >= self.launch_attempts:
                self._fail_request(conn, found.id,
                                   f"NODE_FAILURE: {failures} launches of label {job.label} "
                                   f"failed; the last in {job.provider}: {reason}", now,
                                   failures=failures)
            else:
                store.update_request(conn, found.id, now=now, failures=failures,
                                     reason=f"retrying label {job.label} after a failed "
                                            f"launch ({failures} of {self.launch_attempts}): "
                                            f"{reason}")

    def _fail_request(self, conn: Connection, request_id: int, reason: str, now: datetime,
                      **values: object) -> None:
        store.update_request(conn, request_id, state=RequestState.FAILED, reason=reason,
                             now=now, **values)
        # Its READY nodes go back to the pool as spares for the next request.
        mine = [s.node.id for s in store.all_nodes(conn) if s.request_id == request_id]
        store.allocate(conn, mine, None)

    def _delete(self, node: Node) -> None:
        try:
            self.providers[node.provider].delete(node)
        except Exception as exc:
            # Stays DELETING: the next pass tries again, as Nodepool's DeletedNodeWorker does.
            log.warning("delete of node %s failed: %s", node.id, _first_line(exc))
            with self.db.write() as conn:
                store.set_node_state(conn, node.id, NodeState.DELETING,
                                     reason=f"delete failed: {_first_line(exc)}",
                                     now=self.clock())
            return
        with self.db.write() as conn:
            store.remove_node(conn, node.id)

    # --- leaks -----------------------------------------------------------------------------

    def sweep(self) -> list[ResourceId]:
        """Delete provider resources of nodes the store does not know, seen twice in a row.

        Returns what was deleted. A resource without a node tag cannot be deleted through the
        provider port; it is logged for the operator instead.
        """
        deleted: list[ResourceId] = []
        for name, provider in self.providers.items():
            try:
                resources = provider.list_resources()
            except Exception as exc:  # noqa: BLE001 - a cloud outage must not stop the rest
                log.warning("leak sweep of provider %s skipped: %s", name, _first_line(exc))
                continue
            # Read after listing: a node recorded in between is then known, never a leak.
            with self.db.read() as conn:
                known = store.node_ids(conn)
            plan = plan_sweep(resources, known, (), self._suspects.get(name, frozenset()))
            self._suspects[name] = plan.suspects
            for node_id in sorted({r.node_id for r in plan.delete if r.node_id}):
                provider.delete(Node(id=node_id, label="", provider=name,
                                     state=NodeState.DELETING, host=""))
            for resource in plan.delete:
                if resource.node_id is None:
                    log.warning("provider %s has an untagged leaked %s %s; remove it by hand",
                                name, resource.kind, resource.name)
                else:
                    deleted.append(resource)
        return deleted


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LauncherService:
    """The node pool inside ``keepgreen serve``: a ``Launcher`` driven by a thread.

    ``start`` reads the ``nodes/`` folder of the ``config`` project (or the default: one
    local provider), cleans up after the previous process (nodes of a stopped server are
    gone with it: they are deleted, and requests nobody waits for any more are failed), and
    starts the loop: serve requests, keep ``min-ready`` spares, delete used and expired held
    nodes, sweep leaks every ``sweep_seconds``. ``reload_nodes`` applies a new ``nodes/``
    state; one with problems keeps the running configuration. ``stop`` deletes every node.
    """

    def __init__(self, db: Database, site: Path, defaults: NodeDefaults | None = None, *,
                 repos: Repos | None = None, clock: Callable[[], datetime] = utcnow,
                 tick: float = 1.0, sweep_seconds: float = 60.0,
                 make_provider: Callable[[ProviderConfig], Provider] | None = None) -> None:
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
                            name).observe(seconds))

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
        self.recover()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="launcher", daemon=True)
        self._thread.start()

    def recover(self) -> None:
        """Clean up after the process before this one, which may have been killed.

        Its nodes died with it (local nodes stop with their launcher), so every node in the
        store is deleted, and requests whose requestor is gone are failed.
        """
        now = self.clock()
        with self.db.write() as conn:
            for stored in store.all_nodes(conn):
                if stored.node.state is not NodeState.DELETING:
                    store.set_node_state(conn, stored.node.id, NodeState.FAILED,
                                         reason="the server stopped", request_id=None,
                                         now=now)
            for found in store.open_requests(conn):
                store.update_request(conn, found.id, state=RequestState.FAILED, now=now,
                                     reason="the server stopped before nodes were ready")
        with self._lock:
            launcher = self.launcher
        launcher.step()
        for provider in launcher.providers.values():
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
                                getattr(provider, "name", "?"), _first_line(exc))

    def stop(self) -> None:
        """Stop the loop and delete every node (waiting requests fail)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        now = self.clock()
        with self.db.write() as conn:
            for found in store.open_requests(conn):
                store.update_request(conn, found.id, state=RequestState.FAILED, now=now,
                                     reason="the server is stopping")
            for stored in store.all_nodes(conn):
                store.set_node_state(conn, stored.node.id, NodeState.USED,
                                     reason="the server is stopping", now=now)
        with self._lock:
            self.launcher.step()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            with self._lock:
                launcher = self.launcher
            try:
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
