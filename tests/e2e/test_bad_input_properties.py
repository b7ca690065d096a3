"""Property tests over the REST and native API: whatever a caller sends, the answer is
never a 5xx, and a refusal is one plain sentence.

Each property sends real requests to a real server; examples are bounded so the file runs
in well under a minute per store backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.bad_input_support import World, assert_answer, make_world
from tests.support import Server

bounded = settings(max_examples=40, deadline=None, derandomize=True,
                   suppress_health_check=[HealthCheck.too_slow,
                                          HealthCheck.function_scoped_fixture])

FIELDS = ["labels", "message", "comments", "tag", "drafts", "strict_labels", "ready",
          "work_in_progress", "reviewer", "state", "topic", "add", "remove", "base",
          "destination", "project", "branch", "subject", "path", "line", "range", "side",
          "in_reply_to", "unresolved", "description", "submit_type", "required_approvals",
          "branches", "name", "anonymous_read", "create_empty_commit", "username", "email",
          "http_password", "groups", "generate", "members", "owner", "pipeline", "change",
          "changes", "Code-Review", "Verified", "a.txt", "permissions", "rules", "refs/*",
          "min", "max", "action", "value"]

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**31 - 2)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
           | st.sampled_from(FIELDS))
keys = st.sampled_from(FIELDS) | st.text(max_size=10)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(keys, inner, max_size=4), max_leaves=12)
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5) | json_values


@pytest.fixture(scope="module")
def world(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = make_world(server, tmp_path_factory.mktemp("props"))
    yield w
    w.client.close()


def _writes(w: World) -> list[tuple[str, str]]:
    c, p = f"/a/changes/{w.change}", f"/a/projects/{w.encoded}"
    return [("POST", f"{c}/revisions/current/review"), ("PUT", f"{c}/revisions/current/drafts"),
            ("POST", f"{c}/revisions/current/cherrypick"), ("POST", f"{c}/rebase"),
            ("POST", f"{c}/hashtags"), ("POST", f"{c}/reviewers"), ("PUT", f"{c}/topic"),
            ("POST", f"{c}/wip"), ("POST", f"{c}/ready"), ("PUT", f"{c}/edit:message"),
            ("POST", "/a/changes/"), ("PUT", f"{p}/config"), ("POST", f"{p}/access"),
            ("PUT", "/a/projects/org%2Fprop-new"), ("PUT", "/a/accounts/propuser"),
            ("PUT", "/a/accounts/self/password.http"), ("PUT", "/a/groups/prop-group"),
            ("POST", "/api/enqueue"), ("POST", "/api/dequeue"), ("POST", "/api/promote")]


@bounded
@given(data=st.data(), body=bodies)
def test_any_json_body_to_any_write_endpoint(world: World, data: st.DataObject,
                                             body: Any) -> None:
    method, path = data.draw(st.sampled_from(_writes(world)))
    assert_answer(world.client.request(method, path, json=body))


raw_bytes = st.binary(max_size=64) | st.sampled_from(
    [b"\xff\xfe{", b"{\"message\": \"\xff\"}", b"[" * 5000, b"1e999999", b"NaN", b")]}'"])


@bounded
@given(data=st.data(), body=raw_bytes,
       content_type=st.sampled_from(["application/json", "text/plain", "text/xml", "",
                                     "application/json; charset=latin-1", "multipart/x"]))
def test_any_bytes_with_any_content_type(world: World, data: st.DataObject, body: bytes,
                                         content_type: str) -> None:
    method, path = data.draw(st.sampled_from(_writes(world)))
    headers = {"content-type": content_type} if content_type else {}
    assert_answer(world.client.request(method, path, content=body, headers=headers))


query_words = st.sampled_from(["(", ")", "-", "OR", "AND", "NOT", '"', "{", "}", "status:open",
                               "label:Code-Review>=1", "age:1d", "age:99999999999y",
                               "limit:99999999999999999999", "change:99999999999999999999",
                               "conflicts:1", "is:x", "foo:bar", "owner:self", ":", "\x00",
                               "label:X=MAX,count>=2", "message:", "file:^a"])
queries = (st.lists(query_words | st.text(max_size=8), max_size=12).map(" ".join)
           | st.text(max_size=40))
paging = st.sampled_from(["-1", "x", "", "0", "1", "99999999999999999999", "2147483648",
                          "1.5", "0x10", "１", " 3", "+4"]) | st.integers().map(str)


@bounded
@given(q=queries, n=paging, start=paging, name=st.sampled_from(["n", "limit", "S", "start"]))
def test_any_query_and_paging(world: World, q: str, n: str, start: str, name: str) -> None:
    response = world.client.get("/changes/", params={"q": q, name: n, "start": start})
    assert_answer(response)


NATIVE = ["/api/builds", "/api/buildsets", "/api/status", "/a/api/events"]


@bounded
@given(path=st.sampled_from(NATIVE), params=st.dictionaries(
    st.sampled_from(["limit", "skip", "patchset", "change", "after", "project", "result",
                     "pipeline", "job"]), paging | st.text(max_size=10), max_size=3))
def test_any_native_query_parameters(world: World, path: str, params: dict[str, str]) -> None:
    assert_answer(world.client.get(path, params=params))


TEMPLATES = ["/changes/{}", "/changes/{}/detail", "/changes/1/revisions/{}/commit",
             "/changes/1/revisions/{}/files", "/projects/{}", "/projects/{}/branches/{}",
             "/projects/{}/config", "/accounts/{}", "/a/accounts/{}/groups", "/groups/{}",
             "/groups/{}/members", "/api/builds/{}", "/logs/{}/", "/logs/x/{}",
             "/api/buildsets/{}", "/changes/{}/topic", "/a/changes/{}/edit", "/{}", "/a/{}"]
segments = (st.text(max_size=12).map(lambda s: quote(s, safe=""))
            | st.sampled_from(["%FF", "%00", "..", "%2E%2E", "%C0%AF", "a%00b", "%ZZ", "%",
                               "%ED%A0%80", "99999999999999999999", "-1", "0", "~", "~~",
                               "org%2Fx~99999999999999999999", "%2F", "I" + "0" * 40]))


@bounded
@given(template=st.sampled_from(TEMPLATES), segment=segments)
def test_any_path_segment(world: World, template: str, segment: str) -> None:
    assert_answer(world.client.get(template.replace("{}", segment)))
