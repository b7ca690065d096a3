"""Two ``keepgreen serve`` processes on one site and one PostgreSQL database: the first leads
(scheduler, launcher), the second stands by serving web and git. ``kill -9`` of the leader
while a change is in the gate: the standby takes the lead within seconds and the change is
tested again and merges, once.

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

import httpx
import pytest

from keepgreen.git.repos import Repos
from tests.conftest import drop_postgres_database, make_postgres_database
from tests.e2e.pipeline_support import (
    approve,
    make_core,
    missing_build_tools,
    new_change,
    only_change,
    status,
    wait_checked,
    wait_for,
)
from tests.e2e.test_gate_pipeline import land_config
from tests.e2e.test_gate_restart import SLOW, gate_builds
from tests.support import KEEPGREEN, Server, free_ports, start_server


def _standby(leader: Server) -> Server:
    port, ssh_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    env["KEEPGREEN_SSH_LISTEN"] = f"127.0.0.1:{ssh_port}"
    log_path = leader.site / "logs" / "standby.log"
    log = open(log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
    process = subprocess.Popen([*KEEPGREEN, "serve", str(leader.site), "--listen",
                                f"127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT,
                               env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            if httpx.get(url + "config/server/version", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return Server(leader.site, url, leader.admin, leader.admin_password, process, log_path,
                  ssh_port)


@pytest.fixture
def pair(tmp_path_factory: pytest.TempPathFactory,
         postgres_admin_url: str) -> Iterator[tuple[Server, Server]]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the standby test must run under CI: {problem}")
        pytest.skip(problem)
    url, name = make_postgres_database(postgres_admin_url)
    leader = start_server(tmp_path_factory.mktemp("site") / "site", url)
    standby = _standby(leader)
    yield leader, standby
    for server in (standby, leader):
        if server.process.poll() is None:
            server.stop()
    drop_postgres_database(postgres_admin_url, name)


def test_the_standby_takes_over_the_gate_when_the_leader_is_killed(
        pair: tuple[Server, Server], make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    leader, standby = pair
    assert "standing by" in standby.log() and "standing by" not in leader.log()
    owner, core1, core2 = (make_user(leader, n) for n in ("owner", "core1", "core2"))
    leader.create_project(project_name)
    make_core(leader, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    land_config(leader, project_name, owner, core1, core2, repo)

    new_change(owner, repo, {"a.txt": "a\n", "playbooks/integration.yaml": SLOW}, "Change A")
    a = only_change(leader, project_name, "Change A")
    wait_checked(leader, a)
    approve(leader, a, core1, core2)
    wait_for("A's gate job to run", lambda: [
        b for b in gate_builds(leader, a) if b["job"] == "integration" and b["result"] is None],
        leader)

    os.killpg(leader.process.pid, signal.SIGKILL)
    leader.process.wait()
    killed = time.monotonic()
    wait_for("the standby to lead", lambda: "took over the site's scheduler" in standby.log(),
             standby, timeout=30)
    assert time.monotonic() - killed < 15  # within seconds

    wait_for("A to merge under the new leader", lambda: status(standby, a) == "MERGED",
             standby, timeout=240)
    subjects = Repos(standby.site / "git").run(project_name, "log", "--format=%s",
                                               "refs/heads/main").splitlines()
    assert subjects.count("Change A") == 1, subjects
    results = sorted(b["result"] for b in gate_builds(standby, a) if b["job"] == "integration")
    assert results[-1] == "SUCCESS" and "ABORTED" in results, results
