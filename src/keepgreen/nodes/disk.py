"""Per-node disk limits: a node's writable layers on an ext4 filesystem of a fixed size.

Without a limit, a node's overlay upper and work folders sit in its state folder on the
site's disk, and a build can fill that disk. With one, they live on a filesystem in a sparse
file of the limit's size (``<state folder>/disk.img``): a write beyond it fails inside the
node with ``ENOSPC`` and the host's disk holds at most the limit per node.

How a node gets it (see ``local.LocalProvider._boot``): the node's upper layers are written
into ``<state folder>/disk/`` as usual, ``mkfs.ext4 -d`` copies them into a fresh image
(owners, modes, device nodes and the overlay's ``trusted.*`` xattrs included), the folder is
emptied, and the node's init script loop-mounts the image there *inside the node's own mount
namespace* before it mounts the overlays. Nothing is mounted on the host, so a node that dies
takes its mount along, and the loop device (attached with autoclear) frees itself once the
filesystem is unmounted. What can be left after a crash is a loop device whose node's
namespace is pinned, or a mount someone made by hand; ``loops`` and ``mounts`` list those for
the leak sweep and ``release`` removes them.

A tmpfs of the same size would hold the node's files in RAM (charged to no node's memory
limit once the node is gone, and competing with builds' memory while it runs); a file on the
site's disk costs only what the node really writes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

IMAGE = "disk.img"
MOUNT = "disk"
SYS_BLOCK = Path("/sys/block")
MOUNTINFO = Path("/proc/self/mountinfo")
FULL = 0.98  # a build that leaves this share of the node's disk used ran out of it
_DETACH_SECONDS = 10.0  # how long release waits for a loop device to free itself
log = logging.getLogger(__name__)


class DiskError(RuntimeError):
    """The node's filesystem could not be made; the message quotes the failing command."""


def make_image(image: Path, size: int, content: Path) -> None:
    """Create ``image``: a sparse file of ``size`` bytes holding an ext4 filesystem with
    the files of folder ``content`` in its root.

    No journal (a node's disk lives as long as the node, and a crash throws it away), no
    blocks reserved for root (the node runs as root), inode tables initialised lazily so
    that making a large one costs what a small one does.
    """
    with open(image, "wb") as handle:
        handle.truncate(size)
    argv = ["mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
            "-E", "lazy_itable_init=1,lazy_journal_init=1", "-d", str(content), str(image)]
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DiskError("mkfs.ext4 is not installed (Debian package e2fsprogs); it is "
                        "needed for node_disk_limit") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DiskError(f"mkfs.ext4 failed for {image} (exit {result.returncode})"
                        + (f": {detail[-1]}" if detail else ""))


def mount_argv(image: Path, at: Path) -> list[str]:
    """The command (run by a node's PID 1) that mounts the node's disk at ``at``."""
    return ["mount", "-t", "ext4", "-o", "loop,noatime", str(image), str(at)]


@dataclass(frozen=True)
class Usage:
    """How full a node's filesystem is."""

    size_bytes: int
    used_bytes: int
    free_inodes: int

    @property
    def full(self) -> bool:
        """Used up: ``FULL`` of its blocks, or every inode (both end in ``ENOSPC``)."""
        return self.used_bytes >= FULL * self.size_bytes or self.free_inodes == 0


def usage(path: Path) -> Usage | None:
    """The usage of the filesystem at ``path`` (for a node: ``/proc/<pid 1>/root``, whose
    overlay reports its upper layers' filesystem), or None when it cannot be read."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    if info.f_blocks == 0:
        return None
    # Counted against what is available, not free: ext4 keeps some free blocks back for
    # delayed allocation, and a write fails with ENOSPC once the available ones are gone.
    return Usage(size_bytes=info.f_blocks * info.f_frsize,
                 used_bytes=(info.f_blocks - info.f_bavail) * info.f_frsize,
                 free_inodes=info.f_ffree if info.f_files else 1)


# --- what may be left over, for the sweep -------------------------------------------------

def loops(under: Path) -> list[tuple[str, Path]]:
    """Loop devices backed by a file under folder ``under``: (device, backing file).

    Read from ``/sys/block/loop*/loop/backing_file``; a backing file deleted while attached
    is still listed (the kernel appends `` (deleted)`` to its name).
    """
    prefix = str(under).rstrip("/") + "/"
    found = []
    try:
        entries = sorted(SYS_BLOCK.glob("loop*"))
    except OSError:
        return []
    for entry in entries:
        try:
            backing = (entry / "loop" / "backing_file").read_text().strip()
        except OSError:
            continue  # not attached
        backing = backing.removesuffix(" (deleted)")
        if backing.startswith(prefix):
            found.append((f"/dev/{entry.name}", Path(backing)))
    return found


def mounts(under: Path) -> list[Path]:
    """Mount points in this process's mount namespace under folder ``under``, deepest
    first (the order they can be unmounted in)."""
    prefix = str(under).rstrip("/") + "/"
    points = []
    try:
        lines = MOUNTINFO.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split(" ")
        if len(fields) > 4:
            point = _unescape(fields[4])
            if point.startswith(prefix):
                points.append(Path(point))
    return sorted(set(points), key=lambda p: len(p.parts), reverse=True)


def unmount(point: Path) -> None:
    """Detach a mount (lazily, so a busy one goes once its last user does)."""
    result = subprocess.run(["umount", "-l", str(point)], capture_output=True, text=True,
                            check=False)
    if result.returncode != 0 and point in mounts(point.parent):
        raise RuntimeError(f"could not unmount {point}: {result.stderr.strip()}")


def detach(device: str) -> None:
    """Free a loop device; one still in use frees itself when its last user is gone."""
    subprocess.run(["losetup", "-d", device], capture_output=True, check=False)


def release(state_dir: Path) -> None:
    """Remove what a node's disk left on the host: mounts and loop devices under its state
    folder, then its image. Waits a little for loop devices of a namespace that is still
    going away; logs (and leaves to the sweep) one that stays."""
    for point in mounts(state_dir):
        unmount(point)
    deadline = time.monotonic() + _DETACH_SECONDS
    while True:
        attached = loops(state_dir)
        if not attached:
            break
        if time.monotonic() > deadline:
            log.warning("loop devices of %s are still in use: %s; the sweep tries again",
                        state_dir, ", ".join(device for device, _ in attached))
            break
        for device, _ in attached:
            detach(device)
        time.sleep(0.05)
    (state_dir / IMAGE).unlink(missing_ok=True)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
