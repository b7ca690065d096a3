"""Pads in real browsers: the owner of a change starts its discussion pad from the change
page, a second person opens it in another browser, both type at the same time and both
end with the same text; the mentioned changes show with their state, except one the
viewer may not see; someone who may not see the change gets a "not found" page."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.browser.accessibility import assert_accessible_basics
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.visibility_support import make_scene
from tests.support import Server


def type_lines(page: Page, lines: list[str], *, at_start: bool = False) -> None:
    """Type whole lines at the end of the pad (or at its start)."""
    area = page.locator("#pad-text")
    area.click()
    page.keyboard.press("Control+Home" if at_start else "Control+End")
    for line in lines:
        page.keyboard.type(line + "\n", delay=5)


def test_two_people_edit_a_change_pad_at_once_and_see_the_same_text(
        sqlite_server: Server, make_user, project_name: str, tmp_path: Path,  # type: ignore[no-untyped-def]
        page: Page, second_page: Page) -> None:
    scene = make_scene(sqlite_server, make_user, project_name, tmp_path)
    change_url = f"{sqlite_server.url}c/{project_name}/+/{scene.public}"

    sign_in(page, sqlite_server, scene.alice)
    page.goto(change_url)
    pads = page.locator("section", has=page.get_by_role("heading", name="Discussion pad"))
    expect(pads).to_contain_text("No pad for this change yet.")
    pads.get_by_role("button", name="Start a discussion pad").click()
    expect(page.locator("#pad[data-synced=true]")).to_be_attached()
    pad_url = page.url
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text(f"change {scene.public}").first).to_be_visible()
    assert_accessible_basics(page)

    sign_in(second_page, sqlite_server, scene.bob)
    second_page.goto(change_url)
    second_page.get_by_role("link", name=page.locator("h1").inner_text()).click()
    assert second_page.url == pad_url
    expect(second_page.locator("#pad[data-synced=true]")).to_be_attached()

    # Both type at once: neither waits for the other.
    alice_lines = [f"alice point {i}" for i in range(6)]
    bob_lines = [f"bob point {i}" for i in range(6)]
    # Alice writes at the top, Bob at the bottom, so a line of one never lands inside a
    # line of the other that is still arriving.
    for a, b in zip(alice_lines, bob_lines, strict=True):
        type_lines(page, [a], at_start=True)
        type_lines(second_page, [b])
    type_lines(page, [f"See change {scene.public} and change {scene.private}."],
               at_start=True)

    def texts() -> tuple[str, str]:
        return (page.locator("#pad-text").input_value(),
                second_page.locator("#pad-text").input_value())

    for _ in range(100):
        left, right = texts()
        if left == right and all(line in left for line in alice_lines + bob_lines):
            break
        page.wait_for_timeout(100)
    left, right = texts()
    assert left == right, (left, right)
    for line in alice_lines + bob_lines:
        assert left.count(line + "\n") == 1, (line, left)

    # Alice may see the private change she mentioned; Bob sees only the public one.
    alice_mentions = page.locator("#pad-mentions")
    expect(alice_mentions).to_contain_text(scene.private_subject)
    expect(alice_mentions).to_contain_text("A public change")
    bob_mentions = second_page.locator("#pad-mentions")
    expect(bob_mentions).to_contain_text("A public change")
    expect(bob_mentions.get_by_text("new")).to_have_count(1)
    assert scene.private_subject not in bob_mentions.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "pad.png"))

    # The change page links the pad now; a reload of the pad shows the shared text.
    page.goto(change_url)
    expect(pads.get_by_role("link")).to_have_count(1)
    pads.screenshot(path=str(SCREENSHOTS / "change-pad.png"))
    second_page.reload()
    expect(second_page.locator("#pad[data-synced=true]")).to_be_attached()
    assert second_page.locator("#pad-text").input_value() == left


def test_a_pad_of_a_private_change_is_not_found_by_others(
        sqlite_server: Server, make_user, project_name: str, tmp_path: Path,  # type: ignore[no-untyped-def]
        page: Page, second_page: Page) -> None:
    scene = make_scene(sqlite_server, make_user, project_name, tmp_path)
    sign_in(page, sqlite_server, scene.alice)
    page.goto(f"{sqlite_server.url}c/{project_name}/+/{scene.private}")
    page.get_by_role("button", name="Start a discussion pad").click()
    expect(page.locator("#pad[data-synced=true]")).to_be_attached()
    type_lines(page, ["the secret agenda"])
    pad_url = page.url

    sign_in(second_page, sqlite_server, scene.bob)
    response = second_page.goto(pad_url)
    assert response is not None and response.status == 404
    expect(second_page.get_by_role("alert")).to_contain_text("not found")
    assert "secret agenda" not in second_page.content()
    response = second_page.goto(pad_url + "/export.md")
    assert response is not None and response.status == 404

    # Signed out, the pad is not found either, and the list of pads does not show it.
    second_page.context.clear_cookies()
    response = second_page.goto(pad_url)
    assert response is not None and response.status == 404
    second_page.goto(f"{sqlite_server.url}pads")
    assert scene.private_subject not in second_page.content()
