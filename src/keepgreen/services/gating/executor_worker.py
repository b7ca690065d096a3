"""An executor taking builds from the database: in ``keepgreen serve`` or on its own.

``ExecutorWorker`` claims waiting builds up to its capacity (``store.build_queue``), runs
each in a thread of its own with an ``Executor``, and writes the result back. While builds
run it renews their leases (every third of the lease, or at once when woken); a build the
scheduler cancelled is stopped, and a build taken away from it (its lease ran out, so the
scheduler handed it to another executor) is stopped too, its late result dropped by the
store. The nodes each attempt holds are written on the build's row, so a scheduler that
finds the executor dead gives them back to the pool. An executor on another machine than
the server (``executor_fetch_url`` set) first fetches each build's trees over git HTTP
(``executor.remote_sources``) and, when a build ends, sends its logs to the server
(``executor.log_upload``), so the server's log pages show them.

Operators pause an executor (it finishes its builds but takes no new ones), resume it, or
drain it gracefully (it finishes its builds, then stops) through its row in ``executors``:
``keepgreen executor --pause/--resume/--graceful``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from keepgreen.domain.node import Node
from keepgreen.executor import model as ex
from keepgreen.executor import wire
from keepgreen.executor.ansible_process import LineSink
from keepgreen.executor.log_upload import LogUploader
from keepgreen.executor.node_source import NodeSource
from keepgreen.executor.remote_sources import RemoteSources, SourceError
from keepgreen.executor.remote_sources import remove as remove_sources
from keepgreen.executor.runner import Executor
from keepgreen.store import build_queue
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
TAKEN_AWAY = "its executor lost the build's lease; it runs elsewhere now"
# An executor takes no new builds while its builds folder has less than MIN_FREE_DISK
# free, or (when ``max_load`` is set) while the load average is above it. The load limit
# is off by default: on one machine the load comes from the builds' own nodes, and an
# executor that stops there stalls a site that has no other.
MIN_FREE_DISK = 256 << 20


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _HeldNodes:
    """The executor's node source, telling the worker which nodes each build holds."""

    def __init__(self, inner: NodeSource, held: Callable[[str, list[str]], None]) -> None:
        self._inner = inner
        self._held = held

    def acquire(self, request: ex.BuildRequest, on_line: LineSink) -> dict[str, Node]:
        nodes = self._inner.acquire(request, on_line)
        self._held(request.uuid, [node.id for node in nodes.values()])
        return nodes

    def release(self, request: ex.BuildRequest, nodes: Mapping[str, Node],
                result: ex.Result | None) -> list[str]:
        try:
            return self._inner.release(request, nodes, result)
        finally:
            self._held(request.uuid, [])

    def __getattr__(self, name: str) -> Any:  # cancel, trouble: whatever the source has
        return getattr(self._inner, name)


