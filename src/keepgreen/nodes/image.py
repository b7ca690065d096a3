"""Base images for local nodes: what a node's copy-on-write root is made of.

An image folder holds ``image.json`` and ``rootfs/``. ``rootfs/`` is the overlay lower layer
for the node's ``/``; ``layers`` in the manifest name host folders that are overlaid at a
path inside the node (each with its own per-node upper layer).

Two kinds:

- ``host_image``: derived from this machine's own root, built in milliseconds. It is an
  allow-list, not the host's ``/`` with holes punched in it: the node sees the host's
  ``/usr`` (and ``/bin``, ``/lib``... where those are not symlinks into ``/usr``), ``/etc``
  and ``/var/lib/dpkg``, and nothing else of the host. Overlaying ``lowerdir=/`` does mount
  here, but then every host folder (``/work``, ``/root``, ``/home``, ``/srv``, database files
  under ``/var/lib``) is visible unless someone remembers to mask it; a new one would leak
  silently. ``/etc`` is "scrubbed" per node: whatever in it is not readable by every
  host user (private keys, ``/etc/shadow``, database passwords) is hidden, and the
  account databases are replaced by copies without password hashes.
- ``debootstrap_image``: a minimal Debian built from packages (about 70 s, 350 MB), the same
  for every host. Not the default because of that cost.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "image.json"
ROOTFS = "rootfs"
PACKAGES = ("python3", "git", "openssh-server", "iproute2", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"

# Top-level host folders that hold software; anything else of the host stays out of nodes.
_SOFTWARE_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_EMPTY_DIRS = {
    "usr": 0o755, "etc": 0o755, "var": 0o755, "proc": 0o555, "sys": 0o555, "dev": 0o755,
    "run": 0o755, "tmp": 0o1777, "root": 0o700, "home": 0o755, "srv": 0o755, "opt": 0o755,
    "mnt": 0o755, "media": 0o755,
    "var/cache": 0o755, "var/lib": 0o755, "var/lib/dpkg": 0o755, "var/local": 0o755,
    "var/log": 0o755, "var/mail": 0o755, "var/opt": 0o755, "var/spool": 0o755,
    "var/tmp": 0o1777, "var/backups": 0o755,
}


class ImageError(RuntimeError):
    """An image cannot be built or used; the message says what to do."""


@dataclass(frozen=True)
class Layer:
    """A host folder overlaid at ``target`` inside the node; ``scrub`` hides secrets in it."""

    target: str
    source: Path
    scrub: bool = False

    @property
    def slug(self) -> str:
        """A folder name for this layer's per-node upper and work dirs."""
        return self.target.strip("/").replace("/", "-")


@dataclass(frozen=True)
class Image:
    kind: str
    root: Path
    layers: tuple[Layer, ...] = ()

    def host_path(self, path: str) -> Path:
        """Where a path inside the node is read from on the host, before any node writes."""
        for layer in sorted(self.layers, key=lambda lay: len(lay.target), reverse=True):
            if path == layer.target or path.startswith(layer.target + "/"):
                return layer.source / path[len(layer.target):].lstrip("/")
        return self.root / path.lstrip("/")

    def check(self) -> None:
        """Refuse an image that cannot boot a node, naming the fix."""
        if not os.path.exists(self.host_path("/usr/sbin/sshd")):
            fix = ("run `apt-get install -y openssh-server` on this host"
                   if self.kind == "host" else "rebuild it with openssh-server included")
            raise ImageError(f"the {self.kind} image at {self.root} has no /usr/sbin/sshd: {fix}")


def load_image(path: Path) -> Image:
    """An image folder made by this module, or a bare root filesystem folder."""
    manifest = path / MANIFEST
    if manifest.exists():
        data = json.loads(manifest.read_text())
        layers = tuple(Layer(item["target"], Path(item["source"]), bool(item.get("scrub")))
                       for item in data.get("layers", []))
        return Image(kind=str(data["kind"]), root=path / ROOTFS, layers=layers)
    if (path / "usr").is_dir():
        return Image(kind="rootfs", root=path)
    raise ImageError(f"{path} is neither an image folder (no {MANIFEST}) nor a root filesystem "
                     "(no usr/); build one with keepgreen.nodes.image.debootstrap_image")


