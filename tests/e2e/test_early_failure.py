"""Early failure on the real server: when a gate job's run playbook has a failed task, the
changes behind are re-tested without that change at once, while its build still runs to the
end (here a slow cleanup in ``always``) and reports its final result as usual.

Same needs as the gate test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.pipeline_support import (
    approve,
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
from tests.support import Server

# Fails its second task, then spends a long time in ``always``: the build ends only after it.
FAILING_SLOWLY = """\
- hosts: all
  gather_facts: false
  tasks:
    - block:
        - name: Warm up
          command: sleep 4
        - name: Integration tests
          command: sh -c 'echo integration broke >&2; exit 1'
      always:
        - name: Collect results slowly
          command: sleep 25
"""


@pytest.fixture(scope="module")
def early_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def buildsets(server: Server, change: int) -> list[dict[str, Any]]:
    with server.client() as c:
        found = c.get("/api/buildsets", params={"change": str(change)})
    assert found.status_code == 200, found.text
    return list(found.json())


def builds(server: Server, change: int) -> list[dict[str, Any]]:
    with server.client() as c:
        found = c.get("/api/builds", params={"change": str(change)})
    assert found.status_code == 200, found.text
    return list(found.json())


def test_items_behind_a_failing_job_are_retested_before_its_build_ends(
        early_server: Server, make_user, project_name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = early_server
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    land_config(server, project_name, owner, core1, core2, repo)

    new_change(owner, repo, {"a.txt": "a\n", "playbooks/integration.yaml": FAILING_SLOWLY},
               "Change A")
    a = only_change(server, project_name, "Change A")
    new_change(owner, repo, {"b.txt": "b\n"}, "Change B")
    b = only_change(server, project_name, "Change B")
    for number in (a, b):
        wait_checked(server, number)
    approve(server, a, core1, core2)
    approve(server, b, core1, core2)

    wait_for("B tested on top of A",
             lambda: any(s["changes"] == [f"{a},1", f"{b},1"] for s in buildsets(server, b)),
             server)

    def alone() -> dict[str, Any] | None:
        return next((s for s in buildsets(server, b) if s["changes"] == [f"{b},1"]), None)

    retest = wait_for("B re-tested without A", alone, server)
    started = wait_for("B's re-test to start its builds",
                       lambda: [x for x in builds(server, b)
                                if x["buildset"] == retest["uuid"]], server, timeout=30)
    # A's failing build is still in its slow cleanup: the reset did not wait for it.
    integration = [x for x in builds(server, a) if x["job"] == "integration"
                   and x["pipeline"] == "gate"]
    assert integration and all(x["result"] is None for x in integration), integration
    assert started

    wait_for("B to merge", lambda: status(server, b) == "MERGED", server)
    info = wait_for("Verified -2 on A", lambda: (i := change_info(server, a))
                    and ci_verified(i) == -2 and i, server)
    assert info["status"] == "NEW"
    done = [x for x in builds(server, a) if x["job"] == "integration" and x["pipeline"] == "gate"]
    assert [x["result"] for x in done] == ["FAILURE"], done
    assert "Integration tests" in done[0]["reason"]
