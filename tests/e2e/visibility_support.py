"""A project with one public and one private change, and people who see them differently.

``alice`` owns both changes, ``carol`` reviews the private one, ``bob`` is an unrelated
registered user, ``vera`` belongs to a group that may view private changes. Everything is
made the way users make it: plain git pushes and Gerrit REST calls to a real server.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tests.support import GitUser, Server, gerrit_json


@dataclass
class Scene:
    server: Server
    project: str
    alice: GitUser
    bob: GitUser
    carol: GitUser
    vera: GitUser
    anonymous: GitUser
    repo: Path  # alice's clone
    public: int
    private: int
    private_sha: str
    private_subject: str

    def ref(self, number: int, patch_set: int = 1) -> str:
        return f"refs/changes/{number % 100:02d}/{number}/{patch_set}"

    def people(self) -> dict[str, GitUser]:
        return {"anonymous": self.anonymous, "bob": self.bob}


def change_number(server: Server, project: str, subject: str) -> int:
    with server.admin_client() as c:
        found = gerrit_json(c.get("/a/changes/", params={"q": f"project:{project}"}))
    return next(ch["_number"] for ch in found if ch["subject"] == subject)


def make_scene(server: Server, make_user, project: str, tmp_path: Path) -> Scene:  # type: ignore[no-untyped-def]
    server.create_project(project)
    tag = uuid.uuid4().hex[:6]
    group = f"private-readers-{tag}"
    with server.admin_client() as c:
        assert c.put(f"/a/groups/{group}", json={}).status_code == 201
        grant = {"add": {"refs/*": {"permissions": {"viewPrivateChanges": {
            "rules": {group: {"action": "ALLOW"}}}}}}}
        r = c.post(f"/a/projects/{quote(project, safe='')}/access", json=grant)
        assert r.status_code == 200, r.text
    alice = make_user(server, "alice")
    bob = make_user(server, "bob")
    carol = make_user(server, "carol")
    vera = make_user(server, "vera", groups=[group])
    anonymous = make_user(server)
    repo = alice.clone(project, tmp_path / "alice")
    alice.commit(repo, "public.txt", "public\n", "A public change")
    pushed = alice.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    alice.git("reset", "-q", "--hard", "HEAD~1", cwd=repo)
    subject = f"Secret plan {tag}"
    private_sha = alice.commit(repo, "secret.txt", "secret\n", subject)
    pushed = alice.push(repo, "HEAD:refs/for/main", "private", f"r={carol.username}")
    assert pushed.returncode == 0, pushed.stderr
    return Scene(server, project, alice, bob, carol, vera, anonymous, repo,
                 change_number(server, project, "A public change"),
                 change_number(server, project, subject), private_sha, subject)
