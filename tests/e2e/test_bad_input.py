"""Inputs that used to answer 500: each now gets a 4xx with one plain sentence.

Found by sending wrong JSON types, numbers too large for the store, NUL characters and
hostile queries to every REST and native endpoint, on SQLite and PostgreSQL (which fail
differently: PostgreSQL refuses NUL and 32-bit overflows, SQLite 64-bit ones and deep
expressions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.bad_input_support import World, assert_refusal, make_world
from tests.support import Server


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(server, tmp_path_factory.mktemp("bad"))
    yield w
    w.client.close()


def _bodies(w: World) -> list[tuple[str, str, Any]]:
    c, p = f"/a/changes/{w.change}", f"/a/projects/{w.encoded}"
    review = f"{c}/revisions/current/review"
    return [
        ("POST", review, {"comments": {"a.txt": [{"line": 10**30, "message": "x"}]}}),
        ("POST", review, {"comments": {"a.txt": [{"message": "x", "range": {
            "start_line": 1, "start_character": 0, "end_line": 10**30, "end_character": 1}}]}}),
        ("POST", review, {"comments": {"a.txt": [{"in_reply_to": {}, "message": "x"}]}}),
        ("POST", review, {"comments": {"a.txt": [{"in_reply_to": 5, "message": "x"}]}}),
        ("POST", review, {"tag": {}}),
        ("POST", "/a/changes/", {"project": w.project, "subject": "x", "topic": {}}),
        ("PUT", f"{c}/revisions/current/drafts", {"path": "a.txt", "line": 2**40,
                                                  "message": "x"}),
        ("POST", f"{c}/revisions/current/cherrypick", {"destination": "main", "message": 5}),
        ("POST", f"{c}/rebase", {"base": 5}),
        ("PUT", f"{p}/config", {"description": 5}),
        ("PUT", f"{p}/config", {"description": []}),
        ("POST", f"{p}/access", {"remove": {"refs/*": 5}}),
        ("POST", f"{p}/access", {"remove": "refs/*"}),
        ("POST", f"{p}/access", {"add": {"refs/*": 5}}),
        ("POST", f"{p}/access", {"add": {"refs/*": {"permissions": {"read": 5}}}}),
        ("POST", f"{p}/access", {"add": {"refs/*": {"permissions": {"read": {
            "rules": {"Registered Users": 5}}}}}}),
        ("POST", f"{p}/access", {"remove": {"refs/*": {"permissions": {"read": 5}}}}),
        ("POST", "/api/enqueue", {"pipeline": "gate", "project": w.project,
                                  "change": "99999999999999999999,1"}),
        ("POST", "/api/promote", {"pipeline": "gate", "changes": ["1,99999999999"]}),
        ("PUT", f"{c}/topic", {"topic": "a\x00b"}),
    ]


def test_wrong_json_types_and_overflowing_numbers_are_refused(world: World) -> None:
    for method, path, body in _bodies(world):
        assert_refusal(world.client.request(method, path, json=body))


@pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 50_000,
                                 b'{"message": ' + b"1" * 5000 + b"}"])
def test_bodies_json_cannot_hold_are_refused(world: World, raw: bytes) -> None:
    c = f"/a/changes/{world.change}"
    for method, path in [("POST", f"{c}/abandon"), ("PUT", f"{c}/topic"),
                         ("PUT", f"/a/groups/g{len(raw)}"), ("PUT", "/a/accounts/someone"),
                         ("POST", f"/a/projects/{world.encoded}/access"),
                         ("POST", "/api/enqueue")]:
        assert_refusal(world.client.request(method, path, content=raw,
                                            headers={"content-type": "application/json"}))


@pytest.mark.parametrize("query", [
    "age:999999999999d", "age:99999999999y", "-" * 100 + "a", "-(" * 60 + "a" + ")" * 60,
    "topic:\x00", "owner:\x00", "project:a\x00b", "hashtag:\x00",
    "label:Code-Review=+1,user=\x00", " ".join(["a"] * 65), "x" * 9000,
])
def test_hostile_queries_are_refused(world: World, query: str) -> None:
    for prefix in ("", "/a"):
        response = world.client.get(f"{prefix}/changes/", params={"q": query})
        if query.startswith("age:"):
            # Older than the calendar is a fine question with an empty answer.
            assert response.status_code == 200 and response.text.endswith("[]\n")
        else:
            assert_refusal(response)


@pytest.mark.parametrize("path,params", [
    ("/api/builds", {"patchset": "99999999999999999999"}),
    ("/api/builds", {"patchset": "2147483648"}),
    ("/api/builds", {"project": "a\x00b"}),
    ("/api/buildsets", {"skip": "99999999999999999999"}),
    ("/api/buildsets", {"skip": "9223372036854775808"}),
    ("/api/buildsets", {"pipeline": "a\x00b"}),
])
def test_native_paging_values_out_of_range_are_refused(world: World, path: str,
                                                       params: dict[str, str]) -> None:
    assert_refusal(world.client.get(path, params=params))


@pytest.mark.parametrize("template", [
    "/projects/{}", "/projects/{}/branches/", "/projects/{}/HEAD", "/projects/{}/config",
    "/projects/{}/access", "/accounts/{}", "/a/accounts/{}/groups", "/groups/{}",
    "/groups/{}/members", "/api/builds/{}", "/api/builds/{}/log", "/logs/{}/",
    "/api/buildsets/{}",
])
def test_nul_in_a_path_segment_is_refused(world: World, template: str) -> None:
    assert_refusal(world.client.get(template.format("a%00b")))


def test_nul_in_a_name_to_create_is_refused(world: World) -> None:
    assert_refusal(world.client.put("/a/groups/a%00b", json={}))
    assert_refusal(world.client.put("/a/groups/Administrators/members/a%00b", json={}))
    # Nothing was half-made: no such group exists afterwards.
    assert world.client.get("/groups/a%00b").status_code == 400
    assert "a\x00b" not in world.client.get("/a/groups/").text


def test_a_refused_review_leaves_the_change_as_it_was(world: World) -> None:
    before = world.client.get(f"/a/changes/{world.change}/detail").text
    response = world.client.post(f"/a/changes/{world.change}/revisions/current/review",
                                 json={"message": "hello", "labels": {"Code-Review": 1},
                                       "comments": {"a.txt": [{"line": 10**30}]}})
    assert_refusal(response)
    assert "comments.a.txt[0].line" in response.text
    assert world.client.get(f"/a/changes/{world.change}/detail").text == before
