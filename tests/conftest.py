"""Fixtures shared by every layer of tests.

Store-backed fixtures run once on SQLite and once on PostgreSQL. PostgreSQL is expected at
127.0.0.1:5432 (user postgres, trust auth); without it those tests are skipped locally and
fail under CI (``CI=true``), where `.ci/run` starts it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.store.db import Database
from tests.support import GitUser, Server, start_server

PG_ADMIN_URL = os.environ.get("KEEPGREEN_TEST_POSTGRES",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL.replace("+psycopg", ""), connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "no PostgreSQL here"
        return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _pg_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is needed under CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    return PG_ADMIN_URL


def make_postgres_database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = "kg_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name, name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL: SQLite in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = make_postgres_database(admin_url)
    yield url
    drop_postgres_database(admin_url, name)


@pytest.fixture
def migrated_db(database_url: str) -> Iterator[Database]:
    """A store at ``database_url`` with every migration applied."""
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server for a whole test module, once per store backend."""
    site = tmp_path_factory.mktemp("site") / "site"
    name = None
    url = None
    if request.param == "postgresql":
        admin_url = request.getfixturevalue("postgres_admin_url")
        url, name = make_postgres_database(admin_url)
    srv = start_server(site, url)
    yield srv
    srv.stop()
    if name:
        drop_postgres_database(PG_ADMIN_URL, name)


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real server on SQLite only, for client-compatibility tests."""
    srv = start_server(tmp_path_factory.mktemp("site") / "site")
    yield srv
    srv.stop()


@pytest.fixture
def make_user(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Create an account on a server and a git user with its own HOME for it."""
    counter = iter(range(1000))

    def make(server: Server, username: str | None = None,
             groups: list[str] | None = None) -> GitUser:
        if username is None:
            return GitUser(tmp_path / f"anon-{next(counter)}", server)
        name = f"{username}{uuid.uuid4().hex[:6]}"
        password = server.create_account(name, groups=groups)
        return GitUser(tmp_path / f"home-{name}", server, name, password)

    return make


@pytest.fixture
def project_name() -> str:
    return f"org/p{uuid.uuid4().hex[:8]}"
