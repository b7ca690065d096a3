"""Node images: the host-derived default is an allow-list of host software with secrets
hidden; the Debian-built image reads its mirror from apt's own configuration."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from keepgreen.nodes import boot
from keepgreen.nodes.image import (
    DEFAULT_MIRROR,
    ImageError,
    apt_mirror,
    debootstrap_image,
    host_image,
    load_image,
)


def _fake_host(root: Path) -> Path:
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/sbin").mkdir()
    (root / "usr/sbin/sshd").write_text("")
    (root / "bin").symlink_to("usr/bin")
    (root / "lib").mkdir()  # not merged into /usr on this host: becomes a layer of its own
    (root / "etc/ssh").mkdir(parents=True)
    (root / "etc/ssh/ssh_host_ed25519_key").write_text("PRIVATE")
    os.chmod(root / "etc/ssh/ssh_host_ed25519_key", 0o600)
    (root / "etc/ssh/ssh_config").write_text("# readable by all\n")
    (root / "etc/private").mkdir(mode=0o750)
    (root / "etc/private/db.conf").write_text("password=x\n")
    (root / "etc/shadow").write_text("root:$y$hash:20000:0:99999:7:::\nbob:!:20000::::::\n")
    os.chmod(root / "etc/shadow", 0o640)
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "work").mkdir()
    (root / "work/secret").write_text("site data")
    return root


def test_host_image_is_a_skeleton_plus_host_software(tmp_path: Path) -> None:
    host = _fake_host(tmp_path / "host")

    image = host_image(tmp_path / "image", host_root=host)

    assert image.kind == "host"
    assert {(lay.target, lay.scrub) for lay in image.layers} == {
        ("/usr", False), ("/lib", False), ("/etc", True), ("/var/lib/dpkg", False)}
    assert os.readlink(image.root / "bin") == "usr/bin"
    assert not (image.root / "work").exists()  # not on the allow-list, so not in the image
    assert stat.S_IMODE(os.stat(image.root / "root").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(image.root / "tmp").st_mode) == 0o1777
    assert image.host_path("/usr/sbin/sshd") == host / "usr/sbin/sshd"
    assert image.host_path("/root") == image.root / "root"
    assert load_image(tmp_path / "image") == image  # built once, then reused


def test_a_host_without_sshd_gets_the_install_command(tmp_path: Path) -> None:
    host = _fake_host(tmp_path / "host")
    (host / "usr/sbin/sshd").unlink()
    with pytest.raises(ImageError, match="apt-get install -y openssh-server"):
        host_image(tmp_path / "image", host_root=host)


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are device nodes: needs root")
def test_scrubbing_hides_what_not_every_user_may_read(tmp_path: Path) -> None:
    host = _fake_host(tmp_path / "host")
    image = host_image(tmp_path / "image", host_root=host)
    layout = boot.Layout(tmp_path / "node", image)
    etc = next(lay for lay in image.layers if lay.target == "/etc")
    layout.upper(etc.slug).mkdir(parents=True)

    assert boot.scrub(layout, etc) == 3

    key = layout.upper_path("/etc/ssh/ssh_host_ed25519_key")
    assert stat.S_ISCHR(os.lstat(key).st_mode) and os.lstat(key).st_rdev == 0  # whiteout
    assert stat.S_ISCHR(os.lstat(layout.upper_path("/etc/private")).st_mode)
    assert not layout.upper_path("/etc/ssh/ssh_config").exists()  # readable: left alone
    assert layout.upper_path("/etc/shadow").read_text() == (
        "root:*:20000:0:99999:7:::\nbob:*:20000::::::\n")


def test_writes_go_to_the_layer_that_holds_the_path(tmp_path: Path) -> None:
    image = host_image(tmp_path / "image", host_root=_fake_host(tmp_path / "host"))
    layout = boot.Layout(tmp_path / "node", image)
    assert layout.layer_of("/usr/lib/kg-test") == ("usr", "lib/kg-test")
    assert layout.layer_of("/var/lib/dpkg/status") == ("var-lib-dpkg", "status")
    assert layout.layer_of("/var/log/x") == ("rootfs", "var/log/x")
    assert layout.layer_of("/etc") == ("etc", "")


def test_the_mirror_comes_from_apts_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n")
    assert apt_mirror("bookworm", tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "# old style\ndeb [arch=amd64] http://old.example/debian trixie main\n")
    assert apt_mirror("trixie", tmp_path) == "http://old.example/debian"
    assert apt_mirror("sid", tmp_path) == DEFAULT_MIRROR


def test_debootstrap_missing_names_the_package(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImageError, match="apt-get install -y debootstrap"):
        debootstrap_image(tmp_path / "image")
