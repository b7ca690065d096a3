"""Builds and their logs over HTTP: the native ``/api/builds`` API, the log server under
``/logs/``, and the live job output as server-sent events.

The server is the real application (``build_services`` + ``build_app`` on a site made by
``keepgreen.site.init``) with the build handlers mounted in front, served by uvicorn on a free
port. Changes are pushed with real git; build rows go into the site's store through
``keepgreen.store.builds`` and log files where the rows point, as the scheduler would.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from keepgreen import site as site_mod
from keepgreen.app import Services, build_app, build_services
from keepgreen.store import builds as build_store
from keepgreen.web import builds as builds_web
from keepgreen.web.builds import BuildsWeb
from tests.support import GitUser, Server, free_port, gerrit_json

ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex[:10]
T0 = datetime(2030, 1, 1, 12, 0, 0)


@dataclass
class Site:
    url: str
    services: Services
    public: str
    private: str
    public_change: int
    private_change: int
    root: Path

    def admin(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=("admin", ADMIN_PASSWORD), timeout=30)

    def anon(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def add_build(self, change: int, project: str, job: str, minutes: int,
                  result: str | None = None, log_dir: Path | None = None) -> str:
        build = uuid.uuid4().hex
        with self.services.db.write() as conn:
            build_store.add_build(conn, uuid=build, pipeline="check", project=project,
                                  change_number=change, patch_set=1, job=job, voting=True,
                                  started=T0 + timedelta(minutes=minutes))
            if result is not None:
                build_store.finish_build(conn, build, result, f"{job} said {result}",
                                         T0 + timedelta(minutes=minutes, seconds=90),
                                         str(log_dir) if log_dir else None)
        return build

    def finish(self, build: str, result: str, log_dir: Path | None) -> None:
        with self.services.db.write() as conn:
            build_store.finish_build(conn, build, result, "done", T0,
                                     str(log_dir) if log_dir else None)


def serve(services: Services, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    """The real app with the build handlers in front, as ``dispatch`` would route them."""
    inner = build_app(services)
    web = BuildsWeb(services)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and BuildsWeb.handles(scope["path"]):
            response = await web(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await inner(scope, receive, send)

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    return server, thread


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("buildlogs")
    port = free_port()
    settings, _ = site_mod.init(root / "site", "admin", ADMIN_PASSWORD,
                                listen=f"127.0.0.1:{port}",
                                environ={"KEEPGREEN_RUN_JOBS": "false"})
    services = build_services(settings)
    server, thread = serve(services, port)
    url = f"http://127.0.0.1:{port}/"
    tag = uuid.uuid4().hex[:6]
    public, private = f"org/pub{tag}", f"org/priv{tag}"
    numbers: dict[str, int] = {}
    try:
        # GitUser only needs the server's URL.
        user = GitUser(root / "home", cast(Server, _Url(url)), "admin", ADMIN_PASSWORD)
        with httpx.Client(base_url=url, auth=("admin", ADMIN_PASSWORD), timeout=30) as c:
            for name, anonymous in ((public, True), (private, False)):
                r = c.put(f"/a/projects/{quote(name, safe='')}",
                          json={"create_empty_commit": True, "anonymous_read": anonymous})
                assert r.status_code == 201, r.text
                repo = user.clone(name, root / name.replace("/", "_"), prefix="a/")
                user.commit(repo, "a.txt", "a\n", f"Change in {name}")
                pushed = user.push(repo)
                assert pushed.returncode == 0, pushed.stderr
                found = gerrit_json(c.get("/a/changes/", params={"q": f"project:{name}"}))
                numbers[name] = found[0]["_number"]
        yield Site(url, services, public, private, numbers[public], numbers[private], root)
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class _Url:
    url: str


def logs_folder(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / f"logs-{uuid.uuid4().hex[:8]}"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def assert_one_line(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.text.strip() and "\n" not in r.text.strip(), r.text


def test_list_filter_and_show(site: Site) -> None:
    job = f"unit-{uuid.uuid4().hex[:6]}"
    logs = logs_folder(site.root, {"job-output.txt": b"ok\n"})
    old = site.add_build(site.public_change, site.public, job, 1, "SUCCESS", logs)
    new = site.add_build(site.public_change, site.public, job, 2, "FAILURE", logs)
    hidden = site.add_build(site.private_change, site.private, job, 3, "SUCCESS", logs)
    with site.admin() as c:
        r = c.get("/api/builds", params={"job": job})
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/json")
        assert not r.text.startswith(")]}'")
        listed = r.json()
        assert [b["uuid"] for b in listed] == [hidden, new, old]  # newest first
        first = c.get(f"/api/builds/{new}").json()
        assert c.get("/api/builds", params={"job": job, "limit": 1}).json() == [listed[0]]
        assert [b["uuid"] for b in c.get("/api/builds", params={
            "job": job, "result": "success"}).json()] == [hidden, old]
        assert [b["uuid"] for b in c.get("/api/builds", params={
            "job": job, "project": site.public}).json()] == [new, old]
        assert [b["uuid"] for b in c.get("/api/builds", params={
            "job": job, "change": site.private_change}).json()] == [hidden]
        assert_one_line(c.get("/api/builds", params={"limit": "many"}), 400)
    # One build by uuid says what the list says, and also whether its node is held.
    assert first.pop("held") is None
    assert first == listed[1]
    assert first["pipeline"] == "check" and first["project"] == site.public
    assert first["change"] == site.public_change and first["patchset"] == 1
    assert first["result"] == "FAILURE" and first["reason"] == f"{job} said FAILURE"
    assert first["start_time"] == "2030-01-01T12:02:00Z"
    assert first["end_time"] == "2030-01-01T12:03:30Z" and first["duration"] == 90
    assert first["log_url"] == f"{site.url}logs/{new}/"

    with site.anon() as c:
        # Anonymous callers see public builds only; the others answer like unknown ones.
        assert [b["uuid"] for b in c.get("/api/builds", params={"job": job}).json()] == [
            new, old]
        denied = c.get(f"/api/builds/{hidden}")
        assert_one_line(denied, 404)
        assert "www-authenticate" not in denied.headers
        assert_one_line(c.get(f"/logs/{hidden}/job-output.txt"), 404)
        assert_one_line(c.get(f"/api/builds/{hidden}/log"), 404)
        assert_one_line(c.get("/api/builds", params={"change": site.private_change}), 404)
        assert c.get(f"/api/builds/{new}").status_code == 200
        assert_one_line(c.get("/api/builds/" + "0" * 32), 404)
        assert_one_line(c.get("/logs/" + "0" * 32 + "/"), 404)
    with httpx.Client(base_url=site.url, auth=("admin", "wrong"), timeout=30) as c:
        assert_one_line(c.get(f"/api/builds/{new}"), 401)


def test_log_listing_and_files(site: Site) -> None:
    logs = logs_folder(site.root, {"job-output.txt": b"line 1\n<b>not html</b>\n",
                                   "zuul-info/inventory.yaml": b"all: {}\n"})
    secret = site.root / "outside-secret.txt"
    secret.write_text("top secret\n")
    (logs / "escape.txt").symlink_to(secret)
    (logs / "inside.txt").symlink_to(logs / "job-output.txt")
    build = site.add_build(site.public_change, site.public, "logs", 10, "SUCCESS", logs)
    with site.anon() as c:
        page = c.get(f"/logs/{build}/")
        assert page.status_code == 200 and page.headers["content-type"].startswith(
            "text/html")
        assert 'href="job-output.txt"' in page.text and "zuul-info/inventory.yaml" in page.text
        assert "escape.txt" not in page.text
        listed = c.get(f"/logs/{build}/", headers={"Accept": "application/json"}).json()
        assert {f["name"]: f["size"] for f in listed["files"]} == {
            "inside.txt": 23, "job-output.txt": 23, "zuul-info/inventory.yaml": 8}
        # Without the slash, the folder redirects to its listing.
        assert c.get(f"/logs/{build}", follow_redirects=True).status_code == 200
        served = c.get(f"/logs/{build}/job-output.txt")
        assert served.status_code == 200 and served.text == "line 1\n<b>not html</b>\n"
        assert served.headers["content-type"].startswith("text/plain")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert c.get(f"/logs/{build}/zuul-info/inventory.yaml").text == "all: {}\n"
        assert c.get(f"/logs/{build}/inside.txt").text.startswith("line 1")
        for bad in ("escape.txt", "%2e%2e/outside-secret.txt", "zuul-info/..%2f..%2fx",
                    "%2Fetc%2Fpasswd", "/etc/passwd", "nope.txt", "zuul-info"):
            r = c.get(f"/logs/{build}/{bad}", follow_redirects=False)
            assert r.status_code in (301, 404), (bad, r.status_code)
            assert "secret" not in r.text and "root:" not in r.text
            if bad != "zuul-info":
                assert_one_line(r, 404)
    # A literal ".." as a client that does not normalise paths sends it.
    conn = http.client.HTTPConnection(site.url.split("//")[1].rstrip("/"), timeout=10)
    conn.request("GET", f"/logs/{build}/../../outside-secret.txt")
    raw = conn.getresponse()
    assert raw.status == 404 and b"secret" not in raw.read()
    conn.close()


def test_large_log_is_truncated(site: Site) -> None:
    size = builds_web.MAX_LOG_BYTES + 4096
    logs = logs_folder(site.root, {"big.txt": b"x" * 1023 + b"\n"})
    (logs / "big.txt").write_bytes((b"x" * 1023 + b"\n") * (size // 1024))
    build = site.add_build(site.public_change, site.public, "big", 11, "SUCCESS", logs)
    with site.anon() as c:
        r = c.get(f"/logs/{build}/big.txt")
    assert r.status_code == 200
    body = r.content
    assert body.startswith(b"x" * 1023 + b"\n")
    tail = (f"[keepgreen: log truncated: showing the first {builds_web.MAX_LOG_BYTES} "
            f"of {size} bytes]")
    assert body.endswith(("\n" + tail + "\n").encode())
    assert len(body) == builds_web.MAX_LOG_BYTES + len(tail) + 2


class Follower:
    """Reads an event stream in a thread and hands over each complete event."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status: int | None = None
        self.content_type = ""
        self.thread = threading.Thread(target=self._run, args=(url, headers or {}),
                                       daemon=True)
        self.thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        with httpx.Client(timeout=30) as c, c.stream("GET", url, headers=headers) as r:
            self.status, self.content_type = r.status_code, r.headers["content-type"]
            event: dict[str, Any] = {"data": []}
            for line in r.iter_lines():
                if line == "":
                    if event.keys() != {"data"} or event["data"]:
                        self.events.put(event)
                    event = {"data": []}
                elif line.startswith("data: "):
                    event["data"].append(line[6:])
                elif not line.startswith(":"):
                    key, _, value = line.partition(": ")
                    event[key] = value

    def next(self, timeout: float = 5) -> dict[str, Any]:
        return self.events.get(timeout=timeout)


