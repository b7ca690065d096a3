"""A real sshd on a free 127.0.0.1 port, standing in for a cloud server's sshd.

Like the local nodes the static tests use, it is the host's own ``/usr/sbin/sshd`` with a
fresh host key and one authorised client key; it needs no namespaces, so it runs as any
user (logging in as that user). Skipped, with the reason, where sshd or ssh are missing.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class Sshd:
    port: int
    username: str
    host_key: str  # the public host key line, "ssh-ed25519 AAAA..."
    client_key: Path  # the private key that may log in


def missing() -> str | None:
    if not os.path.exists(SSHD):
        return "a real sshd is needed: run `apt-get install -y openssh-server`"
    for tool in ("ssh", "ssh-keygen", "ssh-keyscan"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def loopback_sshd(folder: Path) -> Iterator[Sshd]:
    problem = missing()
    if problem:
        pytest.skip(problem)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(folder / name)], check=True, capture_output=True)
    (folder / "authorized_keys").write_text((folder / "client.pub").read_text())
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host'}\n"
                      f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
                      "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                      "UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n"
                      f"PidFile {folder / 'sshd.pid'}\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # root's sshd wants its privilege separation folder
    process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    pytest.fail(f"sshd did not start: {err.strip()}")
                time.sleep(0.02)
        public = (folder / "host.pub").read_text().split()
        yield Sshd(port, getpass.getuser(), f"{public[0]} {public[1]}", folder / "client")
    finally:
        process.terminate()
        process.wait(timeout=10)
