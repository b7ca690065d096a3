"""The dashboard and change search in a real browser: changes whose attention set I am in,
my changes, changes waiting for my review and recently merged ones, each with its status
and votes; search in Gerrit's query language; what anonymous visitors see."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.browser.accessibility import assert_accessible_basics
from tests.e2e.browser.conftest import sign_in
from tests.support import Server


def test_dashboard_lists_mine_and_what_waits_for_my_review(
        sqlite_server: Server, make_user: Any, tmp_path: Path, page: Page) -> None:
    project = f"dash/p{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    alice, bob = make_user(sqlite_server, "alice"), make_user(sqlite_server, "bob")
    repo = alice.clone(project, tmp_path / "work")
    alice.commit(repo, "README", "hello\n", "Say hello in the README")
    pushed = alice.push(repo, "HEAD:refs/for/main", f"r={bob.username}")
    assert pushed.returncode == 0, pushed.stderr
    number = int(re.findall(r"/\+/(\d+) ", pushed.stderr)[0])
    with sqlite_server.client(bob.username, bob.password) as client:
        answer = client.post(f"/a/changes/{number}/revisions/current/review",
                             json={"labels": {"Code-Review": -1}})
        assert answer.status_code == 200, answer.text

    sign_in(page, sqlite_server, alice)
    # Bob's reply handed the turn back to Alice.
    turn = page.locator("section", has=page.get_by_role("heading", name="Your turn"))
    expect(turn.locator("tr", has_text="Say hello in the README")).to_be_visible()
    mine = page.locator("section", has=page.get_by_role("heading", name="My open changes"))
    row = mine.locator("tr", has_text="Say hello in the README")
    expect(row).to_contain_text(project)
    expect(row).to_contain_text("New")
    expect(row.locator(".vote.neg")).to_have_text("-1")
    assert_accessible_basics(page)
    row.get_by_role("link", name="Say hello in the README").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Say hello in the README")

    page.context.clear_cookies()
    sign_in(page, sqlite_server, bob)
    waiting = page.locator("section",
                           has=page.get_by_role("heading", name="Waiting for my review"))
    expect(waiting.locator("tr", has_text="Say hello in the README")).to_be_visible()
    mine = page.locator("section", has=page.get_by_role("heading", name="My open changes"))
    expect(mine).to_contain_text("You have no open changes")
    turn = page.locator("section", has=page.get_by_role("heading", name="Your turn"))
    expect(turn).to_contain_text("Nothing needs you now")


def test_search_takes_the_query_language_and_says_what_is_wrong(
        sqlite_server: Server, make_user: Any, tmp_path: Path, page: Page) -> None:
    project = f"dash/q{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    alice = make_user(sqlite_server, "alice")
    repo = alice.clone(project, tmp_path / "work")
    alice.commit(repo, "a.txt", "a\n", "First searchable change")
    assert alice.push(repo).returncode == 0
    alice.git("checkout", "-q", "--detach", "origin/main", cwd=repo)
    alice.commit(repo, "b.txt", "b\n", "Second searchable change")
    assert alice.push(repo, "HEAD:refs/for/main%topic=findme").returncode == 0

    page.goto(sqlite_server.url)  # anonymous: projects and recent changes
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    expect(page.get_by_role("cell", name=project).first).to_be_visible()
    page.get_by_label("Search changes").fill(f"project:{project} topic:findme")
    page.get_by_role("button", name="Search").click()
    table = page.locator("table.changes")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Second searchable change")
    assert_accessible_basics(page)

    page.goto(f"{sqlite_server.url}q/project:{project}")
    expect(page.locator("table.changes tbody tr")).to_have_count(2)

    with page.expect_response(lambda r: "/q/" in r.url) as answer:
        page.goto(f"{sqlite_server.url}q/project:(")
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("project:(")
