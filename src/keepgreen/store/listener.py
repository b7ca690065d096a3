"""Wake-ups from other processes: PostgreSQL's LISTEN/NOTIFY on the site's channel.

Every committed write that touched a topic (``store.db.notify``) sends ``NOTIFY keepgreen,
'<topic> <pid>'`` with its commit. ``Listener`` holds one connection per process that LISTENs
on the channel and calls the process's subscribers of each topic it hears
(``Database.subscribe``), so an executor on another machine starts a build a moment after
the scheduler asked for it, not at its next poll. Polls stay as the fallback: a
notification lost while the connection was down costs one poll interval, nothing more.

On SQLite there is nothing to listen to: a site on SQLite runs in one process, whose
writes wake its subscribers directly.
"""

from __future__ import annotations

import logging
import os
import threading

import psycopg
from sqlalchemy.engine import make_url

from keepgreen.store.db import CHANNEL, Database

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0


class Listener:
    def __init__(self, db: Database, *, me: str | None = None) -> None:
        self.db = db
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.heard = 0  # notifications heard from other processes
        self._me = me or str(os.getpid())  # notes this process sent are skipped

    def start(self) -> None:
        if self.db.is_sqlite:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="keepgreen-listen",
                                        daemon=True)
        self._thread.start()
        self._ready.wait(5)  # listening before the first write of this process

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _dsn(self) -> str:
        url = make_url(self.db.url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn(), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            topic, _, sender = note.payload.partition(" ")
                            if sender == self._me:
                                continue  # this process woke its own subscribers already
                            self.heard += 1
                            self.db.tell(topic)
            except psycopg.Error as exc:
                self._ready.set()
                log.warning("listening for wake-ups failed (%s); polls go on, trying again "
                            "in %.0f s", str(exc).strip().splitlines()[0] if str(exc) else exc,
                            RETRY_SECONDS)
                self._stop.wait(RETRY_SECONDS)
