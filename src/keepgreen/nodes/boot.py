"""What a local node boots from: its per-node layers and the plan its PID 1 follows.

Everything node-specific (host key, sshd config, hostname, authorized key, the scrubbing of
host secrets) is written into the node's *upper* layers before the overlay is mounted, by
this process with plain file calls: the overlay shows those files on top of the image, the
image itself stays untouched, and no extra process runs in the boot's critical path.

The node's root is an unprivileged range of host ids (``userns.IdRange``): everything
written here is owned by the host id of its node owner, and the image layers are mounted
idmapped, so inside the node both show as owned by root (see ``nodeinit``).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from keepgreen.nodes import disk as disk_module
from keepgreen.nodes.image import Image, Layer
from keepgreen.nodes.userns import IdRange

SSHD_CONFIG = "/etc/ssh/node_sshd_config"
HOST_KEY = "/etc/ssh/node_host_key"
ROOT_SLUG = "rootfs"
INIT_PLAN = "init.json"  # a supervisor's command line ends with this file's path
# Account databases are not world-readable because of the password hashes in them; nodes
# get copies with every hash replaced by "*" (no password login, key login still allowed).
_ACCOUNT_FILES = {"shadow", "shadow-", "gshadow", "gshadow-"}
# The node's own sudoers instead of the host's (which is private, and grants host users):
# node root may run anything, as zuul-jobs roles expect of the build user.
SUDOERS = ("# Written by keepgreen for this node only.\n"
           "Defaults env_reset\n"
           "Defaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n"
           "root ALL=(ALL:ALL) NOPASSWD: ALL\n"
           "%sudo ALL=(ALL:ALL) NOPASSWD: ALL\n")
_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8),
            "urandom": (1, 9), "tty": (5, 0)}


class Layout:
    """Paths of one node's state folder and which upper layer a node path is written to."""

    def __init__(self, state_dir: Path, image: Image, *, disk: bool = False,
                 ids: IdRange | None = None) -> None:
        """With ``disk`` the upper and work folders go under ``disk/`` (see ``nodes/disk.py``),
        where the node's own filesystem is mounted; overlayfs needs both on one mount.
        ``ids`` are the host ids the node's ids 0..65535 are (default: the first range)."""
        self.state_dir = state_dir
        self.image = image
        self.disk = disk
        self.ids = ids or IdRange.for_slot(0)
        self.layers = state_dir / disk_module.MOUNT if disk else state_dir
        self.disk_image = state_dir / disk_module.IMAGE
        self.merged = state_dir / "merged"
        self.init_plan = state_dir / INIT_PLAN
        self.lowers = state_dir / "lower"  # idmapped image layers, mounted by the node only
        self.console = state_dir / "console.log"
        self.known_hosts = state_dir / "known_hosts"
        self.host_key = state_dir / "host_key"
        self.record = state_dir / "node.json"

    def upper(self, slug: str) -> Path:
        return self.layers / "upper" / slug

    def work(self, slug: str) -> Path:
        return self.layers / "work" / slug

    def layer_of(self, path: str) -> tuple[str, str]:
        """(upper slug, path relative to that layer) for a path inside the node."""
        for layer in sorted(self.image.layers, key=lambda lay: len(lay.target), reverse=True):
            if path == layer.target or path.startswith(layer.target + "/"):
                return layer.slug, path[len(layer.target):].lstrip("/")
        return ROOT_SLUG, path.lstrip("/")

    def upper_path(self, path: str) -> Path:
        """Where a node's write to ``path`` lands on the host."""
        slug, relative = self.layer_of(path)
        return self.upper(slug) / relative


def _mkdirs_like_image(layout: Layout, path: str) -> Path:
    """Create the upper-layer folders leading to ``path``, copying the image's owner and mode.

    A folder in an upper layer replaces the lower folder's attributes, so a plain
    ``mkdir -p`` would, for example, make ``/root`` world-readable inside the node.
    """
    parts = [p for p in path.strip("/").split("/") if p]
    current = ""
    for part in parts:
        current += "/" + part
        target = layout.upper_path(current)
        if target.exists():
            continue
        target.mkdir()
        try:
            info = os.stat(layout.image.host_path(current))
            os.chown(target, layout.ids.host(info.st_uid), layout.ids.host(info.st_gid))
            os.chmod(target, stat.S_IMODE(info.st_mode))
        except FileNotFoundError:
            os.chown(target, layout.ids.base, layout.ids.base)
            os.chmod(target, 0o755)
    return layout.upper_path(path)


def write_file(layout: Layout, path: str, content: str, mode: int = 0o644) -> None:
    """Place a file at ``path`` inside the node (owned by node root)."""
    parent, _, name = path.rpartition("/")
    folder = _mkdirs_like_image(layout, parent)
    target = folder / name
    target.write_text(content)
    os.chown(target, layout.ids.base, layout.ids.base)
    os.chmod(target, mode)


def _whiteout(target: Path) -> None:
    # overlayfs hides a lower entry behind a 0:0 character device of the same name.
    os.mknod(target, 0o600 | stat.S_IFCHR, os.makedev(0, 0))


def _without_hashes(source: Path) -> str:
    lines = []
    for line in source.read_text(errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) > 1:
            fields[1] = "*"
        lines.append(":".join(fields))
    return "\n".join(lines) + "\n"


