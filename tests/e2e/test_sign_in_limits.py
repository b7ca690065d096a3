"""Signing in against a real server: failed attempts are throttled per account and per
address (HTTP Basic and the sign-in form alike), and signing out or changing the password
ends every browser session of the account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, drop_postgres_database, make_postgres_database
from tests.support import Server, start_server

THROTTLE = {"KEEPGREEN_LOGIN_MAX_FAILURES": "3", "KEEPGREEN_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
            "KEEPGREEN_LOGIN_FAILURE_WINDOW": "120"}


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[Server]:
    """A server of its own: the address throttle counts every failure from 127.0.0.1."""
    srv = start_server(tmp_path / "site", extra_env=THROTTLE)
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    site = tmp_path_factory.mktemp("site") / "site"
    url = name = None
    if request.param == "postgresql":
        url, name = make_postgres_database(request.getfixturevalue("postgres_admin_url"))
    srv = start_server(site, url)
    yield srv
    srv.stop()
    if name:
        drop_postgres_database(PG_ADMIN_URL, name)


def sign_in(server: Server, username: str, password: str) -> tuple[httpx.Client,
                                                                    httpx.Response]:
    """A browser of its own: fetch the form, post it with its CSRF token."""
    browser = httpx.Client(base_url=server.url, timeout=30)
    form = browser.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text
    answer = browser.post("/login", data={"csrf": token.group(1), "username": username,
                                          "password": password, "redirect": "/"})
    return browser, answer


def signed_in_as(browser: httpx.Client) -> str | None:
    found = re.search(r'<span class="who"[^>]*>([^<]+)</span>', browser.get("/").text)
    return found.group(1) if found else None


def csrf_of(browser: httpx.Client) -> str:
    token = re.search(r'name="csrf" value="([^"]+)"', browser.get("/").text)
    assert token
    return token.group(1)


def test_basic_auth_failures_are_throttled_with_retry_after(throttled: Server) -> None:
    password = throttled.create_account("alice")
    with throttled.client("alice", "wrong") as wrong:
        for _ in range(3):
            assert wrong.get("/a/accounts/self").status_code == 401
    with throttled.client("alice", password) as right:
        refused = right.get("/a/accounts/self")
    assert refused.status_code == 429, refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 120
    reason = refused.text.strip()
    assert "try again in" in reason and "\n" not in reason
    # The address is throttled too: another account from it waits as well.
    with throttled.admin_client() as admin:
        assert admin.get("/a/accounts/self").status_code == 429


def test_git_over_http_failures_are_throttled_per_address(throttled: Server) -> None:
    password = throttled.create_account("carol")
    throttled.create_project("org/throttled")
    refs = "/a/org/throttled/info/refs?service=git-upload-pack"
    with throttled.client("carol", "wrong") as wrong:
        for _ in range(3):
            assert wrong.get(refs).status_code == 401
    # Another account from the same address: git's failures count for the address as well.
    with throttled.admin_client() as admin:
        refused = admin.get(refs)
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) > 0
    with throttled.client("carol", password) as right:
        assert right.get("/a/accounts/self").status_code == 429


def test_sign_in_form_failures_are_throttled_with_retry_after(throttled: Server) -> None:
    password = throttled.create_account("bob")
    for _ in range(3):
        browser, answer = sign_in(throttled, "bob", "wrong")
        assert answer.status_code == 401
        browser.close()
    browser, answer = sign_in(throttled, "bob", password)
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in answer.text
    assert signed_in_as(browser) is None
    browser.close()


def test_session_cookie_is_http_only_and_same_site_lax(server: Server) -> None:
    password = server.create_account("cookie")
    browser, answer = sign_in(server, "cookie", password)
    assert answer.status_code == 303
    session = [c for c in answer.headers.get_list("set-cookie")
               if c.startswith("keepgreen_session=")]
    assert session, answer.headers
    flags = session[0].lower()
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    browser.close()


def test_session_cookie_is_secure_when_the_canonical_url_is_https(tmp_path: Path) -> None:
    srv = start_server(tmp_path / "site",
                       extra_env={"KEEPGREEN_CANONICAL_URL": "https://review.example.org"})
    try:
        password = srv.create_account("tls")
        with httpx.Client(base_url=srv.url, timeout=30) as browser:
            # The client keeps Secure cookies for https only, so send the CSRF one by hand.
            form = browser.get("/login")
            csrf = form.headers["set-cookie"]
            assert "secure" in csrf.lower(), csrf
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert token
            answer = browser.post("/login", headers={"Cookie": csrf.split(";", 1)[0]},
                                  data={"csrf": token.group(1), "username": "tls",
                                        "password": password, "redirect": "/"})
        assert answer.status_code == 303, answer.text
        session = [c for c in answer.headers.get_list("set-cookie")
                   if c.startswith("keepgreen_session=")]
        assert session and "secure" in session[0].lower(), answer.headers
    finally:
        srv.stop()


def test_signing_out_ends_the_accounts_sessions_in_every_browser(server: Server) -> None:
    password = server.create_account("carol")
    laptop, _ = sign_in(server, "carol", password)
    phone, _ = sign_in(server, "carol", password)
    assert signed_in_as(laptop) == signed_in_as(phone) == "carol"
    stolen = dict(phone.cookies)
    out = laptop.post("/logout", data={"csrf": csrf_of(laptop)})
    assert out.status_code == 303
    assert signed_in_as(laptop) is None
    assert signed_in_as(phone) is None
    # A copy of the old cookie is worth nothing either.
    with httpx.Client(base_url=server.url, cookies=stolen, timeout=30) as thief:
        assert signed_in_as(thief) is None
    again, _ = sign_in(server, "carol", password)
    assert signed_in_as(again) == "carol"
    for browser in (laptop, phone, again):
        browser.close()


def test_a_new_password_ends_the_accounts_sessions(server: Server) -> None:
    password = server.create_account("dave")
    browser, _ = sign_in(server, "dave", password)
    assert signed_in_as(browser) == "dave"
    with server.admin_client() as admin:
        r = admin.put("/a/accounts/dave/password.http", json={"generate": True})
        assert r.status_code == 200, r.text
    assert signed_in_as(browser) is None
    browser.close()
