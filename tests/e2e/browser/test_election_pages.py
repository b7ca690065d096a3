"""Election pages in a real browser: a voter ranks the candidates in the ballot form, keeps
the receipt, checks the ballot with it; after voting closes the page shows the winner with
the pairwise and strongest-path matrices. Someone outside the electorate gets no form.

The candidacies are recorded straight into the site's store as accepted, as the review of
candidacy changes would record them (that path is covered by tests/e2e/test_elections.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from keepgreen import settings as settings_mod
from keepgreen.store import elections as election_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from tests.e2e.browser.accessibility import assert_accessible_basics
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.election_support import Config, election, election_file
from tests.e2e.pipeline_support import wait_for
from tests.support import GitUser, Server


def test_a_voter_ranks_checks_the_receipt_and_sees_the_result(
        sqlite_server: Server, make_user, tmp_path: Path, page: Page) -> None:  # type: ignore[no-untyped-def]
    server = sqlite_server
    tag = uuid.uuid4().hex[:6]
    project = f"org/pages{tag}"
    server.create_project(project)
    with server.admin_client() as admin:
        made = admin.put("/a/groups/election-officials", json={})
        assert made.status_code in (201, 409), made.text
    ana, bo, voter, outsider = (make_user(server, n) for n in ("ana", "bo", "voter", "out"))
    name = f"pages{tag}-2027"
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.write() as conn:
            for user in (ana, bo):
                election_store.record_candidate(conn, name, user.username,
                                                election_store.ACCEPTED, None, "official",
                                                utcnow())
    finally:
        db.dispose()
    extra = [ana.username, bo.username, voter.username]
    config = Config(GitUser(tmp_path / "admin", server, server.admin, server.admin_password),
                    tmp_path / "config")
    path = f"elections/{name}.yaml"
    config.publish({path: election_file(project, extra,
                                        (-timedelta(hours=3), -timedelta(hours=2)),
                                        (-timedelta(hours=2), timedelta(hours=1))),
                    **{f"candidates/{name}/{u.username}.txt": f"{u.username} for PTL.\n"
                       for u in (ana, bo)}}, f"Election {name}")
    wait_for("the election", lambda: (e := election(server, name)) and len(
        e["candidates"]) == 2, server, timeout=60)

    sign_in(page, server, voter)
    page.get_by_role("link", name="Elections").click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_text(f"{ana.username} for PTL.")).to_be_visible()
    assert_accessible_basics(page)
    page.get_by_label(bo.username, exact=True).fill("1")
    page.get_by_label(ana.username, exact=True).fill("2")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.get_by_role("status").first).to_contain_text("Your ballot was counted")
    receipt = page.locator("#receipt").inner_text().strip()
    assert len(receipt) >= 24
    page.get_by_label("Check your ballot with your receipt").fill(receipt)
    page.get_by_role("button", name="Show my ballot").click()
    expect(page.get_by_role("status").first).to_contain_text(
        f"1. {bo.username}; 2. {ana.username}")
    page.screenshot(path=str(SCREENSHOTS / "election-ballot.png"), full_page=True)
    page.get_by_label("Check your ballot with your receipt").fill("not-my-receipt")
    page.get_by_role("button", name="Show my ballot").click()
    expect(page.get_by_role("alert")).to_contain_text("no ballot in this election has that "
                                                      "receipt")

    outside = page.context.browser.new_context()  # type: ignore[union-attr]
    other = outside.new_page()
    sign_in(other, server, outsider)
    other.goto(server.url + f"elections/{name}")
    expect(other.get_by_role("heading", name="Candidates")).to_be_visible()
    assert other.get_by_role("button", name="Cast my ballot").count() == 0
    outside.close()

    config.publish({path: election_file(project, extra,
                                        (-timedelta(hours=3), -timedelta(hours=2)),
                                        (-timedelta(hours=2), -timedelta(seconds=1)))},
                   f"Close {name}")
    wait_for("voting to close", lambda: election(server, name)["phase"] == "closed", server,
             timeout=60)
    page.goto(server.url + f"elections/{name}")
    expect(page.locator(".winner")).to_contain_text(f"{bo.username} is elected")
    pairwise = page.locator("table.pairwise")
    expect(pairwise.locator("tr", has_text=bo.username).first).to_be_visible()
    row = pairwise.locator("tbody tr").filter(has=page.locator("th", has_text=bo.username))
    expect(row.locator("td").nth(0)).to_have_text("1")  # bo over ana: one voter
    expect(page.locator("table.paths")).to_be_visible()
    assert_accessible_basics(page)
    page.screenshot(path=str(SCREENSHOTS / "election-result.png"), full_page=True)