def scrub(layout: Layout, layer: Layer) -> int:
    """Hide every entry of a host layer that not every host user may read; count them."""
    hidden = 0
    for folder, dirs, files in os.walk(layer.source):
        relative = os.path.relpath(folder, layer.source)
        inside = layer.target if relative == "." else f"{layer.target}/{relative}"
        for name in [*dirs, *files]:
            info = os.lstat(os.path.join(folder, name))
            if stat.S_ISLNK(info.st_mode):
                continue
            needed = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(info.st_mode) else 0)
            if info.st_mode & needed == needed:
                continue
            hidden += 1
            if name in dirs:
                dirs.remove(name)  # hidden as a whole; no need to look inside
            node_path = f"{inside}/{name}"
            if name in _ACCOUNT_FILES and layer.target == "/etc":
                write_file(layout, node_path, _without_hashes(Path(folder, name)), 0o640)
                os.chown(layout.upper_path(node_path), layout.ids.base,
                         layout.ids.host(info.st_gid))
            elif node_path == "/etc/sudoers":
                write_file(layout, node_path, SUDOERS, 0o440)
            else:
                _whiteout(_mkdirs_like_image(layout, inside) / name)
    return hidden


def _minimal_dev(layout: Layout) -> None:
    """A /dev with only the harmless devices, instead of the image's or the host's."""
    dev = layout.upper(ROOT_SLUG) / "dev"
    dev.mkdir(mode=0o755)
    # Opaque: the image's own /dev entries (debootstrap creates some) stay hidden.
    os.setxattr(dev, "trusted.overlay.opaque", b"y")
    for name, (major, minor) in _DEVICES.items():
        os.mknod(dev / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(dev / name, 0o666)
    for name in ("pts", "shm"):  # mount points for devpts and a tmpfs
        (dev / name).mkdir()
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"),
                         ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        (dev / name).symlink_to(target)
    for entry in [dev, *dev.iterdir()]:
        os.chown(entry, layout.ids.base, layout.ids.base, follow_symlinks=False)


def sshd_config(address: str, port: int) -> str:
    return "\n".join([
        "# Written by keepgreen for this node only.",
        f"ListenAddress {address}:{port}",
        f"HostKey {HOST_KEY}",
        # The link never leaves this machine; curve25519 saves ~0.1 s per handshake over the
        # default post-quantum hybrid exchange, and every connection pays it.
        "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org",
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "PidFile /run/sshd.pid",
        "AuthorizedKeysFile .ssh/authorized_keys",
        "Subsystem sftp internal-sftp",
        "AcceptEnv LANG LC_*",
        # Ansible opens several sessions and connections per host at once.
        "MaxSessions 64",
        "MaxStartups 64",
        "",
    ])


def populate(layout: Layout, *, hostname: str, address: str, port: int,
             host_key: tuple[str, str], client_public_key: str) -> None:
    """Write the node's upper layers: identity, access, minimal /dev, scrubbed host secrets."""
    for slug, lower in [(ROOT_SLUG, layout.image.root),
                        *((layer.slug, layer.source) for layer in layout.image.layers)]:
        layout.upper(slug).mkdir(parents=True)
        layout.work(slug).mkdir(parents=True)
        # An overlay's root folder takes its owner and mode from its upper folder.
        info = os.stat(lower)
        os.chown(layout.upper(slug), layout.ids.host(info.st_uid), layout.ids.host(info.st_gid))
        os.chmod(layout.upper(slug), stat.S_IMODE(info.st_mode))
    layout.merged.mkdir()
    for layer in layout.image.layers:
        if layer.scrub:
            scrub(layout, layer)
    _minimal_dev(layout)
    private, public = host_key
    write_file(layout, HOST_KEY, private, 0o600)
    write_file(layout, HOST_KEY + ".pub", public, 0o644)
    write_file(layout, SSHD_CONFIG, sshd_config(address, port), 0o644)
    write_file(layout, "/etc/hostname", hostname + "\n")
    write_file(layout, "/etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n"
               "::1\tlocalhost ip6-localhost ip6-loopback\n")
    write_file(layout, "/root/.ssh/authorized_keys", client_public_key, 0o600)
    os.chmod(layout.upper_path("/root/.ssh"), 0o700)


def init_plan(layout: Layout, hostname: str) -> dict[str, Any]:
    """What the node's PID 1 (``nodeinit``) mounts and runs, as a JSON-ready mapping.

    Every mount happens inside the node's own mount namespace, so they vanish with the node
    and never show up on the host.
    """
    lowers = [(layout.image.root, ROOT_SLUG, layout.merged)]
    for layer in sorted(layout.image.layers, key=lambda lay: lay.target):
        lowers.append((layer.source, layer.slug, layout.merged / layer.target.lstrip("/")))
    return {
        "ids": {"base": layout.ids.base, "count": layout.ids.count},
        "disk": (disk_module.mount_argv(layout.disk_image, layout.layers)
                 if layout.disk else None),
        "lowers": [{"source": str(source), "at": str(layout.lowers / slug)}
                   for source, slug, _ in lowers],
        "overlays": [{"lower": str(layout.lowers / slug), "upper": str(layout.upper(slug)),
                      "work": str(layout.work(slug)), "at": str(at)}
                     for _, slug, at in lowers],
        "merged": str(layout.merged),
        "hostname": hostname,
        "exec": ["/usr/sbin/sshd", "-D", "-e", "-f", SSHD_CONFIG],
    }


def write_init_plan(layout: Layout, hostname: str) -> list[str]:
    """Write the plan; returns the command line that runs the node's PID 1 from it."""
    layout.init_plan.write_text(json.dumps(init_plan(layout, hostname), indent=1) + "\n")
    return [sys.executable, "-I", "-m", "keepgreen.nodes.nodeinit", str(layout.init_plan)]
