"""The build page in a real browser: facts, the live log following a running build (also
across a dropped connection), log files, artifacts, a held node's ssh command, and the same
visibility as ``/api/builds``.

Most tests record builds straight into the site's store and write their logs where the
executor would, so the page can be watched line by line; the last one runs a real job on a
local node whose playbook prints lines with pauses.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from keepgreen import settings as settings_mod
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from keepgreen.store.schema import node_holds
from tests.e2e.browser.conftest import SCREENSHOTS, sign_in
from tests.e2e.pipeline_support import (
    new_change,
    only_change,
    pipeline_server,
    wait_for,
)
from tests.support import GitUser, Server

NOW = datetime.utcnow().replace(microsecond=0)


def store(server: Server) -> Database:
    return Database(settings_mod.load(server.site).database_url)


def record_build(server: Server, change: int, project: str, job: str = "unit",
                 result: str | None = None) -> tuple[str, Path]:
    """A build row as the scheduler writes it, and its attempt folder (as the executor
    lays it out: <site>/builds/<uuid>/1/{work/logs,ansible})."""
    build = uuid.uuid4().hex
    attempt = server.site / "builds" / build / "1"
    (attempt / "work" / "logs").mkdir(parents=True)
    (attempt / "ansible").mkdir()
    db = store(server)
    try:
        with db.write() as conn:
            build_store.add_build(conn, uuid=build, pipeline="check", project=project,
                                  change_number=change, patch_set=1, job=job, voting=True,
                                  started=NOW - timedelta(minutes=2))
            if result is not None:
                build_store.finish_build(conn, build, result, f"{job} ended {result}", NOW,
                                         str(attempt / "work" / "logs"))
    finally:
        db.dispose()
    return build, attempt


def finish(server: Server, build: str, attempt: Path, result: str) -> None:
    db = store(server)
    try:
        with db.write() as conn:
            build_store.finish_build(conn, build, result, "all tasks ran", NOW,
                                     str(attempt / "work" / "logs"))
    finally:
        db.dispose()


def append(attempt: Path, *lines: str) -> None:
    with open(attempt / "work" / "logs" / "job-output.txt", "a") as out:
        out.write("".join(line + "\n" for line in lines))


@pytest.fixture
def pushed(sqlite_server: Server, make_user, tmp_path: Path) -> tuple[str, int, GitUser]:
    owner = make_user(sqlite_server, "owner")
    project = f"org/b{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    repo = owner.clone(project, tmp_path / "work")
    new_change(owner, repo, {"a.txt": "a\n"}, "Add a")
    return project, only_change(sqlite_server, project, "Add a"), owner


class Proxy:
    """A TCP relay in front of the server whose connections can all be cut at once: a
    network drop as the browser sees it, with the server still running."""

    def __init__(self, server: Server) -> None:
        self.target = int(server.url.rstrip("/").rsplit(":", 1)[1])
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self) -> None:
        with self.lock:
            cut, self.open = self.open, []
        for conn in cut:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self.listener.close()
        self.drop()


def log_lines(page: Page) -> list[str]:
    return [line for line in page.locator("#log").inner_text().split("\n") if line]


def test_finished_build_shows_facts_files_and_artifacts(
        sqlite_server: Server, pushed: tuple[str, int, GitUser], page: Page) -> None:
    project, number, _ = pushed
    build, attempt = record_build(sqlite_server, number, project, "unit", "FAILURE")
    append(attempt, "TASK [run tests]", "FAILED: 2 tests")
    (attempt / "work" / "logs" / "tox").mkdir()
    (attempt / "work" / "logs" / "tox" / "py3.log").write_text("py3 run\n")
    (attempt / "work" / "results.json").write_text(json.dumps({"data": {"zuul": {"artifacts": [
        {"name": "Docs preview", "url": "docs/"},
        {"name": "bad", "url": "javascript://%0aalert(1)"}]}}}))
    (attempt / "ansible" / "inventory.yaml").write_text(json.dumps({"all": {"hosts": {
        "node": {"nodepool": {"label": "local", "provider": "local", "host_id": "n1"}}}}}))

    page.goto(sqlite_server.url + f"build/{build}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("unit")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text(f"{number},1")
    expect(facts).to_contain_text(project)
    expect(facts).to_contain_text("check")
    expect(facts).to_contain_text("node (local on local)")
    expect(facts).to_contain_text("FAILURE: unit ended FAILURE")
    # The finished log is shown whole, and the stream says how it ended.
    expect(page.locator("#log")).to_contain_text("FAILED: 2 tests")
    expect(page.locator("#log-state")).to_have_text("Finished: FAILURE.")
    expect(page.get_by_role("link", name="tox/py3.log")).to_have_attribute(
        "href", f"/logs/{build}/tox/py3.log")
    expect(page.get_by_role("link", name="Docs preview")).to_have_attribute(
        "href", f"{sqlite_server.url}logs/{build}/docs/")
    expect(page.get_by_role("link", name="bad")).to_have_count(0)
    page.get_by_role("link", name="tox/py3.log").click()
    expect(page.locator("body")).to_have_text("py3 run")


def test_live_log_follows_and_survives_a_dropped_connection(
        sqlite_server: Server, pushed: tuple[str, int, GitUser], page: Page) -> None:
    project, number, _ = pushed
    build, attempt = record_build(sqlite_server, number, project, "slow")
    append(attempt, "line 1", "line 2")
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/log" in r.url else None)

    proxy = Proxy(sqlite_server)
    try:
        page.goto(proxy.url + f"build/{build}")
        expect(page.locator("#build-result")).to_have_text("RUNNING")
        expect(page.locator("#log")).to_contain_text("line 2")
        append(attempt, "line 3")
        expect(page.locator("#log")).to_contain_text("line 3")

        # The connection drops while the job writes on; the page connects again and carries
        # on from the last line it had, without repeating any.
        proxy.drop()
        append(attempt, "line 4", "line 5")
        expect(page.locator("#log")).to_contain_text("line 5", timeout=30_000)
        append(attempt, "line 6")
        expect(page.locator("#log")).to_contain_text("line 6")
    finally:
        proxy.close()
    assert len(streams) >= 2, streams
    finish(sqlite_server, build, attempt, "SUCCESS")
    expect(page.locator("#log-state")).to_have_text("Finished: SUCCESS.")
    expect(page.locator("#build-result")).to_have_text("SUCCESS")
    assert log_lines(page) == [f"line {n}" for n in range(1, 7)]


def test_held_node_shows_its_ssh_command(
        sqlite_server: Server, pushed: tuple[str, int, GitUser], page: Page) -> None:
    project, number, _ = pushed
    build, attempt = record_build(sqlite_server, number, project, "held", "FAILURE")
    db = store(sqlite_server)
    try:
        with db.write() as conn:
            conn.execute(node_holds.insert().values(
                node_id=f"node-{build[:8]}", build_uuid=build, autohold_id=None,
                ssh="ssh -i /srv/keepgreen/key root@10.0.0.9", created=NOW,
                expires=NOW + timedelta(hours=2)))
    finally:
        db.dispose()
    answer = httpx.get(sqlite_server.url + f"api/builds/{build}").json()
    if "held" not in answer:
        pytest.skip("/api/builds/{uuid} does not report held nodes yet")
    page.goto(sqlite_server.url + f"build/{build}")
    expect(page.get_by_role("heading", name="Held node")).to_be_visible()
    expect(page.locator("pre.ssh")).to_have_text("ssh -i /srv/keepgreen/key root@10.0.0.9")


def test_build_of_a_private_change_is_visible_only_to_who_may_see_it(
        sqlite_server: Server, make_user, tmp_path: Path, page: Page) -> None:
    owner, other = make_user(sqlite_server, "owner"), make_user(sqlite_server, "other")
    project = f"org/b{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    repo = owner.clone(project, tmp_path / "work")
    new_change(owner, repo, {"p.txt": "p\n"}, "Private work")
    number = only_change(sqlite_server, project, "Private work")
    with sqlite_server.client(owner.username, owner.password) as c:
        assert c.post(f"/a/changes/{number}/private", json={}).status_code in (200, 201)
    build, attempt = record_build(sqlite_server, number, project, "unit", "SUCCESS")
    append(attempt, "secret output")

    # Signed out, it is not there at all: the same 404 as a build that does not exist.
    assert httpx.get(sqlite_server.url + f"build/{build}").status_code == 404
    assert httpx.get(sqlite_server.url + f"build/{build}/log").status_code == 404
    sign_in(page, sqlite_server, other)
    assert page.goto(sqlite_server.url + f"build/{build}").status == 404
    expect(page.get_by_role("alert")).to_have_text(f"build {build} not found")
    # Log files follow the session too: another user's browser gets "not found".
    assert page.goto(sqlite_server.url + f"logs/{build}/").status == 404
    page.context.clear_cookies()
    sign_in(page, sqlite_server, owner)
    page.goto(sqlite_server.url + f"build/{build}")
    expect(page.locator("#log")).to_contain_text("secret output")
    listing = page.goto(sqlite_server.url + f"logs/{build}/")
    assert listing is not None and listing.status == 200
    expect(page.get_by_role("link", name="job-output.txt")).to_be_visible()


def test_build_of_a_branch_update_has_no_change_and_shows_its_project(
        sqlite_server: Server, page: Page) -> None:
    project = f"org/b{uuid.uuid4().hex[:8]}"
    sqlite_server.create_project(project)
    # Post and periodic builds test a branch, not a change: they are stored with change 0.
    build, attempt = record_build(sqlite_server, 0, project, "publish", "SUCCESS")
    append(attempt, "published")
    page.goto(sqlite_server.url + f"build/{build}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("a branch update or timer: no change")
    expect(facts).to_contain_text(project)
    expect(page.locator("#log")).to_contain_text("published")


# -- a real job -------------------------------------------------------------------------

SLOW_JOB = """\
- job:
    name: counter
    run: playbooks/count.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs:
        - counter
