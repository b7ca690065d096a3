"""A server with one project and one open change, and what every refusal must look like."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.support import GitUser, Server, gerrit_json


@dataclass
class World:
    server: Server
    project: str
    change: int
    client: httpx.Client

    @property
    def encoded(self) -> str:
        return quote(self.project, safe="")


def make_world(server: Server, root: Path) -> World:
    project = f"org/bad{uuid.uuid4().hex[:8]}"
    server.create_project(project)
    admin = GitUser(root / "admin", server, server.admin, server.admin_password)
    repo = admin.clone(project, root / "repo")
    admin.commit(repo, "a.txt", "a\n", "A change to poke at")
    pushed = admin.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    client = server.admin_client()
    found = gerrit_json(client.get("/a/changes/", params={"q": f"project:{project}"}))
    return World(server, project, found[0]["_number"], client)


def assert_refusal(response: httpx.Response, allowed: tuple[int, ...] = ()) -> None:
    """A 4xx whose body is one plain sentence: what a user reads, never a traceback."""
    what = f"{response.request.method} {str(response.request.url)[:200]}"
    assert 400 <= response.status_code < 500 or response.status_code in allowed, (
        f"{what}: {response.status_code} {response.text!r}")
    assert response.headers["content-type"].startswith("text/plain"), what
    text = response.text.strip()
    assert text and "\n" not in text and "Traceback" not in text, f"{what}: {text!r}"


def assert_answer(response: httpx.Response) -> None:
    """Any answer but a server error; a refusal must be a plain sentence. 501 is allowed:
    it names a Gerrit endpoint keepgreen does not answer yet, deliberately."""
    if response.status_code >= 400:
        assert_refusal(response, allowed=(501,))
    else:
        assert response.status_code < 400
