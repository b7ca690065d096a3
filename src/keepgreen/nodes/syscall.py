"""The Linux calls a node's PID 1 needs that Python 3.11's ``os`` module lacks.

``unshare``/``setns`` arrived in ``os`` with Python 3.12; ``mount``, ``umount2`` and
``pivot_root`` are in no Python; the new mount API (``open_tree``, ``mount_setattr``,
``move_mount``), which makes idmapped mounts, has no libc wrapper in Debian 12's glibc.
All are called through ``ctypes``; every failure raises ``OSError`` naming the call and path.
"""

from __future__ import annotations

import ctypes
import os
import platform

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
_AT_FDCWD = -100
_AT_EMPTY_PATH = 0x1000
_OPEN_TREE_CLONE = 0x1
_MOVE_MOUNT_F_EMPTY_PATH = 0x4
_MOUNT_ATTR_IDMAP = 0x00100000
# Syscall numbers of the new mount API and pivot_root, per machine (uname -m).
_NUMBERS = {
    "x86_64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442, "pivot_root": 155},
    "aarch64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442, "pivot_root": 41},
}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(result: int, call: str, path: str = "") -> int:
    if result < 0:
        number = ctypes.get_errno()
        where = f" {path}" if path else ""
        raise OSError(number, f"{call}{where}: {os.strerror(number)}")
    return result


def _number(call: str) -> int:
    machine = platform.machine()
    try:
        return _NUMBERS[machine][call]
    except KeyError:
        raise OSError(f"{call} is not known on {machine}; local nodes support "
                      + ", ".join(sorted(_NUMBERS))) from None


def _syscall(call: str, *args: object) -> int:
    return int(_libc.syscall(_number(call), *args))


def mount(source: str, target: str, fstype: str | None, flags: int = 0,
          options: str | None = None) -> None:
    _check(_libc.mount(source.encode(), target.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       options.encode() if options else None), f"mount {fstype or source}",
           target)


def umount(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(target.encode(), flags), "umount", target)


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int) -> None:
    _check(_libc.setns(fd, nstype), "setns")


def set_parent_death_signal(signal: int) -> None:
    """prctl(PR_SET_PDEATHSIG): the signal this process gets when its parent dies."""
    _check(_libc.prctl(1, ctypes.c_ulong(signal), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_syscall("pivot_root", new_root.encode(), put_old.encode()), "pivot_root", new_root)


def idmapped_bind(source: str, target: str, userns_fd: int) -> None:
    """Bind ``source`` at ``target`` with its owners shifted by the user namespace's map.

    A file owned by uid ``n`` on disk shows as the host uid that ``n`` maps to in that
    namespace, so a root-owned host folder appears root-owned to the namespace's root.
    Needs kernel 5.12 (5.19 for use as an overlayfs lower layer) and a filesystem that
    supports idmapped mounts (ext4, xfs, btrfs, tmpfs since 6.3).
    """
    fd = _check(_syscall("open_tree", _AT_FDCWD, source.encode(),
                         _OPEN_TREE_CLONE | os.O_CLOEXEC), "open_tree", source)
    try:
        attr = _MountAttr(_MOUNT_ATTR_IDMAP, 0, 0, userns_fd)
        _check(_syscall("mount_setattr", fd, b"", _AT_EMPTY_PATH, ctypes.byref(attr),
                        ctypes.sizeof(attr)), "mount_setattr (idmap)", source)
        _check(_syscall("move_mount", fd, b"", _AT_FDCWD, target.encode(),
                        _MOVE_MOUNT_F_EMPTY_PATH), "move_mount", target)
    finally:
        os.close(fd)
