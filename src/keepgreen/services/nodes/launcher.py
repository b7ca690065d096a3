"""The launcher: serves node requests from providers, following zuul-launcher's model.

Each pass loads the pool from the store, asks ``nodes.pool.decide`` what to do, records the
decision (allocations, waiting reasons, node rows for launches) in one transaction, and only
then calls the providers, several at a time. Every node exists in the store before its
provider is asked for it, so quota counts and leak sweeps never miss a server, and a
restarted launcher finds half-done work in the store (see ``resume``).

Several launchers (processes, machines) may share the pool: their passes take turns under
the store's pool lock, each launches only for the providers it serves and deletes only the
nodes it launched, and the nodes of a launcher whose heartbeat stopped are taken over
(``Launcher._share``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from keepgreen.domain.node import Node, NodeState, Provider, ResourceId
from keepgreen.nodes import pool
from keepgreen.nodes.leaks import plan_sweep
from keepgreen.services.errors import Conflict, NotFound
from keepgreen.store import nodes as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import NODE_REQUESTS, Database, notify
from keepgreen.store.nodes import RequestState

log = logging.getLogger(__name__)

LAUNCH_ATTEMPTS = 3  # zuul-launcher's launch-attempts default
LEASE = 30.0  # seconds a launcher stays alive without a heartbeat
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
                 on_ready: Callable[[str, float], None] | None = None, name: str = "",
                 serves: Collection[str] | None = None, lease: float = LEASE) -> None:
        self.db = db
        # A named launcher shares the pool with the site's other launchers: it launches
        # for the providers it ``serves`` (every provider when None) and deletes the nodes
        # it launched, and those of launchers whose heartbeat is older than ``lease``. An
        # unnamed one is the only launcher and owns every node.
        self.name = name
        self.serves = frozenset(providers if serves is None else serves)
        self.lease = lease
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
        self._live: set[str] = {name}
        self.closing = False  # set for the last passes of a stopping launcher: no launches

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
            notify(conn, NODE_REQUESTS)  # its launcher deletes it now

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
        orphans: list[_Job] = []
        with self.db.write() as conn:
            store.lock_pool(conn)
            stored = store.all_nodes(conn)
            if self.name and self._share(conn, stored, now, jobs, orphans):
                stored = store.all_nodes(conn)  # as the turn left them
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
                    if self.closing:
                        continue
                    node_id = uuid.uuid4().hex[:12]
                    # Another launcher serving the provider takes a launch this one cannot.
                    mine = action.provider in self.serves
                    store.add_node(conn, node_id, action.label, action.provider,
                                   action.request_id, now,
                                   launcher=(self.name or None) if mine else None)
                    if mine:
                        jobs.append(_Job(node_id, action.label, action.provider,
                                         action.request_id))
                else:
                    found = by_id[action.node_id]
                    node = found.node
                    if node.state is not NodeState.DELETING:
                        store.set_node_state(conn, node.id, NodeState.DELETING,
                                             reason=action.reason, now=now)
                    if self._mine(found):
                        if self.name and found.launcher != self.name:
                            store.take_node(conn, node.id, self.name)
                        jobs.append(_Job(node.id, node.label, node.provider, None, node))
        for orphan in orphans:
            self._launch_failed(orphan, f"no running launcher serves provider "
                                        f"{orphan.provider}")
        return actions, jobs

    def _share(self, conn: Connection, stored: list[store.StoredNode], now: datetime,
               jobs: list[_Job], orphans: list[_Job]) -> bool:
        """This launcher's turn in a shared pool: say it is alive, take the launches left
        for its providers, and fail what dead launchers were launching or kept as spares
        (the next pass deletes those, and their requests get new nodes). A launch no
        running launcher took within the lease goes to ``orphans``: it counts as failed.
        Launches it takes go to ``jobs``; True when it changed a node."""
        epoch = time.time()
        store.beat_launcher(conn, self.name, self.serves, epoch)
        live = store.live_launchers(conn, epoch, self.lease)
        self._live = set(live) | {self.name}
        served = self.serves.union(*live.values())
        changed = False
        for found in stored:
            node, owner = found.node, found.launcher
            if owner is None and node.state is NodeState.REQUESTED and not self.closing:
                job = _Job(node.id, node.label, node.provider, found.request_id)
                if node.provider in self.serves:
                    jobs.append(job)
                elif (node.provider not in served
                      and (now - found.state_changed).total_seconds() > self.lease):
                    orphans.append(job)  # taken, so it is failed once
                else:
                    continue
                store.take_node(conn, node.id, self.name)
                changed = True
            elif owner is not None and owner not in self._live and node.state in (
                    NodeState.REQUESTED, NodeState.BUILDING, NodeState.READY):
                if node.state is NodeState.READY and found.request_id is not None:
                    continue  # allocated: its user finds out and gives it back
                store.set_node_state(conn, node.id, NodeState.FAILED, request_id=None,
                                     reason=f"its launcher {owner} stopped", now=now)
                changed = True
        return changed

    def _mine(self, found: store.StoredNode) -> bool:
        """Whether this launcher deletes the node: it launched it, or nobody alive did and
        it serves the node's provider."""
        if not self.name:
            return True
        if found.launcher == self.name:
            return True
        return (found.node.provider in self.serves
                and (found.launcher is None or found.launcher not in self._live))

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
            reason = first_line(exc)
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
            log.warning("delete of node %s failed: %s", node.id, first_line(exc))
            with self.db.write() as conn:
                store.set_node_state(conn, node.id, NodeState.DELETING,
                                     reason=f"delete failed: {first_line(exc)}",
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
            if name not in self.serves:
                continue
            try:
                resources = provider.list_resources()
            except Exception as exc:  # noqa: BLE001 - a cloud outage must not stop the rest
                log.warning("leak sweep of provider %s skipped: %s", name, first_line(exc))
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


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
