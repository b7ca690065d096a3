"""A small replay: the same approved changes go through the real scheduler (real pushes,
real builds on local nodes) and through ``keepgreen simulate``'s gate, and both make the
same decisions: the same changes merge, in the same order, and the same are rejected.

The gate job fails at its first task on a tree holding a ``bad-*`` file and passes
otherwise; it runs only in the gate, so every change passed check, as in the simulator
(which is also why a bad change's failure is tried once more in both).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen.simulator import Change, Settings, decisions
from tests.e2e.pipeline_support import (
    PLAYBOOK,
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
from tests.e2e.test_gate_pipeline import JOB_CONFIG
from tests.support import Server

GATE_PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Fail on a bad tree, at once
      shell: |
        cd {{ zuul.project.src_dir }}
        if ls bad-* >/dev/null 2>&1; then exit 1; fi
    - name: Take a little while on a good one
      command: sleep 2
"""
# Approval order; True marks a bad change: two bad ones next to each other.
SCENARIO = (("A", False), ("B", True), ("C", True), ("D", False))


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "gate replay")


@pytest.mark.timeout(600)
def test_the_scheduler_decides_as_the_simulator(replay_server: Server, make_user,
                                                project_name: str, tmp_path: Path) -> None:
    server = replay_server
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo: Path = owner.clone(project_name, tmp_path / "work")
    new_change(owner, repo, {".zuul.yaml": JOB_CONFIG,
                             "playbooks/hello.yaml": PLAYBOOK.format(command="true"),
                             "playbooks/integration.yaml": GATE_PLAYBOOK}, "Add gate jobs")
    base = only_change(server, project_name, "Add gate jobs")
    wait_checked(server, base)
    approve(server, base, core1, core2)
    wait_for("the jobs to land", lambda: status(server, base) == "MERGED", server)

    numbers: dict[str, int] = {}
    for name, bad in SCENARIO:
        files = {f"bad-{name}" if bad else f"{name}.txt": f"{name}\n"}
        new_change(owner, repo, files, f"Change {name}")
        numbers[name] = only_change(server, project_name, f"Change {name}")
    for number in numbers.values():
        wait_checked(server, number)
    for name, _ in SCENARIO:
        approve(server, numbers[name], core1, core2)

    def settled() -> bool:
        return all((i := change_info(server, numbers[name]))["status"] == "MERGED"
                   or ci_verified(i) == -2 for name, _ in SCENARIO)

    wait_for("every change to be merged or rejected", settled, server, timeout=240)
    infos = {name: change_info(server, numbers[name]) for name, _ in SCENARIO}
    merged = sorted((n for n in infos if infos[n]["status"] == "MERGED"),
                    key=lambda n: (infos[n]["submitted"], numbers[n]))
    rejected = sorted(n for n in infos if infos[n]["status"] != "MERGED")

    # The simulator, on the same changes: approved a moment apart in the same order, one
    # job each, a bad one failing at its start.
    day = [Change(index + 1, index * 0.01, bad, 1.0, 0.0 if bad else 1.0)
           for index, (_, bad) in enumerate(SCENARIO)]
    sim_merged, sim_rejected = decisions(Settings(changes=len(day), nodes=10), day)
    letters = [name for name, _ in SCENARIO]
    assert [letters[n - 1] for n in sim_merged] == merged == ["A", "D"]
    assert [letters[n - 1] for n in sim_rejected] == rejected == ["B", "C"]
