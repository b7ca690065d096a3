"""What this machine lacks to make local nodes, each with the command that fixes it.

Asked by ``keepgreen serve`` at start (one warning line per problem) and by the launcher
before it launches a local node: a provider that cannot work fails its requests at once
with NODE_FAILURE and these reasons, rather than leaving builds waiting.
"""

from __future__ import annotations

import os
import shutil

# (program, Debian package) the local provider runs on the host.
TOOLS = (("unshare", "util-linux"), ("nsenter", "util-linux"), ("setpriv", "util-linux"),
         ("mount", "mount"), ("ip", "iproute2"), ("ssh", "openssh-client"),
         ("ssh-keygen", "openssh-client"))
SSHD = "/usr/sbin/sshd"


def problems(path: str | None = None) -> list[str]:
    """One sentence per missing piece; empty when local nodes can be made here.

    ``path`` is the program search path (default: this process's ``PATH``).
    """
    found: list[str] = []
    if os.geteuid() != 0:
        found.append("local nodes need root (namespaces, overlay and idmapped mounts, "
                     "network links): run keepgreen as root, or use static nodes")
    for tool, package in TOOLS:
        if shutil.which(tool, path=path) is None:
            found.append(f"{tool} is missing: run `apt-get install -y {package}`")
    if not os.path.exists(SSHD):
        found.append(f"{SSHD} is missing (nodes of the host image run it): "
                     "run `apt-get install -y openssh-server`")
    try:
        import pyseccomp  # noqa: F401  (loads libseccomp.so.2)
    except (ImportError, OSError, RuntimeError):
        found.append("libseccomp is missing (nodes run under a seccomp filter): "
                     "run `apt-get install -y libseccomp2`")
    return found
