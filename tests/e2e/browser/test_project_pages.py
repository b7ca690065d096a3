"""Project pages in a real browser: the list with its search, and a project's page with
branches, recent changes, clone URL and each job's chart of recent builds.

Builds are recorded straight into the site's store, as the scheduler writes them, so the
chart has a known history to draw.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from keepgreen import settings as settings_mod
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.e2e.pipeline_support import new_change, only_change
from tests.support import Server

T0 = datetime(2030, 1, 1, 12, 0, 0)


def test_project_list_searches_and_project_page_shows_branches_jobs_and_changes(
        sqlite_server: Server, make_user, tmp_path: Path, page: Page) -> None:
    tag = uuid.uuid4().hex[:8]
    project, other = f"org/alpha{tag}", f"org/beta{tag}"
    sqlite_server.create_project(other)
    with sqlite_server.admin_client() as admin:
        made = admin.put(f"/a/projects/{project.replace('/', '%2F')}",
                         json={"create_empty_commit": True, "branches": ["main", "stable"]})
        assert made.status_code == 201, made.text
    owner = make_user(sqlite_server, "owner")
    repo = owner.clone(project, tmp_path / "work")
    new_change(owner, repo, {"a.txt": "a\n"}, "Add a")
    number = only_change(sqlite_server, project, "Add a")

    # Six builds of "unit": four successes, two failures, durations 60..110 s.
    db = Database(settings_mod.load(sqlite_server.site).database_url)
    try:
        with db.write() as conn:
            for i, result in enumerate(["SUCCESS", "FAILURE", "SUCCESS", "SUCCESS",
                                        "FAILURE", "SUCCESS"]):
                build = uuid.uuid4().hex
                start = T0 + timedelta(hours=i)
                build_store.add_build(conn, uuid=build, pipeline="check", project=project,
                                      change_number=number, patch_set=1, job="unit",
                                      voting=True, started=start)
                build_store.finish_build(conn, build, result, "", start
                                         + timedelta(seconds=60 + 10 * i), None)
    finally:
        db.dispose()

    page.goto(sqlite_server.url + "admin/repos")
    page.get_by_label("Search projects").fill(f"alpha{tag}")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/admin/repos?q=alpha{tag}")
    expect(page.get_by_role("link", name=project)).to_be_visible()
    expect(page.get_by_role("link", name=other)).to_have_count(0)
    page.get_by_role("link", name=project).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(project)
    branches = page.locator("table.branches")
    expect(branches).to_contain_text("main (default)")
    expect(branches).to_contain_text("stable")
    expect(page.locator("pre.ssh")).to_contain_text(f"git clone {sqlite_server.url}{project}")
    changes = page.locator("table.changes")
    expect(changes.get_by_role("link", name=str(number))).to_have_attribute(
        "href", f"/c/{project}/+/{number}")
    expect(changes).to_contain_text("Add a")
    jobs = page.locator("table.jobs-table")
    expect(jobs).to_contain_text("unit")
    expect(jobs).to_contain_text("67% of 6")
    chart = jobs.get_by_role("img", name="unit: last 6 builds, 67% successful")
    expect(chart.locator("rect")).to_have_count(6)
    # Oldest on the left, height by duration: the last bar (110 s) is the tallest, and
    # failures are drawn in the failure colour.
    heights = chart.locator("rect").evaluate_all(
        "rs => rs.map(r => Number(r.getAttribute('height')))")
    assert heights == sorted(heights) and heights[-1] > heights[0], heights
    fills = chart.locator("rect").evaluate_all("rs => rs.map(r => getComputedStyle(r).fill)")
    failure = page.evaluate("""() => { const r = document.createElementNS(
        'http://www.w3.org/2000/svg', 'rect'); r.setAttribute('class', 'failure');
        document.querySelector('svg.chart').appendChild(r);
        const fill = getComputedStyle(r).fill; r.remove(); return fill; }""")
    assert [f == failure for f in fills] == [False, True, False, False, True, False], fills
    # Each bar leads to its build.
    hrefs = chart.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert all(h.startswith("/build/") for h in hrefs), hrefs

    page.set_viewport_size({"width": 375, "height": 740})
    assert page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_unknown_project_page_says_not_found(sqlite_server: Server, page: Page) -> None:
    answer = page.goto(sqlite_server.url + "admin/repos/org/does-not-exist")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("alert")).to_contain_text("org/does-not-exist")
