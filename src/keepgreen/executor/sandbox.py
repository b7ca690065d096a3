"""The sandbox every ``ansible-playbook`` of a build runs in: bubblewrap, then an
unprivileged user.

Playbooks from projects under review run here, and tasks delegated to ``localhost`` run
as this process, so it must not see the site. The sandbox gets:

- a fresh root (tmpfs) with ``/usr`` read-only (and the merged-usr links ``/bin``,
  ``/lib``...), a short allow-list of ``/etc`` (no ``shadow``, no ssh host keys, no site
  config), generated ``/etc/passwd``/``/etc/group`` naming only root and the build user;
- the Python installation Ansible runs from, read-only (the virtualenv and its base
  interpreter, which may live under ``/work`` or ``/root``; nothing else of those);
- the executor's Ansible plugins read-only at ``/keepgreen/ansible``;
- the build folder's ``ansible/`` (config, inventory, keys) read-only and ``work/``,
  ``home/`` and ``state/`` read-write; the node relay sockets at ``/relay``;
- its own PID, IPC, UTS and network namespaces: no network at all (nodes are reached
  through the relay sockets), ``/proc`` shows only the sandbox, a private ``/tmp``.

bubblewrap is started as root (it needs to mount), and the command inside it runs through
``setpriv`` as ``uid``/``gid`` (65534 by default) with an empty capability bounding set, so
even a root-only file that found its way into the sandbox stays unreadable. bubblewrap's
``--die-with-parent`` takes the sandbox down when the executor's process goes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PLUGINS_SOURCE = Path(__file__).resolve().parent / "ansible"
PLUGINS = "/keepgreen/ansible"
RELAY = "/relay"
ETC_ALLOWED = ("hosts", "host.conf", "nsswitch.conf", "localtime", "timezone", "ld.so.cache",
               "ld.so.conf", "ld.so.conf.d", "alternatives", "ssl", "ca-certificates",
               "os-release", "debian_version", "lsb-release", "protocols", "services",
               "mime.types", "gai.conf")
USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


class SandboxError(RuntimeError):
    """The sandbox cannot be set up on this machine; the message says how to fix it."""


def python_roots() -> list[Path]:
    """Folders the running Python (and so Ansible) is installed in, outside ``/usr``."""
    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
                  Path(sys.base_exec_prefix), Path(os.path.realpath(sys.executable)).parent.parent}
    roots = sorted({p.resolve() for p in candidates})
    kept: list[Path] = []
    for root in roots:
        if root == Path("/usr") or Path("/usr") in root.parents:
            continue
        if any(parent in kept for parent in root.parents):
            continue
        kept.append(root)
    return kept


@dataclass(frozen=True)
class Sandbox:
    """bubblewrap settings shared by every build of an executor."""

    uid: int = 65534
    gid: int = 65534
    bwrap: str = "bwrap"
    hostname: str = "executor"

    def passwd(self, home: Path) -> str:
        return ("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                f"keepgreen:x:{self.uid}:{self.gid}:keepgreen build:{home}:/bin/sh\n")

    def group(self) -> str:
        return f"root:x:0:\nkeepgreen:x:{self.gid}:\n"

    def argv(self, *, read_only: Sequence[Path], read_write: Sequence[Path],
             binds: Mapping[str, Path], chdir: Path, command: Sequence[str]) -> list[str]:
        """The command line that runs ``command`` in the sandbox.

        ``read_only``/``read_write`` folders appear at their own paths; ``binds`` maps
        sandbox paths to host paths (read-only), e.g. the generated ``/etc/passwd``.
        """
        args = [self.bwrap, "--die-with-parent", "--new-session",
                "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net",
                "--unshare-cgroup-try", "--hostname", self.hostname,
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--tmpfs", "/dev/shm", "--perms", "1777", "--tmpfs", "/tmp",
                "--ro-bind", "/usr", "/usr"]
        for name in USR_LINKS:
            link = Path("/") / name
            if link.is_symlink():
                args += ["--symlink", os.readlink(link), str(link)]
            elif link.is_dir():
                args += ["--ro-bind", str(link), str(link)]
        made: set[str] = {"/", "/tmp", "/usr", "/proc", "/dev"}

        def parents(path: str) -> list[str]:
            # bwrap creates missing mount points as root-only folders; make them 0755 so
            # the unprivileged build user can walk to what is mounted below them.
            out = []
            for parent in reversed(Path(path).parents):
                text = str(parent)
                if text not in made:
                    made.add(text)
                    out += ["--perms", "0755", "--dir", text]
            return out

        etc = Path("/etc")
        args += parents("/etc/x")
        for name in ETC_ALLOWED:
            if (etc / name).exists():
                args += ["--ro-bind", str(etc / name), str(etc / name)]
        for root in python_roots():
            args += parents(str(root)) + ["--ro-bind", str(root), str(root)]
        args += parents(PLUGINS + "/x") + ["--ro-bind", str(PLUGINS_SOURCE), PLUGINS]
        for target, source in binds.items():
            args += parents(target) + ["--ro-bind", str(source), target]
        for path in read_only:
            args += parents(str(path)) + ["--ro-bind", str(path), str(path)]
        for path in read_write:
            args += parents(str(path)) + ["--bind", str(path), str(path)]
        args += ["--chdir", str(chdir), "--",
                 "setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups",
                 "--inh-caps=-all", "--bounding-set=-all", *command]
        return args

    def check(self) -> str | None:
        """Why builds cannot be sandboxed here, or None when they can."""
        if os.geteuid() != 0:
            return "the executor sandbox needs root (bubblewrap mounts, then drops to a build user)"
        if shutil.which(self.bwrap) is None:
            return "bubblewrap is not installed: run `apt-get install -y bubblewrap`"
        if shutil.which("setpriv") is None:
            return "setpriv (util-linux) is not installed"
        probe = self.argv(read_only=[], read_write=[], binds={}, chdir=Path("/"),
                          command=["true"])
        result = subprocess.run(probe, capture_output=True, text=True, check=False,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            return f"bubblewrap cannot start a sandbox here: {result.stderr.strip()}"
        return None
