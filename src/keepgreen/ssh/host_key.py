"""The site's SSH host key: made once (at ``keepgreen init`` or the first start) and kept
in ``secrets/``, readable by the server's account alone."""

from __future__ import annotations

import os
from pathlib import Path

import asyncssh

HOST_KEY = Path("secrets") / "ssh_host_ed25519_key"


def host_key_path(site: Path) -> Path:
    return site / HOST_KEY


def ensure_host_key(site: Path) -> Path:
    """The host key file, made now when the site has none."""
    path = host_key_path(site)
    if path.exists():
        return path
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment=f"keepgreen@{site.name}")
    try:
        # Created 0600 from the start: the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path  # another process made it meanwhile
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    path.with_suffix(".pub").write_bytes(key.export_public_key())
    return path

