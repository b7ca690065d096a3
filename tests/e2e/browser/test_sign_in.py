"""Signing in and out in a real browser, and forms that do not come from keepgreen's pages."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import sign_in
from tests.support import Server


def test_sign_in_shows_who_and_sign_out_forgets_it(sqlite_server: Server, make_user,
                                                   page: Page) -> None:
    alice = make_user(sqlite_server, "alice")
    sign_in(page, sqlite_server, alice)
    expect(page.get_by_role("banner")).to_contain_text(alice.username)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["keepgreen_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("banner")).to_contain_text("Sign in")
    assert "keepgreen_session" not in {c["name"] for c in page.context.cookies()}


def test_wrong_password_is_refused_with_a_plain_message(sqlite_server: Server, make_user,
                                                        page: Page) -> None:
    alice = make_user(sqlite_server, "alice")
    page.goto(sqlite_server.url + "login")
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("HTTP password").fill("not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/login")) as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("Wrong username or HTTP password.")
    assert "keepgreen_session" not in {c["name"] for c in page.context.cookies()}


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(
        sqlite_server: Server, make_user, page: Page) -> None:
    alice = make_user(sqlite_server, "alice")
    page.goto(sqlite_server.url + "login?redirect=//evil.example/")
    page.get_by_label("Username").fill(alice.username)
    page.get_by_label("HTTP password").fill(alice.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(sqlite_server.url)


def test_a_form_post_without_the_csrf_token_is_refused(sqlite_server: Server,
                                                       make_user) -> None:
    alice = make_user(sqlite_server, "alice")
    with httpx.Client(base_url=sqlite_server.url) as browser:
        form = browser.get("/login")
        assert form.status_code == 200
        # The cookie is there (as a cross-site post would carry it), the token is not.
        answer = browser.post("/login", data={"username": alice.username,
                                              "password": alice.password})
        assert answer.status_code == 403
        assert "CSRF token" in answer.text
        assert "keepgreen_session" not in answer.cookies
        forged = browser.post("/login", data={"username": alice.username,
                                              "password": alice.password,
                                              "csrf": "made-up"})
        assert forged.status_code == 403
