"""Git over HTTP shows each caller only the changes they may see, as REST does.

A private change's refs are left out of the advertisement for anyone who may not see the
change, on ``/p/`` and ``/a/``, in protocol v0 and v2, and its commit cannot be fetched by
name either (not even with a hand-made request); those who may see it fetch it as usual.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.e2e.visibility_support import Scene, make_scene
from tests.support import GitUser


@pytest.fixture
def scene(server, make_user, project_name, tmp_path) -> Scene:  # type: ignore[no-untyped-def]
    return make_scene(server, make_user, project_name, tmp_path)


def ls_remote(user: GitUser, url: str, version: int) -> str:
    return user.git("-c", f"protocol.version={version}", "ls-remote", url).stdout


def urls(scene: Scene, user: GitUser) -> list[str]:
    return [user.url(scene.project, "p/")] + (
        [user.url(scene.project, "a/")] if user.username else [])


@pytest.mark.parametrize("version", [0, 2])
def test_private_change_refs_are_advertised_only_to_those_who_may_see_it(scene: Scene,
                                                                        version: int) -> None:
    public, private = scene.ref(scene.public), scene.ref(scene.private)
    for name, user in scene.people().items():
        for url in urls(scene, user):
            listing = ls_remote(user, url, version)
            assert public in listing, (name, url)
            assert private not in listing, (name, url)
            assert scene.private_sha not in listing, (name, url)
    # /p/ never asks for credentials, so only /a/ shows a caller their own view.
    for user in (scene.alice, scene.carol, scene.vera):
        assert private in ls_remote(user, user.url(scene.project, "a/"), version)
    admin = GitUser(scene.alice.home.parent / "admin-home", scene.server,
                    scene.server.admin, scene.server.admin_password)
    assert private in ls_remote(admin, admin.url(scene.project, "a/"), version)


@pytest.mark.parametrize("version", [0, 2])
def test_private_commit_cannot_be_fetched_by_name(scene: Scene, version: int,
                                                 tmp_path: Path) -> None:
    for name, user in scene.people().items():
        for url in urls(scene, user):
            target = tmp_path / f"{name}-{version}-{url.split('/')[3]}"
            user.git("init", "-q", str(target))
            for wanted in (scene.private_sha, scene.ref(scene.private)):
                fetched = user.git("-c", f"protocol.version={version}", "fetch", url, wanted,
                                   cwd=target, check=False)
                assert fetched.returncode != 0, (name, url, wanted)
            has = user.git("cat-file", "-e", scene.private_sha, cwd=target, check=False)
            assert has.returncode != 0, (name, url)
    target = tmp_path / f"carol-{version}"
    scene.carol.git("init", "-q", str(target))
    scene.carol.git("-c", f"protocol.version={version}", "fetch", "-q",
                    scene.carol.url(scene.project, "a/"), scene.private_sha, cwd=target)
    assert scene.carol.git("rev-parse", "FETCH_HEAD", cwd=target).stdout.strip() == (
        scene.private_sha)


def _pkt(text: str) -> bytes:
    data = text.encode()
    return b"%04x" % (len(data) + 4) + data


def _upload_pack(scene: Scene, user: GitUser, body: bytes, headers: dict[str, str]) -> bytes:
    auth = {}
    prefix = "p/"
    if user.username:
        token = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        prefix = "a/"
    response = httpx.post(f"{scene.server.url}{prefix}{scene.project}/git-upload-pack",
                          content=body, timeout=30, headers={
                              "Content-Type": "application/x-git-upload-pack-request",
                              **auth, **headers})
    return response.content


def test_hand_made_requests_for_a_private_commit_get_no_pack(scene: Scene) -> None:
    v0 = (_pkt(f"want {scene.private_sha} side-band-64k ofs-delta\n") + b"0000"
          + _pkt("done\n"))
    v2 = (_pkt("command=fetch\n") + _pkt("object-format=sha1\n") + b"0001"
          + _pkt("ofs-delta\n") + _pkt(f"want {scene.private_sha}\n") + _pkt("done\n")
          + b"0000")
    for user in scene.people().values():
        assert b"PACK" not in _upload_pack(scene, user, v0, {})
        assert b"PACK" not in _upload_pack(scene, user, v2, {"Git-Protocol": "version=2"})
    # The same requests from the owner get the commit: the refusal is about who asks.
    assert b"PACK" in _upload_pack(scene, scene.alice, v2, {"Git-Protocol": "version=2"})
