"""The gate across a crash of the server: an approved change whose gate job is running when
the server is killed (``kill -9``) is tested again after the restart and merges; the build
that was cut off shows ABORTED instead of running forever.

Same needs as the gate test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keepgreen import settings as settings_mod
from keepgreen.store import pipeline_items as item_store
from keepgreen.store.db import Database
from tests.e2e.pipeline_support import (
    approve,
    branch_tip_contains,
    change_info,
    ci_verified,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.e2e.test_gate_pipeline import land_config
from tests.support import Server, kill_and_restart

SLOW = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Integration tests take a while
      command: sleep 12
"""


@pytest.fixture
def restart_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def gate_builds(server: Server, change: int) -> list[dict[str, Any]]:
    with server.client() as c:
        found = c.get("/api/builds", params={"change": str(change), "pipeline": "gate"})
    assert found.status_code == 200, found.text
    return list(found.json())


def queued(server: Server) -> list[tuple[str, str]]:
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            return [(i.pipeline, i.key) for i in item_store.queued_items(conn)]
    finally:
        db.dispose()


def test_a_change_gating_when_the_server_is_killed_is_retested_and_merges(
        restart_server: Server, make_user, project_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = restart_server
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    land_config(server, project_name, owner, core1, core2, repo)

    new_change(owner, repo, {"a.txt": "a\n", "playbooks/integration.yaml": SLOW}, "Change A")
    a = only_change(server, project_name, "Change A")
    wait_checked(server, a)
    approve(server, a, core1, core2)
    running = wait_for("A's gate job to run", lambda: [
        b for b in gate_builds(server, a) if b["job"] == "integration" and b["result"] is None],
        server)
    assert queued(server) == [("gate", f"{a},1")]
    time.sleep(3)  # well into the build: nodes up, playbooks running

    kill_and_restart(server)

    cut_off = running[0]["uuid"]
    with server.client() as c:
        old = c.get(f"/api/builds/{cut_off}").json()
    assert (old["result"], old["reason"]) == ("ABORTED", "the server stopped while this build ran")
    assert old["end_time"] is not None
    with server.client() as c:
        old_set = c.get(f"/api/buildsets/{old['buildset']}").json()
    assert old_set["result"] == "ABORTED"

    wait_for("A to merge after the restart", lambda: status(server, a) == "MERGED", server)
    info = change_info(server, a)
    assert ci_verified(info) == 2
    assert branch_tip_contains(server, owner, repo, a)
    again = [b for b in gate_builds(server, a) if b["job"] == "integration"]
    assert sorted(b["result"] for b in again) == ["ABORTED", "SUCCESS"], again
    assert queued(server) == []
