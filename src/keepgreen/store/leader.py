"""The one lock that makes a process the site's leader: the one that runs the scheduler,
the node pool's launcher and the other background loops that must run once per site.

On PostgreSQL it is a session advisory lock held on a connection of its own, so it goes
the moment the holder dies (``kill -9`` closes the connection). On SQLite it is an
``flock`` on a file beside the database, which the kernel releases the same way. A
process that does not get it stays a standby and tries again.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from keepgreen.store.db import Database

# The advisory lock's key: "keepgreen" read as a number, so other users of the database
# are unlikely to take it for one of theirs.
LOCK_KEY = 0x6B656570677265


class LeaderLock:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._conn: Connection | None = None
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self.held:
            return True
        if self.db.is_sqlite:
            return self._try_file()
        conn = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                    {"key": LOCK_KEY}).scalar())
        except SQLAlchemyError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def alive(self) -> bool:
        """Whether the lock is still held: False once its connection is gone."""
        if self._fd is not None:
            return True
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            except SQLAlchemyError:
                pass
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None

    def _try_file(self) -> bool:
        database = make_url(self.db.url).database
        if not database or database == ":memory:":
            self._fd = os.open(os.devnull, os.O_RDONLY)  # one process: always the leader
            return True
        path = Path(database + "-leader")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True
