"""Executors in processes of their own, on one PostgreSQL database: the server runs no builds
itself (``local_executor = false``); two ``keepgreen executor`` processes take them. One is
killed with ``kill -9`` in the middle of a gate build: the other runs the build again as its
next attempt, the change merges once, and the dead executor's node goes back to the pool.

Same needs as the gate test (root, local nodes, ansible) plus PostgreSQL; skipped with the
reason elsewhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.store import build_queue
from keepgreen.store import nodes as node_store
from keepgreen.store.db import Database
from tests.conftest import drop_postgres_database, make_postgres_database
from tests.e2e.pipeline_support import (
    approve,
    branch_tip_contains,
    make_core,
    missing_build_tools,
    new_change,
    only_change,
    status,
    wait_checked,
    wait_for,
)
from tests.e2e.test_gate_pipeline import land_config
from tests.support import KEEPGREEN, Server, start_server

SLOW = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Integration tests take a while
      command: sleep 15
"""
LEASE = "6"


class Executors:
    def __init__(self, site: Path) -> None:
        self.site = site
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
        env["KEEPGREEN_EXECUTOR_LEASE_SECONDS"] = LEASE
        log = open(self.site / "logs" / f"{name}.log", "ab")  # noqa: SIM115 - the child's
        self.processes[name] = subprocess.Popen(
            [*KEEPGREEN, "executor", str(self.site), "--name", name, "--capacity", "2"],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}"
                         for p in sorted((self.site / "logs").glob("exec-*.log")))


@pytest.fixture
def farm(tmp_path_factory: pytest.TempPathFactory,
         postgres_admin_url: str) -> Iterator[tuple[Server, Executors]]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the executor test must run under CI: {problem}")
        pytest.skip(problem)
    url, name = make_postgres_database(postgres_admin_url)
    site = tmp_path_factory.mktemp("site") / "site"
    server = start_server(site, url, extra_env={"KEEPGREEN_LOCAL_EXECUTOR": "false",
                                                "KEEPGREEN_EXECUTOR_LEASE_SECONDS": LEASE})
    executors = Executors(site)
    executors.start("exec-a")
    executors.start("exec-b")
    yield server, executors
    executors.stop()
    server.stop()
    drop_postgres_database(postgres_admin_url, name)


def _db(server: Server) -> Database:
    return Database(settings_mod.load(server.site).database_url)


def _running(server: Server, job: str) -> list[build_queue.QueuedBuild]:
    db = _db(server)
    try:
        with db.read() as conn:
            uuids = [r.uuid for r in conn.execute(build_queue.build_requests.select())]
            found = [build_queue.get(conn, u) for u in uuids]
    finally:
        db.dispose()
    return [b for b in found if b is not None and b.job == job
            and b.state == build_queue.RUNNING and b.nodes]


def _nodes_in_use(server: Server) -> list[str]:
    db = _db(server)
    try:
        with db.read() as conn:
            return [s.node.id for s in node_store.all_nodes(conn)
                    if s.node.state.value == "in-use"]
    finally:
        db.dispose()


def test_a_build_of_a_killed_executor_runs_again_on_the_other_and_merges_once(
        farm: tuple[Server, Executors], make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    server, executors = farm
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    land_config(server, project_name, owner, core1, core2, repo)  # built by the two executors

    listed = subprocess.run([*KEEPGREEN, "executor", str(server.site), "--list"],
                            capture_output=True, text=True, check=True).stdout
    assert "exec-a  running" in listed and "exec-b  running" in listed, listed

    new_change(owner, repo, {"a.txt": "a\n", "playbooks/integration.yaml": SLOW}, "Change A")
    a = only_change(server, project_name, "Change A")
    wait_checked(server, a)
    approve(server, a, core1, core2)
    (build,) = wait_for("A's gate job to run on an executor",
                        lambda: _running(server, "integration"), server)
    time.sleep(2)  # well into the playbook
    assert build.owner in ("exec-a", "exec-b") and build.attempt == 1
    executors.kill(str(build.owner))

    wait_for("A to merge on the other executor", lambda: status(server, a) == "MERGED",
             server, timeout=180)
    assert branch_tip_contains(server, owner, repo, a)
    owner.git("fetch", "-q", "origin", "main", cwd=repo)
    subjects = owner.git("log", "--format=%s", "FETCH_HEAD", cwd=repo).stdout.splitlines()
    assert subjects.count("Change A") == 1, subjects  # merged once
    # The build went on as its second attempt, in the folder of that attempt.
    assert (server.site / "builds" / build.uuid / "2").is_dir(), executors.logs()
    with server.client() as c:
        record = c.get(f"/api/builds/{build.uuid}").json()
    assert record["result"] == "SUCCESS", record
    # The dead executor's node was given back and deleted, not left in use forever.
    wait_for("the dead executor's node to be freed",
             lambda: build.nodes[0] not in _nodes_in_use(server), server, timeout=60)


def test_operators_pause_and_drain_executors_by_name(
        farm: tuple[Server, Executors]) -> None:
    server, executors = farm
    site = str(server.site)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KEEPGREEN, "executor", site, *args], capture_output=True,
                              text=True, timeout=60)

    wait_for("both executors to register",
             lambda: "exec-b" in run("--list").stdout and "exec-a" in run("--list").stdout,
             server, timeout=30)
    paused = run("--pause", "--name", "exec-a")
    assert paused.returncode == 0 and "pause: 1 executor(s)" in paused.stdout
    wait_for("exec-a to show paused", lambda: "exec-a  paused" in run("--list").stdout,
             server, timeout=30)
    missing = run("--pause", "--name", "nobody")
    assert missing.returncode == 1
    assert "no executor is called 'nobody'" in missing.stderr and "Traceback" not in missing.stderr
    drained = run("--graceful", "--name", "exec-b")
    assert drained.returncode == 0
    process = executors.processes["exec-b"]
    process.wait(30)  # it had no builds: it stops at once
    assert process.returncode == 0
    elsewhere = subprocess.run([*KEEPGREEN, "executor", str(server.site.parent / "nothing"),
                                "--list"], capture_output=True, text=True, timeout=60)
    assert elsewhere.returncode == 1 and "is not a keepgreen site" in elsewhere.stderr
