"""Which process of a site runs its background loops: the one holding the leader lock.

Several ``keepgreen serve`` processes may serve one site (behind a load balancer, or one
as a standby). Each serves web, git and review and may run an executor, but only the
leader runs the scheduler, the node pool's launcher, the config watcher, elections and
webhook deliveries, each of which must act once per site. A standby tries the lock every
``retry_seconds`` and takes over as soon as the leader is gone: its PostgreSQL connection
closes when it dies, which frees the lock.

A leader that loses the lock (its database connection broke) stops its loops at once and
does not lead again: the process keeps serving, and a restart makes it a standby.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from keepgreen.store.leader import LeaderLock

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, lock: LeaderLock, lead: Callable[[], None],
                 resign: Callable[[], None], *, retry_seconds: float = 1.0) -> None:
        self.lock = lock
        self._lead = lead
        self._resign = resign
        self.retry_seconds = retry_seconds
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Lead now if the lock is free (in this thread), else stand by in a thread of
        its own. Returns whether this process leads."""
        if self.lock.try_acquire():
            self._become_leader()
        else:
            log.warning("another process leads this site; standing by to take over its "
                        "scheduler and launcher")
        self._thread = threading.Thread(target=self._watch, name="leadership", daemon=True)
        self._thread.start()
        return self.leading

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.leading:
            self.leading = False
            self._resign()
        self.lock.release()

    def _become_leader(self, takeover: bool = False) -> None:
        if takeover:
            log.warning("the leader is gone: this process took over the site's scheduler "
                        "and launcher")
        self._lead()
        self.leading = True

    def _watch(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            try:
                if self.leading:
                    if not self.lock.alive():
                        log.error("the leader lock was lost (database connection gone); "
                                  "the scheduler and launcher stop here; restart this "
                                  "process to stand by again")
                        self.leading = False
                        self._resign()
                        return
                elif self.lock.try_acquire():
                    self._become_leader(takeover=True)
            except Exception:  # noqa: BLE001 - keep watching through a database hiccup
                log.exception("leadership check failed; trying again")
