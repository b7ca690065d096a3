"""Project key pairs in the store."""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from keepgreen.crypto.keypairs import StoredKeyPair
from keepgreen.store.clock import utcnow
from keepgreen.store.schema import project_keys


def key_pair(conn: Connection, project: str) -> StoredKeyPair | None:
    row = conn.execute(select(project_keys).where(project_keys.c.project == project)).first()
    if row is None:
        return None
    return StoredKeyPair(row.public_pem.encode(), row.private_pem.encode())


def add_key_pair(conn: Connection, project: str, pair: StoredKeyPair) -> bool:
    """Store ``pair`` unless the project has one already; False when it had."""
    try:
        with conn.begin_nested():
            conn.execute(insert(project_keys).values(
                project=project, public_pem=pair.public_pem.decode(),
                private_pem=pair.private_pem.decode(), created=utcnow()))
    except IntegrityError:
        return False
    return True


def replace_key_pair(conn: Connection, project: str, pair: StoredKeyPair) -> None:
    conn.execute(delete(project_keys).where(project_keys.c.project == project))
    conn.execute(insert(project_keys).values(
        project=project, public_pem=pair.public_pem.decode(),
        private_pem=pair.private_pem.decode(), created=utcnow()))
