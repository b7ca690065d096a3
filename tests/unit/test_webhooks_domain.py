"""The webhook rules of ``keepgreen.domain.webhooks``: URLs a remote may have, the public
address check that keeps deliveries out of the site's network, the signature and the
retry delays."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from keepgreen.domain.webhooks import Remote, is_public, retry_delay, signature, url_problem


@pytest.mark.parametrize("url", ["https://hooks.example.org/x", "http://example.org:8080/"])
def test_good_urls(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://example.org/", "http"), ("https:///nohost", "http"), ("example.org", "http"),
    ("https://u:p@example.org/", "credentials"), ("http://example.org:99999/", "not a URL"),
    ("https://example.org/" + "a" * 3000, "at most"),
])
def test_bad_urls_are_named(url: str, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None and words in problem


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:4700::1111", True), ("127.0.0.1", False),
    ("10.0.0.1", False), ("192.168.1.1", False), ("169.254.169.254", False), ("::1", False),
    ("::ffff:127.0.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
    ("198.18.0.1", False), ("fd00::1", False),
])
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


def test_the_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"type":"patchset-created"}'
    assert signature("k", body) == "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature("k", body) != signature("other", body)


def test_retries_double_up_to_an_hour() -> None:
    assert [retry_delay(t, 30) for t in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(30, 30) == 3600


def test_a_remote_without_events_wants_every_event() -> None:
    assert Remote("p", "n", "https://x.org/").wants("ref-updated")
    only = Remote("p", "n", "https://x.org/", events=("change-merged",))
    assert only.wants("change-merged") and not only.wants("comment-added")
