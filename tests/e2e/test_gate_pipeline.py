"""The gate pipeline end to end: an approved change with a clean check is tested merged onto
its branch, and the CI account votes Verified +2 and submits it; a change that breaks the
gate's jobs gets Verified -2 and stays open while the changes around it merge.

Same needs as the check test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.pipeline_support import (
    CI,
    PLAYBOOK,
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
from tests.support import GitUser, Server, gerrit_json

# ``hello`` runs in check and gate; ``integration`` only in gate, so a change can break it
# and still pass check (the clean check the gate requires).
JOB_CONFIG = """\
- job:
    name: hello
    run: playbooks/hello.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- job:
    name: integration
    run: playbooks/integration.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs:
        - hello
    gate:
      jobs:
        - hello
        - integration
"""
CONFIG_FILES = {".zuul.yaml": JOB_CONFIG,
                "playbooks/hello.yaml": PLAYBOOK.format(command="true"),
                "playbooks/integration.yaml": PLAYBOOK.format(command="true")}


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def land_config(server: Server, project: str, owner: GitUser, core1: GitUser,
                core2: GitUser, repo: Path) -> int:
    new_change(owner, repo, CONFIG_FILES, "Add gate jobs")
    number = only_change(server, project, "Add gate jobs")
    wait_checked(server, number)
    approve(server, number, core1, core2)
    wait_for(f"change {number} to merge", lambda: status(server, number) == "MERGED", server)
    return number


@pytest.fixture
def gated_project(gate_server: Server, make_user, project_name: str,
                  tmp_path: Path) -> tuple[str, GitUser, GitUser, GitUser, Path]:
    owner, core1, core2 = (make_user(gate_server, n) for n in ("owner", "core1", "core2"))
    gate_server.create_project(project_name)
    make_core(gate_server, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    return project_name, owner, core1, core2, repo


def test_approved_change_is_gated_and_merged(
        gate_server: Server, gated_project: tuple[str, GitUser, GitUser, GitUser, Path]
) -> None:
    project, owner, core1, core2, repo = gated_project
    number = land_config(gate_server, project, owner, core1, core2, repo)

    info = change_info(gate_server, number)
    assert ci_verified(info) == 2
    gate_report = [m["message"] for m in info["messages"]
                   if m.get("author", {}).get("username") == CI and "gate" in m["message"]]
    assert gate_report, info["messages"]
    assert branch_tip_contains(gate_server, owner, repo, number)

    # With job config on the branch, Verified is required: cores can no longer submit by hand.
    new_change(owner, repo, {"notes.txt": "more\n"}, "Add notes")
    later = only_change(gate_server, project, "Add notes")
    with gate_server.client(core1.username, core1.password) as c:
        refused = c.post(f"/a/changes/{later}/submit")
    assert refused.status_code in (403, 409), refused.text


def test_failing_change_is_ejected_and_others_merge(
        gate_server: Server, gated_project: tuple[str, GitUser, GitUser, GitUser, Path]
) -> None:
    project, owner, core1, core2, repo = gated_project
    land_config(gate_server, project, owner, core1, core2, repo)

    changes = {}
    for name, files in (("A", {"a.txt": "a\n"}),
                        ("B", {"b.txt": "b\n",
                               "playbooks/integration.yaml": PLAYBOOK.format(command="false")}),
                        ("C", {"c.txt": "c\n"})):
        new_change(owner, repo, files, f"Change {name}")
        changes[name] = only_change(gate_server, project, f"Change {name}")
    for number in changes.values():
        wait_checked(gate_server, number)
    for name in "ABC":
        approve(gate_server, changes[name], core1, core2)

    for name in "AC":
        wait_for(f"change {name} to merge",
                 lambda n=changes[name]: status(gate_server, n) == "MERGED", gate_server)
    info = wait_for("Verified -2 on change B",
                    lambda: (i := change_info(gate_server, changes["B"]))
                    and ci_verified(i) == -2 and i, gate_server)
    assert info["status"] == "NEW"
    failure = [m["message"] for m in info["messages"]
               if m.get("author", {}).get("username") == CI and "integration" in m["message"]]
    assert any("FAILURE" in m for m in failure), failure
    for name in "AC":
        assert branch_tip_contains(gate_server, owner, repo, changes[name])
    with gate_server.client() as c:
        main = gerrit_json(c.get(f"/projects/{project.replace('/', '%2F')}/branches/main"))
    assert main["revision"]


# Fails when the tree has fail-me; takes long when it has b.txt too (B tested on top of A).
RESET_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Fail for fail-me, and take long on top of it
      shell: |
        cd {{ zuul.project.src_dir }}
        if [ -e fail-me ] && [ -e b.txt ]; then sleep 120; fi
        test ! -e fail-me
"""


def test_a_gate_reset_cancels_the_builds_it_made_useless_at_once(
        gate_server: Server, gated_project: tuple[str, GitUser, GitUser, GitUser, Path]
) -> None:
    project, owner, core1, core2, repo = gated_project
    files = {**CONFIG_FILES, "playbooks/integration.yaml": RESET_PLAYBOOK}
    new_change(owner, repo, files, "Add gate jobs")
    base = only_change(gate_server, project, "Add gate jobs")
    wait_checked(gate_server, base)
    approve(gate_server, base, core1, core2)
    wait_for("the jobs to land", lambda: status(gate_server, base) == "MERGED", gate_server)

    changes = {}
    for name, files in (("A", {"fail-me": "x\n"}), ("B", {"b.txt": "b\n"})):
        new_change(owner, repo, files, f"Change {name}")
        changes[name] = only_change(gate_server, project, f"Change {name}")
    for number in changes.values():
        wait_checked(gate_server, number)
    for name in "AB":
        approve(gate_server, changes[name], core1, core2)

    # A fails; B's build on top of A, two minutes of sleep, is stopped at once, and B is
    # tested again on the branch alone and merges well before that build would have ended.
    wait_for("change B to merge", lambda: status(gate_server, changes["B"]) == "MERGED",
             gate_server, timeout=100)
    assert status(gate_server, changes["A"]) == "NEW"
    with gate_server.client() as c:
        found = c.get("/api/builds", params={"project": project, "job": "integration",
                                             "change": changes["B"]}).json()
    results = sorted((b["result"], b["reason"] or "") for b in found)
    assert [r for r, _ in results] == ["ABORTED", "SUCCESS"], found
    assert results[0][1].startswith("cancelled: "), results
    (stopped,) = [b for b in found if b["result"] == "ABORTED"]
    took = (datetime.fromisoformat(stopped["end_time"])
            - datetime.fromisoformat(stopped["start_time"])).total_seconds()
    assert took < 60, stopped
