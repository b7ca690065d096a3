"""Engine creation, migrations and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with one writer at a time: writes take a process-wide lock and
``BEGIN IMMEDIATE`` so concurrent writers queue instead of failing with "database is
locked". PostgreSQL relies on its own row locks.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, OperationalError

MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = "keepgreen_topics"  # the topics a write transaction touched (``notify``)
CHANNEL = "keepgreen"  # the PostgreSQL NOTIFY channel every process of a site listens on

# What a committed write can tell the followers of the store about.
EVENT = "event"  # an event was recorded: the scheduler looks at the log
BUILD_REQUESTS = "build-requests"  # a build is waiting, or cancelled: the executors look
BUILD_RESULTS = "build-results"  # a build reported: the scheduler looks
NODE_REQUESTS = "node-requests"  # a node request is waiting: the launcher looks
ACCOUNTS = "accounts"  # an account (password, name, e-mail, active) or a membership changed


def notify(conn: Connection, topic: str) -> None:
    """Tell the followers of ``topic`` once this write transaction commits: the callbacks
    of this process (``Database.subscribe``) and, on PostgreSQL, every process listening
    (``store.listener``)."""
    conn.info.setdefault(TOPICS, set()).add(topic)


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message says which and how to fix it."""


class Database:
    """One store: an engine plus the write discipline for its dialect."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
        self.url = url
        # For messages: never print a password from the URL.
        self.shown_url = parsed.render_as_string(hide_password=True)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        try:
            self.engine = self._create(url)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"database URL {self.shown_url} cannot be used: {exc}") from None
        self._write_lock = threading.Lock()
        # Called after a write transaction that touched their topic is committed (in this
        # process), so whoever follows it looks at once instead of at its next poll.
        self.subscribers: dict[str, list[Callable[[], None]]] = {}
        self.on_event = self.subscribers.setdefault(EVENT, [])

    def subscribe(self, topic: str, callback: Callable[[], None]) -> None:
        self.subscribers.setdefault(topic, []).append(callback)

    def tell(self, topic: str) -> None:
        """Call the subscribers of ``topic`` in this process."""
        for callback in list(self.subscribers.get(topic, ())):
            callback()

    def _create(self, url: str) -> Engine:
        if self.is_sqlite:
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 60},
                pool_size=8, max_overflow=16,
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise StoreError(f"cannot open the database at {self.shown_url}: {reason}") from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception. The
        subscribers of each topic it touched (``notify``) are called once it is committed;
        on PostgreSQL a NOTIFY, sent with the commit, tells the other processes."""
        topics: set[str] = set()
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        with lock, self.engine.connect() as connection:
            if self.is_sqlite:
                connection.info["immediate"] = True
            try:
                with connection.begin():
                    yield connection
                    topics = set(connection.info.get(TOPICS, ()))
                    if topics and not self.is_sqlite:
                        for topic in sorted(topics):
                            connection.execute(text("SELECT pg_notify(:channel, :note)"),
                                               {"channel": CHANNEL,
                                                "note": f"{topic} {os.getpid()}"})
            finally:  # the topics live on the pooled connection: never let them outlive us
                connection.info.pop(TOPICS, None)
        for topic in sorted(topics):
            self.tell(topic)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    if connection.info.pop("immediate", False):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
