"""A local node's PID 1 until it becomes sshd: ``python -m keepgreen.nodes.nodeinit PLAN``.

Started by ``unshare`` (new PID, mount, UTS and IPC namespaces) inside the node's network
namespace, as host root. In order, it:

1. mounts a ``/proc`` of the node's PID namespace (in its private mount namespace only),
   and makes the node's user namespace (node root = the first host id of the node's range);
2. mounts the node's disk (when it has a limit) and binds every image layer *idmapped*
   through that namespace, so files root owns on the host show as owned by node root;
3. mounts the overlays (idmapped lower, per-node upper owned by the node's ids) and the
   node's ``/proc`` (``/proc/sys`` read-only), read-only ``/sys``, tmpfs ``/tmp``, ``/run``
   and ``/dev/shm``, a private ``devpts``; sets the hostname;
4. ``pivot_root``s into the merged tree and detaches the host's mounts;
5. joins the user namespace as its root, loads the seccomp filter (``syscall_filter``), and
   execs sshd.

Every namespace but the user namespace belongs to the host's user namespace, so node root
cannot mount, change the network, set the hostname or write host-global ``/proc/sys`` files:
its capabilities are only good for the node's own ids. The plan is a JSON file written by
``boot.init_plan``. A failure prints one line to the node's console and exits 1.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any

from keepgreen.nodes import syscall, syscall_filter, userns

_NOSUID_NODEV = syscall.MS_NOSUID | syscall.MS_NODEV
_PROC = "/proc"


def _mount_node(plan: dict[str, Any], ids: userns.IdRange, userns_fd: int) -> None:
    if plan.get("disk"):
        subprocess.run(plan["disk"], check=True)
    for lower in plan["lowers"]:
        os.makedirs(lower["at"], mode=0o700, exist_ok=True)
        syscall.idmapped_bind(lower["source"], lower["at"], userns_fd)
    for overlay in plan["overlays"]:
        options = (f"lowerdir={overlay['lower']},upperdir={overlay['upper']},"
                   f"workdir={overlay['work']}")
        syscall.mount("overlay", overlay["at"], "overlay", 0, options)
    m = plan["merged"]
    owner = f"uid={ids.base},gid={ids.base}"
    syscall.mount("proc", f"{m}/proc", "proc", _NOSUID_NODEV | syscall.MS_NOEXEC)
    # Read-only on top of the uid check: node root is not the owner of host-wide knobs.
    syscall.mount(f"{m}/proc/sys", f"{m}/proc/sys", None, syscall.MS_BIND)
    syscall.mount("none", f"{m}/proc/sys", None, syscall.MS_BIND | syscall.MS_REMOUNT
                  | syscall.MS_RDONLY | _NOSUID_NODEV | syscall.MS_NOEXEC)
    syscall.mount("sysfs", f"{m}/sys", "sysfs",
                  syscall.MS_RDONLY | _NOSUID_NODEV | syscall.MS_NOEXEC)
    syscall.mount("tmpfs", f"{m}/tmp", "tmpfs", _NOSUID_NODEV, f"mode=1777,{owner}")
    syscall.mount("tmpfs", f"{m}/run", "tmpfs", _NOSUID_NODEV, f"mode=755,{owner}")
    syscall.mount("devpts", f"{m}/dev/pts", "devpts", syscall.MS_NOSUID | syscall.MS_NOEXEC,
                  f"newinstance,ptmxmode=0666,mode=620,gid={ids.host(5)}")
    syscall.mount("tmpfs", f"{m}/dev/shm", "tmpfs", _NOSUID_NODEV, f"mode=1777,{owner}")
    for folder in ("run/sshd", "run/lock"):
        os.mkdir(f"{m}/{folder}", 0o755)
        os.chown(f"{m}/{folder}", ids.base, ids.base)
    socket.sethostname(plan["hostname"])
    os.chdir(m)
    # pivot_root . . stacks the old root on the new one; the lazy unmount drops it, and with
    # it every host mount (a chroot would keep them all alive in this namespace).
    syscall.pivot_root(".", ".")
    syscall.umount(".", syscall.MNT_DETACH)
    os.chdir("/")


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m keepgreen.nodes.nodeinit PLAN", file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as handle:
            plan = json.load(handle)
        ids = userns.IdRange(int(plan["ids"]["base"]), int(plan["ids"]["count"]))
        syscall.mount("proc", _PROC, "proc", _NOSUID_NODEV | syscall.MS_NOEXEC)
        userns_fd = userns.create(ids, _PROC)
        # The network namespace stays the host's (node root cannot change addresses or
        # routes); in it, any port may be bound without privilege, sshd's 22 included.
        with open(f"{_PROC}/sys/net/ipv4/ip_unprivileged_port_start", "w") as handle:
            handle.write("0")
        # Built while the host's libseccomp is still reachable; loaded after pivot_root.
        node_filter = syscall_filter.build()
        _mount_node(plan, ids, userns_fd)
        userns.enter(userns_fd)
        # Changing uid clears the parent-death signal ``unshare --kill-child`` set; without
        # it again, a killed supervisor would leave the node running.
        syscall.set_parent_death_signal(signal.SIGKILL)
        os.close(userns_fd)
        node_filter.load()
        command = [str(arg) for arg in plan["exec"]]
        os.execve(command[0], command, dict(os.environ))
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        print(f"keepgreen node init: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0  # not reached: execve does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
