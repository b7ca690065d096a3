"""The seccomp filter every process of a local node runs under.

Installed by the node's PID 1 as root of the node's user namespace, just before it becomes
sshd, and inherited by everything sshd starts. It is loaded without ``no_new_privs`` (root
of a user namespace may do that), so setuid programs such as ``sudo`` keep working inside
the node. Built with libseccomp through ``pyseccomp``; calls of another architecture (32-bit
``int 0x80`` calls on x86_64) kill the caller, so the filter cannot be side-stepped that way.

What is refused, and why (``EPERM`` unless said otherwise):

- kernel keyrings (``keyctl``, ``add_key``, ``request_key``): not namespaced; a node could
  read or fill keys other users of the machine keep there.
- kernel code (``init_module``, ``finit_module``, ``delete_module``, ``kexec_load``,
  ``kexec_file_load``): loading or replacing kernel code.
- ``bpf``, ``perf_event_open``, ``userfaultfd``: large kernel attack surface, the usual
  route of container escapes.
- ``io_uring_setup``, ``io_uring_enter``, ``io_uring_register``: the operations of a ring
  are not system calls, so the filter could not see them; io_uring has also been a frequent
  source of kernel escapes.
- ``open_by_handle_at``, ``name_to_handle_at``: open files by handle, bypassing the mount
  tree (the classic chroot escape).
- mounts (``mount``, ``umount2``, ``pivot_root``, ``fsopen``, ``fsmount``, ``fsconfig``,
  ``fspick``, ``open_tree``, ``move_mount``, ``mount_setattr``): the node's init has made
  every mount it needs.
- new user namespaces (``unshare`` and ``clone`` with ``CLONE_NEWUSER``) and joining
  namespaces (``setns``): a fresh user namespace would hand back capabilities over new
  mount and network namespaces. ``clone3`` fails with ``ENOSYS``, its flags cannot be
  inspected; the C library then falls back to ``clone``.
- host-wide settings: ``swapon``, ``swapoff``, ``reboot``, ``settimeofday``,
  ``clock_settime``, ``clock_adjtime``, ``acct``, ``quotactl``, ``quotactl_fd``,
  ``syslog`` (the host's kernel log), ``vhangup``, ``iopl``, ``ioperm``,
  ``lookup_dcookie``, ``uselib``, ``ustat``, ``sysfs``, ``personality`` (which could turn
  address space randomisation off).

Most of these would fail anyway without host capabilities; the filter makes the refusal
not depend on every kernel check being right.
"""

from __future__ import annotations

import errno

import pyseccomp

REFUSED = (
    "keyctl", "add_key", "request_key",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at",
    "mount", "umount2", "pivot_root", "fsopen", "fsmount", "fsconfig", "fspick",
    "open_tree", "move_mount", "mount_setattr",
    "setns",
    "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
    "acct", "quotactl", "quotactl_fd", "syslog", "vhangup", "iopl", "ioperm",
    "lookup_dcookie", "uselib", "ustat", "sysfs", "personality",
)
# Refused only when asked for a new user namespace (flags are the first argument).
REFUSED_WITH_NEW_USERNS = ("unshare", "clone")
UNSUPPORTED = ("clone3",)
_CLONE_NEWUSER = 0x10000000


def build() -> pyseccomp.SyscallFilter:
    """The filter, ready to ``load()``; building it reads libseccomp, loading does not."""
    refuse = pyseccomp.ERRNO(errno.EPERM)
    found = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    found.set_attr(pyseccomp.Attr.CTL_NNP, 0)
    for name in REFUSED:
        _add(found, refuse, name)
    for name in REFUSED_WITH_NEW_USERNS:
        _add(found, refuse, name,
             pyseccomp.Arg(0, pyseccomp.MASKED_EQ, _CLONE_NEWUSER, _CLONE_NEWUSER))
    for name in UNSUPPORTED:
        _add(found, pyseccomp.ERRNO(errno.ENOSYS), name)
    return found


def _add(found: pyseccomp.SyscallFilter, action: int, name: str,
         *args: pyseccomp.Arg) -> None:
    try:
        found.add_rule(action, name, *args)
    except (OSError, ValueError):
        # A call this architecture does not have (e.g. ioperm on arm64) needs no rule.
        if pyseccomp.resolve_syscall(pyseccomp.system_arch(), name) >= 0:
            raise
