"""Pads on the real server: clients editing at once over the websocket converge, the text
survives a ``kill -9`` of the server, readers cannot write, a pad of a private change stays
with the people who may see the change, and hostile or malformed input is turned away
without harming the pad."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from pycrdt import YMessageType, YSyncMessageType, write_var_uint
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from keepgreen.domain.pad import MAX_MESSAGE_BYTES
from tests.e2e.pad_support import basic, pad_client, socket_url, wait_same, wait_text
from tests.e2e.visibility_support import make_scene
from tests.support import GitUser, Server, kill_and_restart, run_async, start_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pad_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A server of its own: one test kills and restarts it."""
    server = start_server(tmp_path_factory.mktemp("pads") / "site")
    yield server
    server.stop()


def new_pad(server: Server, user: GitUser, **fields: object) -> dict[str, object]:
    with server.client(user.username, user.password) as c:
        r = c.post("/api/pads", json={"title": "Planning", **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


def pad_json(server: Server, user: GitUser | None, pad_id: object) -> httpx.Response:
    auth = (user.username, user.password) if user and user.username else (None, None)
    with server.client(*auth) as c:
        return c.get(f"/api/pads/{pad_id}")


def update_message(update: bytes) -> bytes:
    return (bytes([YMessageType.SYNC, YSyncMessageType.SYNC_UPDATE])
            + write_var_uint(len(update)) + update)


def test_two_writers_at_once_converge_and_the_text_survives_a_crash(
        pad_server: Server, make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(pad_server, "alice"), make_user(pad_server, "bob")
    pad = new_pad(pad_server, alice)

    async def edit() -> None:
        async with pad_client(pad_server, pad["id"], alice.username, alice.password) as (a, _), \
                pad_client(pad_server, pad["id"], bob.username, bob.password) as (b, _):
            for i in range(20):  # both type at the same time, interleaved
                a.insert(0, "A")
                b += f"b{i} "
                await asyncio.sleep(0)
            await wait_same(a, b)
            assert str(a).count("A") == 20 and "b19 " in str(a)

    run_async(edit())
    text = pad_json(pad_server, alice, pad["id"]).json()["text"]
    assert text.count("A") == 20 and text.count("b") == 20 and len(text) == 20 + 70

    kill_and_restart(pad_server)

    assert pad_json(pad_server, bob, pad["id"]).json()["text"] == text

    async def reopen() -> None:
        async with pad_client(pad_server, pad["id"], bob.username, bob.password) as (b, _):
            assert str(b) == text

    run_async(reopen())
    with pad_server.client(alice.username, alice.password) as c:
        history = c.get(f"/api/pads/{pad['id']}/history").json()
        exported = c.get(f"/api/pads/{pad['id']}/markdown")
    assert {h["author"] for h in history} == {alice.username, bob.username}
    assert sum(h["inserted"] for h in history) == len(text)
    assert exported.headers["content-type"].startswith("text/markdown")
    assert f'filename="pad-{pad["id"]}.md"' in exported.headers["content-disposition"]
    assert exported.text == text


def test_a_reader_sees_edits_live_but_cannot_write(pad_server: Server, make_user,
                                                  project_name: str) -> None:  # type: ignore[no-untyped-def]
    pad_server.create_project(project_name)
    alice = make_user(pad_server, "alice")
    pad = new_pad(pad_server, alice, project=project_name)
    assert pad["kind"] == "project"
    anonymous = pad_json(pad_server, None, pad["id"])
    assert anonymous.status_code == 200 and anonymous.json()["writable"] is False

    async def scene() -> None:
        async with pad_client(pad_server, pad["id"], alice.username, alice.password) as (a, _), \
                pad_client(pad_server, pad["id"]) as (reader, ws):
            a += "Agenda: "
            await wait_text(reader, "Agenda: ")
            reader += "vandalism"  # sent to the server, which drops it
            await asyncio.sleep(0.5)
            a += "item one"
            for _ in range(100):  # the reader's copy gets the edit (and keeps its own)
                if "item one" in str(reader):
                    break
                await asyncio.sleep(0.05)
            assert "item one" in str(reader)
            assert str(a) == "Agenda: item one"
            assert ws.close_code is None

    run_async(scene())
    assert pad_json(pad_server, alice, pad["id"]).json()["text"] == "Agenda: item one"


def test_a_private_change_pad_is_for_those_who_may_see_the_change(
        pad_server: Server, make_user, project_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scene = make_scene(pad_server, make_user, project_name, tmp_path)
    pad = new_pad(pad_server, scene.alice, change=scene.private)
    assert pad["kind"] == "change" and pad["project"] == project_name

    assert pad_json(pad_server, scene.carol, pad["id"]).status_code == 200  # a reviewer
    assert pad_json(pad_server, scene.bob, pad["id"]).status_code == 404
    assert pad_json(pad_server, None, pad["id"]).status_code == 404
    with pad_server.client(scene.bob.username, scene.bob.password) as c:
        listed = c.get("/api/pads", params={"change": str(scene.private)})
        assert listed.status_code == 200 and listed.json() == []
        assert c.get(f"/api/pads/{pad['id']}/markdown").status_code == 404
        refused = c.post("/api/pads", json={"title": "x", "change": scene.private})
        assert refused.status_code == 404

    async def try_socket(user: GitUser) -> None:
        async with pad_client(pad_server, pad["id"], user.username, user.password):
            pass

    with pytest.raises(InvalidStatus) as refused_socket:
        run_async(try_socket(scene.bob))
    assert refused_socket.value.response.status_code == 403
    run_async(try_socket(scene.carol))


def test_another_site_cannot_open_a_pad_with_the_visitors_credentials(
        pad_server: Server, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(pad_server, "alice")
    pad = new_pad(pad_server, alice)

    async def from_origin(origin: str) -> None:
        async with connect(socket_url(pad_server, int(pad["id"])), origin=origin,  # type: ignore[arg-type]
                           additional_headers=basic(alice.username, alice.password)):
            pass

    with pytest.raises(InvalidStatus) as refused:
        run_async(from_origin("http://evil.example"))
    assert refused.value.response.status_code == 403
    run_async(from_origin(pad_server.url.rstrip("/")))


def test_guessing_a_password_over_the_socket_is_refused_and_counted(
        pad_server: Server, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(pad_server, "alice")
    pad = new_pad(pad_server, alice)

    async def attempt(password: str) -> int:
        try:
            async with connect(socket_url(pad_server, int(pad["id"])),  # type: ignore[arg-type]
                               additional_headers=basic(alice.username, password)):
                return 101
        except InvalidStatus as refused:
            return int(refused.response.status_code)

    statuses = [run_async(attempt(f"wrong{i}")) for i in range(11)]
    assert statuses == [403] * 11
    # Past the limit even the right password is not checked, as for HTTP Basic elsewhere.
    assert run_async(attempt(alice.password)) == 403
    with pad_server.client(alice.username, alice.password) as c:
        assert c.get(f"/api/pads/{pad['id']}").status_code == 429


@pytest.mark.parametrize("message,code", [
    (b"\x00\x02\x05garbage", 1007),
    (update_message(b"\x00" * (MAX_MESSAGE_BYTES + 1)), 1009),
    ("text, not bytes", 1007),
])
def test_bad_messages_close_the_socket_and_leave_the_pad_as_it_was(
        pad_server: Server, make_user, message: bytes | str, code: int) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(pad_server, "alice")
    pad = new_pad(pad_server, alice)

    async def scene() -> int | None:
        async with pad_client(pad_server, pad["id"], alice.username, alice.password) as (a, _):
            a += "kept"
            await asyncio.sleep(0.3)
        async with connect(socket_url(pad_server, int(pad["id"])),  # type: ignore[arg-type]
                           additional_headers=basic(alice.username, alice.password)) as ws:
            await ws.recv()  # the server's sync step 1
            await ws.send(message)
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            return ws.close_code

    assert run_async(scene()) == code
    assert pad_json(pad_server, alice, pad["id"]).json()["text"] == "kept"


@pytest.mark.parametrize("method,path,body,status,says", [
    ("POST", "/api/pads", {"title": ""}, 400, "needs a title"),
    ("POST", "/api/pads", {"title": "t", "change": "12"}, 400, "change must be"),
    ("POST", "/api/pads", {"title": "t", "project": ["x"]}, 400, "project must be"),
    ("POST", "/api/pads", {"title": "t", "project": "no/such"}, 404, "not found"),
    ("POST", "/api/pads", {"title": "t", "change": 999999}, 404, "not found"),
    ("GET", "/api/pads/abc", None, 400, "must be a positive number"),
    ("GET", "/api/pads/99999", None, 404, "pad 99999 not found"),
    ("GET", "/api/pads/1/bogus", None, 404, "no API endpoint"),
    ("DELETE", "/api/pads/1", None, 405, "not allowed"),
    ("GET", "/api/pads?change=x", None, 400, "change must be a number"),
])
def test_bad_requests_get_one_clear_sentence(pad_server: Server, make_user, method: str,
                                             path: str, body: object, status: int,
                                             says: str) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(pad_server, "alice")
    with pad_server.client(alice.username, alice.password) as c:
        r = c.request(method, path, json=body)
    assert r.status_code == status, r.text
    assert says in r.text and "Traceback" not in r.text


def test_anonymous_callers_cannot_start_a_pad(pad_server: Server) -> None:
    with pad_server.client() as c:
        r = c.post("/api/pads", json={"title": "Mine"})
    assert r.status_code == 401
