"""The change page in a real browser: a change pushed with git, its diff both ways, inline
comments kept across reloads and seen by REST, votes limited to what the viewer may give,
the owner's and reviewers' actions, and forms that do not come from keepgreen refused."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser.accessibility import assert_accessible_basics
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.support import GitUser, Server, gerrit_json

FIRST = ('"""Greetings."""\n\n\ndef greet(name):\n    return "Hello, " + name\n\n\n'
         + "".join(f"VALUE_{i} = {i}\n" for i in range(30)))
SECOND = FIRST.replace('"Hello, " + name', 'f"Hello, {name}!"')


@dataclass
class Scene:
    server: Server
    project: str
    alice: GitUser  # owner
    bob: GitUser  # registered user
    carol: GitUser  # core reviewer
    number: int

    @property
    def url(self) -> str:
        return f"{self.server.url}c/{self.project}/+/{self.number}"

    def rest(self, path: str, who: GitUser | None = None) -> Any:
        user = who or self.alice
        with self.server.client(user.username, user.password) as client:
            answer = client.get("/a" + path)
            assert answer.status_code == 200, answer.text
            return gerrit_json(answer)


@pytest.fixture
def scene(sqlite_server: Server, make_user: Any, tmp_path: Path) -> Scene:
    project = f"web/p{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    alice, bob, carol = (make_user(sqlite_server, n) for n in ("alice", "bob", "carol"))
    with sqlite_server.admin_client() as admin:
        quoted = quote(project, safe="")
        answer = admin.put(f"/a/groups/{quote(project + '-core', safe='')}/members/"
                           f"{carol.username}")
        assert answer.status_code in (200, 201), answer.text
        answer = admin.put(f"/a/projects/{quoted}/config", json={"required_approvals": 1})
        assert answer.status_code == 200, answer.text
    repo = alice.clone(project, tmp_path / "work")
    alice.commit(repo, "greet.py", FIRST, "Greet people by name")
    pushed = alice.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    number = int(re.findall(r"/\+/(\d+) ", pushed.stderr)[0])
    (repo / "greet.py").write_text(SECOND)
    alice.git("commit", "-q", "-a", "--amend", "--no-edit", cwd=repo)
    assert alice.push(repo).returncode == 0
    return Scene(sqlite_server, project, alice, bob, carol, number)


def sign_in_as(page: Page, scene: Scene, user: GitUser) -> None:
    page.context.clear_cookies()
    sign_in(page, scene.server, user)
    page.goto(scene.url)


def test_the_change_its_files_and_its_diff_both_ways(scene: Scene, page: Page) -> None:
    sign_in_as(page, scene, scene.alice)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Greet people by name")
    expect(page.locator("dl.facts")).to_contain_text(scene.project)
    expect(page.get_by_role("link", name="greet.py")).to_be_visible()
    side = page.locator("table.diff.side")
    expect(side).to_contain_text('return f"Hello, {name}!"')
    expect(side.locator("td.code.add span.k").first).to_have_text("def")  # highlighted
    assert_accessible_basics(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "change-page.png"), full_page=True)

    page.get_by_role("link", name="Unified").click()
    unified = page.locator("table.diff.unified")
    expect(unified).to_be_visible()
    expect(page.locator("table.diff.side")).to_have_count(0)
    expect(unified.locator("tr", has_text="VALUE_3 = 3").first).to_be_visible()

    # Patch set 1 against 2: only the edited line, its changed characters marked.
    page.goto(f"{scene.url}/1..2")
    expect(page.get_by_role("heading", level=2, name="Patch set 2 compared with patch set 1")
           ).to_be_visible()
    changed = page.locator("table.diff.side td.code.add")
    expect(changed).to_have_count(1)
    expect(changed.locator("mark").first).to_be_visible()
    expect(page.locator("tr.gap").first).to_contain_text("unchanged lines")

    # Phone-sized: the page itself does not scroll sideways, only the diff does.
    page.set_viewport_size({"width": 380, "height": 800})
    page.goto(scene.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 380 + 1


def test_inline_comments_reply_and_resolve(scene: Scene, page: Page) -> None:
    sign_in_as(page, scene, scene.bob)
    page.locator("table.diff.side a.line-link", has_text=re.compile(r"^5$")).click()
    expect(page.get_by_label("Line (empty for the whole file)")).to_have_value("5")
    page.get_by_label("Comment", exact=True).fill("Why not keep the comma?")
    page.get_by_role("button", name="Comment", exact=True).first.click()
    page.reload()
    thread = page.locator("tr.threads .thread")
    expect(thread).to_contain_text("Why not keep the comma?")
    expect(thread).to_contain_text("Unresolved")
    comments = scene.rest(f"/changes/{scene.number}/comments")["greet.py"]
    assert [(c["line"], c["message"], c["unresolved"]) for c in comments] == [
        (5, "Why not keep the comma?", True)]

    sign_in_as(page, scene, scene.alice)
    thread = page.locator("tr.threads .thread")
    thread.locator("summary", has_text="Reply").click()
    thread.get_by_label("Reply to this thread").fill("An exclamation mark reads warmer.")
    thread.get_by_label("Resolved").check()
    thread.get_by_role("button", name="Reply").click()
    thread = page.locator("tr.threads .thread")
    expect(thread).to_contain_text("An exclamation mark reads warmer.")
    expect(thread.locator(".thread-state")).to_have_text("Resolved")
    comments = scene.rest(f"/changes/{scene.number}/comments")["greet.py"]
    assert comments[-1]["in_reply_to"] == comments[0]["id"]
    assert comments[-1]["unresolved"] is False

    # A patch-set comment, resolved with "Done".
    page.get_by_label("Patch set comment (a thread others can resolve)").fill("Docs next?")
    page.locator("#reply").get_by_role("button", name="Comment").click()
    expect(page.locator("#messages .thread")).to_contain_text("Docs next?")
    page.locator("#messages .thread").get_by_role("button", name="Done").click()
    expect(page.locator("#messages .thread .thread-state")).to_have_text("Resolved")


def test_votes_are_limited_to_what_the_viewer_may_give(scene: Scene, page: Page) -> None:
    sign_in_as(page, scene, scene.bob)
    expect(page.get_by_role("radio", name="Code-Review +1")).to_be_visible()
    expect(page.get_by_role("radio", name="Code-Review +2")).to_have_count(0)
    expect(page.get_by_role("radio", name="Workflow +1")).to_have_count(0)
    expect(page.get_by_role("button", name="Abandon")).to_have_count(0)
    page.get_by_role("radio", name="Code-Review +1").check()
    page.get_by_label("Reply message").fill("Nice touch.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("table.votes")).to_contain_text(f"{scene.bob.username.title()} +1")
    expect(page.locator("ol.messages")).to_contain_text("Code-Review+1")
    labels = scene.rest(f"/changes/{scene.number}/detail")["labels"]
    assert [(v["username"], v["value"]) for v in labels["Code-Review"]["all"]] == [
        (scene.bob.username, 1)]

    sign_in_as(page, scene, scene.carol)
    expect(page.get_by_role("radio", name="Code-Review +2")).to_be_visible()
    expect(page.get_by_role("radio", name="Workflow +1")).to_be_visible()


def test_abandon_restore_and_submit(scene: Scene, page: Page) -> None:
    sign_in_as(page, scene, scene.alice)
    expect(page.locator(".why-not")).to_contain_text("Cannot merge yet")
    page.get_by_role("button", name="Abandon").click()
    expect(page.locator("dl.facts")).to_contain_text("Abandoned")
    expect(page.get_by_role("button", name="Abandon")).to_have_count(0)
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("dl.facts")).to_contain_text("New")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)

    sign_in_as(page, scene, scene.carol)
    page.get_by_role("radio", name="Code-Review +2").check()
    page.get_by_role("radio", name="Workflow +1").check()
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".ready-to-submit")).to_be_visible()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("dl.facts")).to_contain_text("Merged")
    assert scene.rest(f"/changes/{scene.number}")["status"] == "MERGED"


def _signed_in_client(scene: Scene, user: GitUser) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=scene.server.url)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post("/login", data={"username": user.username, "password": user.password,
                                "csrf": token.group(1)})
    page = client.get(f"/c/{scene.project}/+/{scene.number}")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return client, token.group(1)


def test_forms_without_the_token_or_the_permission_are_refused(scene: Scene) -> None:
    path = f"/c/{scene.project}/+/{scene.number}/abandon"
    client, token = _signed_in_client(scene, scene.alice)
    try:
        refused = client.post(path, data={})
        assert refused.status_code == 403 and "CSRF token" in refused.text
        assert scene.rest(f"/changes/{scene.number}")["status"] == "NEW"
    finally:
        client.close()
    client, token = _signed_in_client(scene, scene.bob)
    try:
        refused = client.post(path, data={"csrf": token})
        assert refused.status_code == 403
        assert "abandoning this change is not permitted" in refused.text
        assert "Traceback" not in refused.text
        bad_line = client.post(f"/c/{scene.project}/+/{scene.number}/comment",
                               data={"csrf": token, "path": "greet.py", "line": "x",
                                     "message": "hm"})
        assert bad_line.status_code == 400 and "must be a line number" in bad_line.text
    finally:
        client.close()
    assert scene.rest(f"/changes/{scene.number}")["status"] == "NEW"


def test_a_change_nobody_may_see_is_not_found(scene: Scene, page: Page) -> None:
    page.goto(f"{scene.server.url}c/{scene.project}/+/999999")
    expect(page.get_by_role("alert")).to_contain_text("not found")
