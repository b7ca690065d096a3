"""Each project's key pair for Zuul secrets: made on first need, shown to whoever may read
the project, rotated by an administrator.

A project's public key is public in the sense Zuul means: anyone who can see the project may
encrypt a secret for it. Only keepgreen holds the private key (encrypted under the site key),
and only the executor's path asks for it (``private_key``).
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.asymmetric import rsa

from keepgreen.crypto import keypairs
from keepgreen.crypto.keypairs import StoredKeyPair
from keepgreen.domain.account import Principal
from keepgreen.services.errors import Forbidden, NotFound
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import project_keys as store
from keepgreen.store.db import Database


class ProjectKeyService:
    def __init__(self, db: Database, projects: ProjectService, site_key: bytes,
                 bits: int = keypairs.KEY_BITS) -> None:
        self.db = db
        self.projects = projects
        self.site_key = site_key
        self.bits = bits
        self._making = threading.Lock()

    def public_key(self, caller: Principal, project: str) -> bytes:
        """The PEM public key of ``project``; NotFound when it does not exist or ``caller``
        may not see it."""
        self.projects.get(project, caller)
        return self._pair(project).public_pem

    def private_key(self, project: str) -> rsa.RSAPrivateKey:
        """For the executor only: the project's private key, opened with the site key."""
        return keypairs.private_key(self._pair(project), self.site_key)

    def rotate(self, caller: Principal, project: str) -> bytes:
        """Replace the project's key pair; returns the new public key. Secrets encrypted
        with the old key no longer open: they must be encrypted again and merged."""
        if not caller.is_admin:
            raise Forbidden("rotating a project key needs membership in Administrators")
        self.projects.get(project, caller)
        pair = keypairs.generate(self.site_key, self.bits)
        with self._making, self.db.write() as conn:
            store.replace_key_pair(conn, project, pair)
        return pair.public_pem

    def _pair(self, project: str) -> StoredKeyPair:
        with self.db.read() as conn:
            pair = store.key_pair(conn, project)
        if pair is not None:
            return pair
        with self._making:
            with self.db.read() as conn:
                pair = store.key_pair(conn, project)
            if pair is not None:
                return pair
            made = keypairs.generate(self.site_key, self.bits)
            with self.db.write() as conn:
                store.add_key_pair(conn, project, made)
                pair = store.key_pair(conn, project)
        if pair is None:  # pragma: no cover - written just above
            raise NotFound(f"project {project} has no key")
        return pair
