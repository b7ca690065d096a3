"""Dependencies in the gate end to end: a stack of two commits pushed together, where only the
child is approved, does not merge (the parent it needs is not approved; the scheduler logs why);
once the parent is approved too, the gate merges both, parent first.

Same needs as the check test (root, local nodes, ansible); skipped with the reason elsewhere.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.pipeline_support import (
    approve,
    change_info,
    only_change,
    scheduler_caught_up,
    status,
    wait_checked,
    wait_for,
)
from tests.e2e.test_gate_pipeline import (
    gate_server as gate_server,  # noqa: F401 - the module's server fixture
)
from tests.e2e.test_gate_pipeline import (
    gated_project as gated_project,  # noqa: F401 - the project fixture
)
from tests.e2e.test_gate_pipeline import land_config
from tests.support import GitUser, Server


def commit(user: GitUser, repo: Path, path: str, text: str, message: str) -> None:
    (repo / path).write_text(text)
    user.git("add", path, cwd=repo)
    user.git("commit", "-q", "-m", message, cwd=repo)


def test_stack_where_only_the_child_is_approved_waits_for_the_parent(
        gate_server: Server,  # noqa: F811
        gated_project: tuple[str, GitUser, GitUser, GitUser, Path],  # noqa: F811
) -> None:
    project, owner, core1, core2, repo = gated_project
    land_config(gate_server, project, owner, core1, core2, repo)

    owner.git("fetch", "-q", "origin", "main", cwd=repo)
    owner.git("checkout", "-q", "-B", "stack", "FETCH_HEAD", cwd=repo)
    commit(owner, repo, "parent.txt", "parent\n", "Stack parent")
    commit(owner, repo, "child.txt", "child\n", "Stack child")
    pushed = owner.push(repo)
    assert pushed.returncode == 0, pushed.stderr
    parent = only_change(gate_server, project, "Stack parent")
    child = only_change(gate_server, project, "Stack child")
    wait_checked(gate_server, parent)
    wait_checked(gate_server, child)

    approve(gate_server, child, core1, core2)
    # The refusal ("needs change P,1, which is not approved for the gate pipeline yet") is
    # only logged, as Zuul does; from outside, the child simply stays open and unmerged.
    wait_for("the scheduler to catch up", lambda: scheduler_caught_up(gate_server),
             gate_server, timeout=15)
    time.sleep(3)
    assert status(gate_server, child) == "NEW"
    assert status(gate_server, parent) == "NEW"

    approve(gate_server, parent, core1, core2)
    for number in (parent, child):
        wait_for(f"change {number} to merge",
                 lambda n=number: status(gate_server, n) == "MERGED", gate_server, timeout=120)
    parent_info, child_info = change_info(gate_server, parent), change_info(gate_server, child)
    assert parent_info["submitted"] <= child_info["submitted"]
    owner.git("fetch", "-q", "origin", "main", cwd=repo)
    for info in (parent_info, child_info):
        assert owner.git("merge-base", "--is-ancestor", info["current_revision"], "FETCH_HEAD",
                         cwd=repo, check=False).returncode == 0
