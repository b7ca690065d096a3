"""Operators steer the gate of a running server: ``keepgreen promote``, ``dequeue`` and
``enqueue``, watched through ``/api/status``; what was tested is then listed by
``/api/buildsets``.

Same needs as the gate test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.pipeline_support import (
    PLAYBOOK,
    approve,
    change_info,
    ci_messages,
    ci_verified,
    make_core,
    new_change,
    only_change,
    pipeline_server,
    status,
    wait_checked,
    wait_for,
)
from tests.support import KEEPGREEN, GitUser, Server

# The gate's job takes a while, so the queue can be watched and rearranged while it runs.
JOB_CONFIG = """\
- job:
    name: hello
    run: playbooks/hello.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- job:
    name: slow
    run: playbooks/slow.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs: [hello]
    gate:
      jobs: [slow]
"""
CONFIG_FILES = {".zuul.yaml": JOB_CONFIG,
                "playbooks/hello.yaml": PLAYBOOK.format(command="true"),
                "playbooks/slow.yaml": PLAYBOOK.format(command="sleep 25")}


@pytest.fixture(scope="module")
def gate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate")


def keepgreen(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KEEPGREEN, *args[:1], str(server.site), *args[1:]],
                          capture_output=True, text=True, timeout=120)


def gate_items(server: Server, project: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        answer = c.get("/api/status", params={"project": project})
    assert answer.status_code == 200, answer.text
    assert not answer.text.startswith(")]}'")
    gate = next(p for p in answer.json()["pipelines"] if p["name"] == "gate")
    return [item for queue in gate["queues"] for item in queue["items"]]


def order(server: Server, project: str) -> list[str]:
    return [item["id"] for item in gate_items(server, project)]


def land_config_directly(server: Server, project: str, tmp_path: Path) -> None:
    admin = GitUser(tmp_path / "admin-home", server, server.admin, server.admin_password)
    repo = admin.clone(project, tmp_path / "admin")
    for path, text in CONFIG_FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        admin.git("add", path, cwd=repo)
    admin.git("commit", "-q", "-m", "Add jobs", cwd=repo)
    pushed = admin.push(repo, "HEAD:refs/heads/main")
    assert pushed.returncode == 0, pushed.stderr


def test_operators_promote_dequeue_and_enqueue(gate_server: Server, make_user,
                                              project_name: str, tmp_path: Path) -> None:
    server, project = gate_server, project_name
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project)
    make_core(server, project, core1, core2)
    land_config_directly(server, project, tmp_path)
    repo = owner.clone(project, tmp_path / "work")
    numbers = {}
    for name in "ABC":
        new_change(owner, repo, {f"{name.lower()}.txt": f"{name}\n"}, f"Change {name}")
        numbers[name] = only_change(server, project, f"Change {name}")
    for number in numbers.values():
        wait_checked(server, number)
    a, b, c = (f"{numbers[n]},1" for n in "ABC")
    for name in "ABC":
        approve(server, numbers[name], core1, core2)

    # The status shows one gate queue, each item tested on the ones ahead of it.
    wait_for("A, B and C in the gate", lambda: order(server, project) == [a, b, c], server)
    items = {i["id"]: i for i in gate_items(server, project)}
    assert (items[a]["item_ahead"], items[a]["items_behind"]) == (None, [b])
    assert (items[b]["item_ahead"], items[b]["items_behind"]) == (a, [c])
    assert items[b]["subject"] == "Change B" and items[b]["owner"] == owner.username
    assert items[b]["live"] and items[b]["url"].endswith(f"/+/{numbers['B']}")
    assert [j["name"] for j in items[a]["jobs"]] == ["slow"]
    running = wait_for("A's job to start", lambda: (
        j := gate_items(server, project)[0]["jobs"][0])["uuid"] and j, server)
    assert running["url"] == f"/build/{running['uuid']}" and running["result"] is None

    promoted = keepgreen(server, "promote", "--pipeline", "gate", "--changes", c)
    assert promoted.returncode == 0, promoted.stderr
    assert order(server, project) == [c, a, b]
    items = {i["id"]: i for i in gate_items(server, project)}
    assert items[c]["item_ahead"] is None and items[a]["item_ahead"] == c

    dequeued = keepgreen(server, "dequeue", "--pipeline", "gate", "--project", project,
                         "--change", b)
    assert dequeued.returncode == 0, dequeued.stderr
    assert order(server, project) == [c, a]
    b_messages = ci_messages(change_info(server, numbers["B"]), 1)

    for name in "CA":
        wait_for(f"change {name} to merge",
                 lambda n=numbers[name]: status(server, n) == "MERGED", server, timeout=300)
    # The dequeued change heard nothing more from the gate: no vote, no comment.
    info = change_info(server, numbers["B"])
    assert info["status"] == "NEW" and ci_verified(info) not in (-2, 2)
    assert ci_messages(info, 1) == b_messages

    enqueued = keepgreen(server, "enqueue", "--pipeline", "gate", "--project", project,
                         "--change", b)
    assert enqueued.returncode == 0, enqueued.stderr
    assert order(server, project) == [b]
    wait_for("change B to merge", lambda: status(server, numbers["B"]) == "MERGED", server,
             timeout=300)

    # Each merged change has a successful gate buildset with its build.
    with httpx.Client(base_url=server.url, timeout=30) as client:
        listed = client.get("/api/buildsets", params={"project": project, "pipeline": "gate",
                                                      "result": "SUCCESS"}).json()
        assert {bs["change"] for bs in listed} == set(numbers.values())
        last = listed[0]
        assert last["change"] == numbers["B"] and last["changes"] == [b]
        detail = client.get(f"/api/buildsets/{last['uuid']}").json()
        (build,) = [x for x in detail["builds"] if x["job"] == "slow"]
        assert build["result"] == "SUCCESS" and build["buildset"] == last["uuid"]
        assert client.get(f"/api/builds/{build['uuid']}").json()["buildset"] == last["uuid"]
        # C was promoted ahead of A, so A was tested on top of C.
        a_set = next(bs for bs in listed if bs["change"] == numbers["A"])
        assert a_set["changes"] == [c, a]


def test_operator_mistakes_are_plain_sentences(gate_server: Server, make_user,
                                               project_name: str, tmp_path: Path) -> None:
    server = gate_server
    owner = make_user(server, "owner")
    server.create_project(project_name)
    repo = owner.clone(project_name, tmp_path / "work")
    new_change(owner, repo, {"x.txt": "x\n"}, "Not gated")
    number = only_change(server, project_name, "Not gated")

    cases = [
        (("promote", "--pipeline", "gate", "--changes", "999999,1"),
         "change 999999 does not exist"),
        (("dequeue", "--pipeline", "gate", "--project", project_name, "--change",
          f"{number},1"), f"change {number},1 is not in the gate pipeline"),
        (("enqueue", "--pipeline", "nope", "--project", project_name, "--change",
          f"{number},1"), "there is no pipeline 'nope'"),
        (("enqueue", "--pipeline", "gate", "--project", "other", "--change", f"{number},1"),
         f"change {number} belongs to project {project_name}, not other"),
        (("enqueue", "--pipeline", "gate", "--project", project_name, "--change",
          f"{number},1"), f"change {number} cannot enter gate: "),
        (("dequeue", "--pipeline", "gate", "--project", project_name, "--change", "x"),
         "'x' is not a change: write NUMBER,PATCHSET"),
    ]
    for args, message in cases:
        done = keepgreen(server, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_command_without_a_running_server_times_out(tmp_path: Path) -> None:
    site = tmp_path / "site"
    made = subprocess.run([*KEEPGREEN, "init", str(site), "--admin-password", "pw-admin-1"],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    done = subprocess.run([*KEEPGREEN, "dequeue", str(site), "--pipeline", "gate", "--project",
                           "p", "--change", "1,1", "--timeout", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "did not take the command within 1 s; is it running?" in done.stderr
