"""Browser tests: the real server driven through Debian's Chromium by Playwright.

``scripts/test`` installs the ``chromium`` package; Playwright is pointed at it instead of
downloading a browser of its own. ``page`` is a fresh browser context (no cookies) per test;
``sign_in`` fills the sign-in form like a person would.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.support import GitUser, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium's own calls home are refused on a closed network, and root needs --no-sandbox.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--disable-default-apps"]
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: scripts/test installs it (apt-get install chromium)")
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield chromium
    chromium.close()


def _tab(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    refused: list[str] = []
    tab.on("console", lambda message: refused.append(message.text)
           if "Content Security Policy" in message.text else None)
    yield tab
    context.close()
    assert refused == [], f"pages broke the Content Security Policy: {refused}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab; the test fails if any page it showed broke the site's Content Security
    Policy (an inline script or style the browser refused)."""
    yield from _tab(browser)


@pytest.fixture
def second_page(browser: Browser) -> Iterator[Page]:
    """Another person's browser: a context of its own, with its own cookies."""
    yield from _tab(browser)


def sign_in(page: Page, server: Server, user: GitUser) -> None:
    """Sign in through the form and land on the dashboard."""
    page.goto(server.url + "login")
    page.get_by_label("Username").fill(user.username or "")
    page.get_by_label("HTTP password").fill(user.password or "")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url)
