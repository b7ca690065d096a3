"""Every way of listing changes leaves out a private change for those who may not see it:
REST queries, the web dashboard and search, the event log and the change itself. Each is
asked by an anonymous caller, an unrelated registered user, and the change's owner."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.visibility_support import Scene, make_scene
from tests.support import GitUser, gerrit_json


@pytest.fixture
def scene(server, make_user, project_name, tmp_path) -> Scene:  # type: ignore[no-untyped-def]
    return make_scene(server, make_user, project_name, tmp_path)


def _client(scene: Scene, user: GitUser) -> httpx.Client:
    """A browser-like client, signed in when ``user`` has an account."""
    client = httpx.Client(base_url=scene.server.url, timeout=30)
    if user.username:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token is not None
        client.post("/login", data={"username": user.username, "password": user.password,
                                    "csrf": token.group(1)})
    return client


def _queries(scene: Scene) -> list[str]:
    return [f"project:{scene.project}", "is:private", f"owner:{scene.alice.username}",
            f"change:{scene.private}", f"message:{scene.private_subject.split()[-1]}",
            f"{scene.private}"]


def _rest_numbers(scene: Scene, user: GitUser, query: str) -> set[int]:
    prefix = "/a" if user.username else ""
    auth = (user.username, user.password) if user.username else None
    with httpx.Client(base_url=scene.server.url, auth=auth, timeout=30) as c:
        answer = c.get(f"{prefix}/changes/", params={"q": query})
    assert answer.status_code == 200, answer.text
    return {ch["_number"] for ch in gerrit_json(answer)}


def test_queries_dashboard_and_search_leave_out_a_private_change(scene: Scene) -> None:
    for name, user in scene.people().items():
        for query in _queries(scene):
            assert scene.private not in _rest_numbers(scene, user, query), (name, query)
        browser = _client(scene, user)
        pages = [browser.get("/"), browser.get("/q/" + quote("status:open", safe=":")),
                 browser.get("/q/" + quote(f"project:{scene.project}", safe=":")),
                 browser.get(f"/c/{scene.project}/+/{scene.private}")]
        browser.close()
        for page in pages[:3]:
            assert page.status_code == 200, (name, page.url)
            assert scene.private_subject not in page.text, (name, page.url)
            assert f"/+/{scene.private}\"" not in page.text, (name, page.url)
        assert pages[3].status_code in (401, 403, 404) or "Sign in" in pages[3].text
        assert scene.private_subject not in pages[3].text
        assert scene.public in _rest_numbers(scene, user, f"project:{scene.project}")
    owner = scene.alice
    assert scene.private in _rest_numbers(scene, owner, "is:private")
    assert scene.private in _rest_numbers(scene, scene.vera, "is:private")
    assert scene.private in _rest_numbers(scene, scene.carol, "is:private")
    browser = _client(scene, owner)
    assert scene.private_subject in browser.get("/").text
    assert scene.private_subject in browser.get(
        "/q/" + quote(f"project:{scene.project}", safe=":")).text
    browser.close()


def test_event_log_and_status_are_closed_to_others(scene: Scene) -> None:
    with httpx.Client(base_url=scene.server.url, timeout=30) as c:
        assert c.get("/a/api/events").status_code == 401
        status = c.get("/api/status")
        assert status.status_code == 200 and scene.private_subject not in status.text
    with scene.server.client(scene.bob.username, scene.bob.password) as c:
        assert c.get("/a/api/events").status_code == 403
        assert scene.private_subject not in c.get("/api/status").text
