"""Git over HTTP shows each caller only the changes they may see, as REST does.

A private change's refs are left out of the advertisement for anyone who may not see the
change, on ``/p/`` and ``/a/``, in protocol v0 and v2, and its commit cannot be fetched by
name either (not even with a hand-made request); those who may see it fetch it as usual.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.visibility_support import Scene, make_scene
from tests.support import GitUser, gerrit_json


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


def _change(scene: Scene, number: int, who: GitUser | None = None) -> dict:
    user = who or scene.alice
    with scene.server.client(user.username, user.password) as c:
        return gerrit_json(c.get(f"/a/changes/{number}", params={"o": "ALL_REVISIONS"}))


def _push_with_change_id(scene: Scene, user: GitUser, change_id: str, tmp_path: Path,
                         *options: str) -> str:
    repo = tmp_path / f"push-{user.username}-{uuid.uuid4().hex[:6]}"
    user.clone(scene.project, repo, prefix="a/", hook=False)
    user.commit(repo, "mine.txt", "mine\n", f"My take\n\nChange-Id: {change_id}\n")
    pushed = user.push(repo, "HEAD:refs/for/main", *options)
    assert pushed.returncode != 0, pushed.stderr
    return pushed.stderr


def test_nobody_uploads_onto_a_change_they_cannot_see(scene: Scene, tmp_path: Path) -> None:
    private = _change(scene, scene.private)
    refusal = _push_with_change_id(scene, scene.bob, private["change_id"], tmp_path)
    assert f"Change-Id {private['change_id']} is already in use on branch main" in refusal
    said = refusal.lower().replace(scene.server.url, "").replace(scene.project, "")
    for secret in (f"/+/{scene.private}", f"change {scene.private}", scene.private_subject,
                   scene.alice.username, "private"):
        assert secret.lower() not in said, secret
    after = _change(scene, scene.private)
    assert len(after["revisions"]) == 1
    assert after["current_revision"] == scene.private_sha


def test_add_patch_set_permission_and_owner_only_state(scene: Scene, tmp_path: Path) -> None:
    public = _change(scene, scene.public)
    with scene.server.admin_client() as c:
        block = {"add": {"refs/for/*": {"permissions": {"addPatchSet": {
            "rules": {"Registered Users": {"action": "BLOCK"}}}}}}}
        r = c.post(f"/a/projects/{quote(scene.project, safe='')}/access", json=block)
        assert r.status_code == 200, r.text
    refusal = _push_with_change_id(scene, scene.bob, public["change_id"], tmp_path)
    assert f"cannot add patch set to change {scene.public}: addPatchSet on " \
           "refs/for/refs/heads/main is blocked for your groups" in refusal
    assert len(_change(scene, scene.public)["revisions"]) == 1

    # A reviewer sees the private change, but only its owner may make it public.
    private = _change(scene, scene.private)
    with scene.server.admin_client() as c:
        r = c.post(f"/a/projects/{quote(scene.project, safe='')}/access", json={
            "remove": {"refs/for/*": {"permissions": {"addPatchSet": {}}}}})
        assert r.status_code == 200, r.text
    refusal = _push_with_change_id(scene, scene.carol, private["change_id"], tmp_path,
                                   "remove-private")
    assert f"only the owner of change {scene.private} may make it private, public" in refusal
    after = _change(scene, scene.private)
    assert after.get("is_private") is True
    assert len(after["revisions"]) == 1