class ExecutorWorker:
    """Takes up to ``capacity`` builds at a time from the database and runs them."""

    def __init__(self, db: Database, factory: Callable[[], Executor], *, name: str = "",
                 capacity: int = 4, lease: float = 30.0,
                 on_report: Callable[[], None] = lambda: None,
                 sources: RemoteSources | None = None,
                 uploader: LogUploader | None = None) -> None:
        self.db = db
        self.sources = sources  # set on another machine than the server: fetch the trees
        if uploader is None and sources is not None:  # ... and send the logs there
            uploader = LogUploader(sources.url, sources.authorization, sources.root / "uploads")
        self.uploader = uploader
        self.name = name or default_name()
        self.capacity = max(1, capacity)
        self.lease = lease
        self.on_report = on_report  # told after each result or early failure is written
        self._factory = factory
        self._executor: Executor | None = None
        self._running: dict[str, threading.Thread] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.paused = False
        self.graceful = False
        self.load = 0.0
        self.free_disk = 0
        self.max_load = 0.0  # 0: no limit
        self.min_free_disk = MIN_FREE_DISK
        self.busy = ""  # why it takes no new builds now ("" while it does)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        with self.db.write() as conn:
            build_queue.register(conn, self.name, self.capacity, time.time())
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="keepgreen-executor",
                                        daemon=True)
        self._thread.start()
        log.info("executor %s takes up to %d build(s) at a time", self.name, self.capacity)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop at once: running builds are aborted (their results are written)."""
        self._stop.set()
        self._wake.set()
        if self._executor is not None:
            self._executor.abort()
        for thread in list(self._running.values()):
            thread.join(timeout=timeout)
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        with self.db.write() as conn:
            build_queue.unregister(conn, self.name)

    def wait(self) -> None:
        """Block until the worker stopped by itself (a graceful drain) or was stopped."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def wake(self) -> None:
        """Look for builds and cancels now rather than at the next poll."""
        self._wake.set()

    @property
    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # --- the loop -------------------------------------------------------------------------

    def _loop(self) -> None:
        renewed = 0.0
        while not self._stop.is_set():
            try:
                now = time.time()
                if now - renewed >= self.lease / 3:
                    self._heartbeat(now)
                    renewed = now
                else:
                    self._look_for_cancels()
                if self.graceful and not self.running:
                    log.info("executor %s drained; stopping", self.name)
                    self._stop.set()
                    break
                self._claim(now)
            except Exception:  # noqa: BLE001 - a database hiccup must not stop the executor
                log.exception("executor %s: pass failed; trying again", self.name)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _heartbeat(self, now: float) -> None:
        running = self.running
        try:
            load = os.getloadavg()[0]
        except OSError:
            load = 0.0
        free = shutil.disk_usage(self._root()).free if self._root().exists() else 0
        self.load, self.free_disk = load, free
        busy = ""
        if self.max_load and load > self.max_load:
            busy = f"load {load:.2f} is above {self.max_load:.2f}"
        elif self._root().exists() and free < self.min_free_disk:
            busy = f"{free >> 20} MiB free in {self._root()}, below {self.min_free_disk >> 20} MiB"
        if bool(busy) != bool(self.busy):  # said once when it stops and once when it goes on
            if busy:
                log.warning("executor %s takes no new builds: %s", self.name, busy)
            else:
                log.warning("executor %s takes builds again", self.name)
        self.busy = busy
        with self.db.write() as conn:
            row = build_queue.beat(conn, self.name, running=len(running), load=load,
                                   free_disk=free, now=now)
            if row is None:  # removed by an operator or a restart: write it again
                build_queue.register(conn, self.name, self.capacity, now)
            answers = build_queue.renew(conn, self.name, running, lease=self.lease, now=now)
        if row is not None:
            self.paused, self.graceful = row.paused, row.graceful
        self._act_on(running, answers)

    def _look_for_cancels(self) -> None:
        running = self.running
        if not running:
            return
        with self.db.read() as conn:
            answers = {}
            for uuid in running:
                found = build_queue.get(conn, uuid)
                if (found is not None and found.owner == self.name
                        and found.state == build_queue.RUNNING):
                    answers[uuid] = found.cancel_reason
        self._act_on(running, answers)

    def _act_on(self, running: list[str], answers: Mapping[str, str | None]) -> None:
        for uuid in running:
            reason = answers[uuid] if uuid in answers else TAKEN_AWAY
            if reason is None or uuid in self._cancelled:
                continue
            self._cancelled.add(uuid)
            log.info("executor %s: stopping build %s: %s", self.name, uuid, reason)
            self._executor_now().cancel(uuid, reason)

    def _claim(self, now: float) -> None:
        free = self.capacity - len(self.running)
        if self.paused or self.graceful or self.busy or free <= 0:
            return
        with self.db.read() as conn:
            waiting = build_queue.counts(conn).get(build_queue.REQUESTED, 0)
        if not waiting:
            return
        with self.db.write() as conn:
            claimed = build_queue.claim(conn, self.name, free, lease=self.lease, now=now)
        for found in claimed:
            thread = threading.Thread(target=self._run, args=(found,), daemon=True,
                                      name=f"build-{found.uuid[:8]}")
            with self._lock:
                self._running[found.uuid] = thread
            thread.start()

    # --- one build ------------------------------------------------------------------------

    def _run(self, found: build_queue.QueuedBuild) -> None:
        started = time.time()
        fetched: list[Path] = []
        try:
            request = wire.load_request(found.request)
            if self.sources is not None:
                request, fetched = self.sources.localize(request)
            result = self._executor_now().run_build(
                request, on_early_failure=lambda reason: self._early(found.uuid, reason))
        except SourceError as exc:
            log.warning("build %s of job %s: %s", found.uuid, found.job, exc)
            result = ex.BuildResult(uuid=found.uuid, job=found.job, result=ex.Result.ERROR,
                                    reason=str(exc), started=started, ended=time.time())
        except Exception as exc:  # noqa: BLE001 - any crash must still end the build
            log.exception("build %s of job %s crashed", found.uuid, found.job)
            result = ex.BuildResult(uuid=found.uuid, job=found.job, result=ex.Result.ERROR,
                                    reason=f"the build could not run: {exc}",
                                    started=started, ended=time.time())
        result = self._send_logs(result)
        try:
            with self.db.write() as conn:
                kept = build_queue.complete(conn, found.uuid, self.name,
                                            wire.dump_result(result))
            if not kept:
                log.info("executor %s: build %s is no longer ours; its result (%s) is "
                         "dropped", self.name, found.uuid, result.result.value)
        finally:
            remove_sources(fetched)
            with self._lock:
                self._running.pop(found.uuid, None)
                self._cancelled.discard(found.uuid)
            self.on_report()
            self._wake.set()

    def _send_logs(self, result: ex.BuildResult) -> ex.BuildResult:
        """The result with its logs on the server, if this executor sends them there. A
        failed upload keeps the executor's own folder: the build's outcome stands."""
        if self.uploader is None or result.log_dir is None:
            return result
        try:
            if not result.log_dir.is_dir():
                return result
            placed = self.uploader.upload(result.uuid, _attempt_of(result), result.log_dir)
        except Exception as exc:  # noqa: BLE001 - lost logs must not fail or crash a build
            log.warning("build %s of job %s: its logs stay in %s on this executor, they did "
                        "not reach the server: %s", result.uuid, result.job, result.log_dir,
                        exc)
            return result
        return dataclasses.replace(result, log_dir=placed)

    def _early(self, uuid: str, reason: str) -> None:
        with self.db.write() as conn:
            build_queue.early_failure(conn, uuid, self.name, reason)
        self.on_report()

    def _held(self, uuid: str, node_ids: list[str]) -> None:
        with self.db.write() as conn:
            build_queue.set_nodes(conn, uuid, self.name, node_ids)

    def _root(self) -> Path:
        executor = self._executor
        return executor.settings.builds_root if executor is not None else Path(".")

    def _executor_now(self) -> Executor:
        with self._lock:
            if self._executor is None:
                executor = self._factory()
                if executor.nodes is not None:
                    executor.nodes = _HeldNodes(executor.nodes, self._held)
                self._executor = executor
            return self._executor


def _attempt_of(result: ex.BuildResult) -> int:
    """The attempt whose logs the result names: ``<uuid>/<attempt>/work/logs``."""
    assert result.log_dir is not None
    folder = result.log_dir.parent.parent.name
    if folder.isascii() and folder.isdigit():
        return int(folder)
    return result.attempts[-1].number if result.attempts else 1
