"""The node pool in the real server: builds are served by min-ready nodes booted before the
change was pushed, autohold keeps a failing build's node reachable with the printed ssh
command until it expires, and after ``kill -9`` and a restart nothing of ours is left."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from keepgreen import settings as settings_mod
from keepgreen.nodes import network
from keepgreen.store import builds as build_store
from keepgreen.store import nodes as node_store
from keepgreen.store.db import Database
from tests.e2e.pipeline_support import (
    PLAYBOOK,
    change_info,
    ci_messages,
    missing_build_tools,
    only_change,
    push_change,
    wait_for,
)
from tests.support import KEEPGREEN, Server, start_server

JOB_CONFIG = """\
- job:
    name: probe
    run: playbooks/probe.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs:
        - probe
"""


@pytest.fixture(scope="module")
def pool_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the node pool must be tested under CI: {problem}")
        pytest.skip(problem)
    server = start_server(tmp_path_factory.mktemp("site") / "site",
                          extra_env={"KEEPGREEN_NODES_MIN_READY": "1"})
    yield server
    server.stop()


def stored_nodes(server: Server) -> list[node_store.StoredNode]:
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            return node_store.all_nodes(conn)
    finally:
        db.dispose()


def ready_spare(server: Server) -> str | None:
    return next((s.node.id for s in stored_nodes(server)
                 if s.node.state.value == "ready" and s.request_id is None), None)


def keepgreen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEPGREEN, *args], capture_output=True, text=True, timeout=60,
                          check=False)


def build_json(server: Server, number: int) -> Any:
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            build = build_store.builds_of(conn, number)[-1]
    finally:
        db.dispose()
    with server.client() as c:
        return c.get(f"/api/builds/{build.uuid}").json()


def ours(site: Path) -> tuple[list[str], list[str]]:
    """Network namespaces and processes of this site's local nodes."""
    tag = hashlib.sha256(str((site / "nodes").absolute()).encode()).hexdigest()[:6]
    marker = str((site / "nodes").absolute()) + "/"
    processes = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline:
                processes.append(pid)
    return network.listed(tag), processes


def test_min_ready_node_serves_the_build_and_autohold_keeps_it(
        pool_server: Server, make_user, project_name, tmp_path: Path) -> None:
    server = pool_server
    spare = wait_for("a min-ready node", lambda: ready_spare(server), server, timeout=60)
    # /metrics tells how long that boot took and how many nodes the provider may hold.
    with server.admin_client() as c:
        found = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
    boots = {s.name: s.value for s in found["keepgreen_node_boot_seconds"].samples
             if s.labels.get("provider") == "local"}
    assert boots["keepgreen_node_boot_seconds_count"] >= 1
    assert 0 < boots["keepgreen_node_boot_seconds_sum"] < 120
    capacity = {s.labels["provider"]: s.value for s in found["keepgreen_node_capacity"].samples}
    assert capacity["local"] >= 1
    server.create_project(project_name)
    held = keepgreen("autohold", str(server.site), "--project", project_name, "--job", "probe",
                     "--count", "1", "--expires", "40s", "--reason", "look at it")
    assert held.returncode == 0, held.stderr
    assert "autohold 1:" in held.stdout

    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    push_change(alice, repo, {".zuul.yaml": JOB_CONFIG,
                              "playbooks/probe.yaml": PLAYBOOK.format(command="false")},
                "Add a failing probe job")
    number = only_change(server, project_name, "Add a failing probe job")
    info = wait_for("the check report", lambda: (i := change_info(server, number))
                    and ci_messages(i, 1) and i, server, timeout=120)
    assert "probe FAILURE" in "\n".join(ci_messages(info, 1))

    build = build_json(server, number)
    assert build["result"] == "FAILURE"
    with server.client() as c:
        log = c.get(build["log_url"] + "job-output.txt").text
    # The node booted before the push served the build.
    assert f"node node: {spare} (local, local)" in log, log
    assert build["held"] is not None, build
    command = build["held"]["ssh"]
    assert spare in command
    listing = keepgreen("autohold-list", str(server.site))
    assert command in listing.stdout, listing.stdout
    assert "1 of 1 held" in listing.stdout

    reached = subprocess.run(command + " hostname", shell=True, capture_output=True,
                             text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert reached.stdout.strip() == f"node-{spare}", reached.stderr

    # The hold expires and the launcher deletes the node.
    wait_for("the held node to be deleted",
             lambda: spare not in {s.node.id for s in stored_nodes(server)}, server,
             timeout=90)
    assert build_json(server, number)["held"] is None
    gone = subprocess.run(command + " hostname", shell=True, capture_output=True,
                          text=True, timeout=30, check=False, stdin=subprocess.DEVNULL)
    assert gone.returncode != 0


def test_nothing_is_left_after_kill_9_and_a_restart(pool_server: Server) -> None:
    server = pool_server
    wait_for("a min-ready node", lambda: ready_spare(server), server, timeout=60)
    assert ours(server.site) != ([], [])
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()

    log = open(server.log_path, "ab")  # noqa: SIM115 - owned by the process
    server.process = subprocess.Popen([*KEEPGREEN, "serve", str(server.site)], stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True,
                                      env={k: v for k, v in os.environ.items()
                                           if not k.startswith("KEEPGREEN_")})
    # Restarted without min-ready: the old process's nodes are cleaned up, none is booted.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (ours(server.site) != ([], []) or stored_nodes(server)):
        time.sleep(0.5)
    assert ours(server.site) == ([], []), server.log()[-3000:]
    assert stored_nodes(server) == []
    server.stop()
    assert ours(server.site) == ([], [])