"""
COUNT_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Count slowly
      shell: "echo counting {{ item }}; sleep 2"
      loop: [1, 2, 3, 4, 5, 6]
"""


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "check")


def test_live_log_of_a_real_running_job(job_server: Server, make_user, tmp_path: Path,
                                        page: Page) -> None:
    owner = make_user(job_server, "owner")
    project = f"org/b{uuid.uuid4().hex[:8]}"
    job_server.create_project(project)
    repo = owner.clone(project, tmp_path / "work")
    new_change(owner, repo, {".zuul.yaml": SLOW_JOB, "playbooks/count.yaml": COUNT_PLAYBOOK},
               "Count slowly")
    number = only_change(job_server, project, "Count slowly")

    def running() -> str | None:
        found = httpx.get(job_server.url + "api/builds",
                          params={"change": number, "job": "counter"}).json()
        return found[0]["uuid"] if found and found[0]["result"] is None else None

    build = wait_for("the counter build to start", running, job_server, timeout=120)
    page.goto(job_server.url + f"build/{build}")
    # Ansible reports each loop item as it finishes: "changed: [node] => (item=1)".
    expect(page.locator("#log")).to_contain_text("item=1)", timeout=60_000)
    seen = len(log_lines(page))
    expect(page.locator("#build-result")).to_have_text("RUNNING")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "build-page.png"), full_page=True)
    # New lines arrive while the page stays as it is.
    expect(page.locator("#log")).to_contain_text("item=4)", timeout=60_000)
    assert len(log_lines(page)) > seen
    expect(page.locator("#build-result")).to_have_text("SUCCESS", timeout=120_000)
    lines = log_lines(page)
    for n in range(1, 7):
        assert sum(f"(item={n})" in line for line in lines) == 1, lines