def test_live_stream_follows_growing_output(site: Site) -> None:
    build = site.add_build(site.public_change, site.public, "live", 20)
    # A running build has no log_dir yet; the executor writes into its newest attempt.
    logs = site.services.settings.site / "builds" / build / "1" / "work" / "logs"
    logs.mkdir(parents=True)
    output = logs / "job-output.txt"
    output.write_text("line 1\nline 2\n")
    stream_url = f"{site.url}api/builds/{build}/log"
    with site.anon() as c:
        assert c.get(f"/api/builds/{build}").json()["result"] is None
    with site.anon() as c:
        head = c.head(f"/api/builds/{build}/log")
        assert head.status_code == 200 and head.headers["content-type"].startswith(
            "text/event-stream")
    follower = Follower(stream_url)
    assert follower.next() == {"retry": "1000", "data": []}
    assert follower.status == 200 and follower.content_type.startswith("text/event-stream")
    assert [follower.next() for _ in range(2)] == [
        {"id": "1", "data": ["line 1"]}, {"id": "2", "data": ["line 2"]}]

    with output.open("a") as fh:
        started = time.monotonic()
        fh.write("line 3\nhalf of ")
        fh.flush()
        assert follower.next() == {"id": "3", "data": ["line 3"]}
        assert time.monotonic() - started < 1.5  # a follower sees lines within a second
        with pytest.raises(queue.Empty):
            follower.next(timeout=0.6)  # the half-written line waits for its end
        fh.write("line 4\nline 5\n")
    assert follower.next() == {"id": "4", "data": ["half of line 4"]}
    assert follower.next() == {"id": "5", "data": ["line 5"]}

    # A client that dropped after line 2 resumes with line 3.
    resumed = Follower(stream_url, {"Last-Event-ID": "2"})
    assert resumed.next()["retry"] == "1000"
    assert [resumed.next()["id"] for _ in range(3)] == ["3", "4", "5"]

    with output.open("a") as fh:
        fh.write("last words")
    site.finish(build, "SUCCESS", logs)
    for f in (follower, resumed):
        assert f.next() == {"id": "6", "data": ["last words"]}
        end = f.next()
        assert end["event"] == "end" and json.loads(end["data"][0])["result"] == "SUCCESS"
        f.thread.join(5)
        assert not f.thread.is_alive()  # the server closed the stream

    # Reconnecting after the end gets only what follows the given line, then the end.
    late = Follower(stream_url, {"Last-Event-ID": "5"})
    assert late.next()["retry"] == "1000"
    assert late.next() == {"id": "6", "data": ["last words"]}
    assert late.next()["event"] == "end"
    with site.anon() as c:
        assert c.get(f"/logs/{build}/job-output.txt").text.endswith("line 5\nlast words")