def _write_manifest(dest: Path, kind: str, layers: list[Layer]) -> None:
    data = {"kind": kind, "built_at": time.time(),
            "layers": [{"target": lay.target, "source": str(lay.source), "scrub": lay.scrub}
                       for lay in layers]}
    (dest / MANIFEST).write_text(json.dumps(data, indent=2) + "\n")


def _replace(partial: Path, dest: Path) -> None:
    if dest.exists():
        old = dest.with_name(dest.name + f".old-{os.getpid()}")
        dest.rename(old)
        shutil.rmtree(old)
    partial.rename(dest)


def host_image(dest: Path, *, rebuild: bool = False, host_root: Path = Path("/")) -> Image:
    """The image derived from this host's own root, built into ``dest`` if missing.

    Only a skeleton is written (empty folders and the ``/usr`` symlinks); the software comes
    from the live host folders named in the manifest, so the build takes milliseconds.
    """
    if (dest / MANIFEST).exists() and not rebuild:
        return load_image(dest)
    partial = dest.with_name(dest.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    root = partial / ROOTFS
    root.mkdir(parents=True)
    layers = [Layer("/usr", host_root / "usr")]
    for name in _SOFTWARE_DIRS:
        source = host_root / name
        if source.is_symlink():
            (root / name).symlink_to(os.readlink(source))
        elif source.is_dir():
            (root / name).mkdir()
            layers.append(Layer("/" + name, source))
    for name, mode in _EMPTY_DIRS.items():
        (root / name).mkdir(exist_ok=True)
        os.chmod(root / name, mode)
    (root / "var/run").symlink_to("/run")
    (root / "var/lock").symlink_to("/run/lock")
    layers.append(Layer("/etc", host_root / "etc", scrub=True))
    # Package state, so dpkg and apt work in the node; nothing secret in it (only lock files
    # are private), so it is not scrubbed, which saves walking its 3000 files per node.
    layers.append(Layer("/var/lib/dpkg", host_root / "var/lib/dpkg"))
    _write_manifest(partial, "host", layers)
    _replace(partial, dest)
    image = load_image(dest)
    image.check()
    return image


def apt_mirror(suite: str = "bookworm", apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt on this host is configured with for ``suite``."""
    candidates: list[tuple[list[str], list[str], list[str]]] = []  # (types, uris, suites)
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for file in files:
        if not file.is_file():
            continue
        text = file.read_text(errors="replace")
        if file.suffix == ".sources":
            for stanza in text.split("\n\n"):
                fields: dict[str, list[str]] = {}
                for line in stanza.splitlines():
                    key, sep, value = line.partition(":")
                    if sep and not line.startswith(("#", " ")):
                        fields[key.strip().lower()] = value.split()
                candidates.append((fields.get("types", []), fields.get("uris", []),
                                   fields.get("suites", [])))
        elif file.suffix == ".list" or file.name == "sources.list":
            for line in text.splitlines():
                words = [w for w in line.split("#", 1)[0].split() if not w.startswith("[")]
                if len(words) >= 3:
                    candidates.append(([words[0]], [words[1]], [words[2]]))
    for types, uris, suites in candidates:
        if "deb" in types and suite in suites and uris:
            return uris[0]
    return DEFAULT_MIRROR


def debootstrap_image(dest: Path, *, suite: str = "bookworm", mirror: str | None = None,
                      progress: Callable[[str], None] | None = None) -> Image:
    """Build a minimal Debian image with python3, git and openssh-server into ``dest``.

    Needs the ``debootstrap`` package and the mirror apt uses. ``progress`` receives
    debootstrap's output line by line, so a command line can show it.
    """
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed: run `apt-get install -y debootstrap`")
    partial = dest.with_name(dest.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    argv = ["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES), suite,
            str(partial / ROOTFS), mirror or apt_mirror(suite)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-19:], line.rstrip()]
            if progress is not None:
                progress(line.rstrip())
    if proc.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise ImageError(f"debootstrap failed (exit {proc.returncode}):\n" + "\n".join(tail))
    root = partial / ROOTFS
    subprocess.run(["chroot", str(root), "apt-get", "clean"], check=False, capture_output=True)
    # Debian generates host keys at install time; every node gets its own instead, so the
    # image must not carry a key that all nodes would share.
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    _write_manifest(partial, "debootstrap", [])
    _replace(partial, dest)
    image = load_image(dest)
    image.check()
    return image
