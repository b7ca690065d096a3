"""Two projects that declare the same ``queue`` gate together: a change of project B behind
a change of project A is tested with A's change merged into A's checkout, and both merge.

Same needs as the gate test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.pipeline_support import (
    PLAYBOOK,
    approve,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.support import GitUser, Server

JOBS = """\
- job:
    name: hello
    run: playbooks/hello.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- job:
    name: {gate_job}
    run: playbooks/gate.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    queue: integrated
    check:
      jobs: [hello]
    gate:
      jobs: [{gate_job}]
"""
# B's gate job fails unless A's change is in A's checkout of the state under test.
READS_A = """\
- hosts: all
  tasks:
    - name: A's change is in the state under test
      assert:
        that:
          - "lookup('file', zuul.executor.work_root + '/'
             + zuul.projects['localhost/{project_a}'].src_dir + '/from-a.txt') == 'from A'"
          - "zuul['items'] | length == 2"
"""


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def push_config(server: Server, project: str, files: dict[str, str], home: Path) -> None:
    admin = GitUser(home / "admin-home", server, server.admin, server.admin_password)
    repo = admin.clone(project, home / f"admin-{project.replace('/', '-')}")
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        admin.git("add", path, cwd=repo)
    admin.git("commit", "-q", "-m", "Add jobs", cwd=repo)
    pushed = admin.push(repo, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr


def test_change_behind_another_project_is_tested_with_it(
        gate_server: Server, make_user, tmp_path: Path) -> None:
    server = gate_server
    project_a, project_b = (f"org/shared-{n}-{tmp_path.name[-6:]}" for n in "ab")
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    hello = PLAYBOOK.format(command="true")
    for project, job, playbook in (
            (project_a, "slow-a", PLAYBOOK.format(command="sleep 20")),
            (project_b, "reads-a", READS_A.format(project_a=project_a))):
        server.create_project(project)
        make_core(server, project, core1, core2)
        push_config(server, project, {".zuul.yaml": JOBS.format(gate_job=job),
                                      "playbooks/hello.yaml": hello,
                                      "playbooks/gate.yaml": playbook}, tmp_path)

    repo_a = owner.clone(project_a, tmp_path / "a")
    repo_b = owner.clone(project_b, tmp_path / "b")
    new_change(owner, repo_a, {"from-a.txt": "from A"}, "A adds a file")
    new_change(owner, repo_b, {"b.txt": "b\n"}, "B uses A's file")
    a = only_change(server, project_a, "A adds a file")
    b = only_change(server, project_b, "B uses A's file")
    wait_checked(server, a)
    wait_checked(server, b)
    approve(server, a, core1, core2)
    approve(server, b, core1, core2)

    def queue() -> dict[str, object] | None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            pipelines = c.get("/api/status").json()["pipelines"]
        gate = next(p for p in pipelines if p["name"] == "gate")
        return next((q for q in gate["queues"] if q["name"] == "integrated"
                     and len(q["items"]) == 2), None)

    shared = wait_for("A and B in one gate queue", queue, server)
    assert shared["projects"] == sorted([project_a, project_b])
    first, second = shared["items"]
    assert (first["id"], second["id"]) == (f"{a},1", f"{b},1")
    assert second["item_ahead"] == f"{a},1"

    for number in (a, b):
        wait_for(f"change {number} to merge",
                 lambda n=number: status(server, n) == "MERGED", server, timeout=300)
    with httpx.Client(base_url=server.url, timeout=30) as c:
        (tested,) = c.get("/api/buildsets", params={"project": project_b, "pipeline": "gate",
                                                    "result": "SUCCESS"}).json()
    assert tested["changes"] == [f"{a},1", f"{b},1"]
