"""A machine that lacks what local nodes need: the server says so at start, and a check job
fails with NODE_FAILURE and the reason on the change instead of waiting for a node.

The server runs with a PATH in which ``ssh-keygen`` and ``bwrap`` are missing (every other
program of ``/usr/bin`` and ``/bin`` is linked in), as on a machine where openssh-client and
bubblewrap are not installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.pipeline_support import (
    HELLO_JOB_CONFIG,
    PLAYBOOK,
    change_info,
    ci_messages,
    ci_verified,
    only_change,
    pipeline_server,
    push_change,
    wait_for,
)
from tests.support import Server

MISSING = "ssh-keygen"


def path_without(tools: set[str], into: Path) -> str:
    """A PATH with every program of the usual folders but ``tools``, linked into ``into``."""
    into.mkdir()
    folders = ["/usr/local/bin", "/usr/bin"]
    if not os.path.islink("/bin"):  # not a merged-/usr machine
        folders.append("/bin")
    for folder in folders:
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            link = into / name
            if name not in tools and not link.exists():
                link.symlink_to(os.path.join(folder, name))
    return f"{into}:/usr/local/sbin:/usr/sbin:/sbin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from pipeline_server(tmp_path_factory, "missing-tools",
                               lambda folder: path_without({MISSING, "bwrap"}, folder))


def test_serve_names_the_missing_tool_at_start(server: Server) -> None:
    wait_for("the start-up warnings", lambda: "keepgreen serving" in server.log(), server, 30)
    assert (f"warning: local nodes: {MISSING} is missing: run `apt-get install -y "
            "openssh-client`") in server.log()
    assert "warning: jobs: bubblewrap is not installed: run `apt-get install -y bubblewrap`" in (
        server.log())


def test_a_check_job_fails_with_the_reason_on_the_change(server: Server, make_user,
                                                         project_name, tmp_path: Path) -> None:
    server.create_project(project_name)
    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    push_change(alice, repo, {".zuul.yaml": HELLO_JOB_CONFIG,
                              "playbooks/hello.yaml": PLAYBOOK.format(command="true")},
                "Add a hello job")
    number = only_change(server, project_name, "Add a hello job")
    info = wait_for("a Verified vote", lambda: (lambda i: i if ci_verified(i) else None)(
        change_info(server, number)), server, timeout=120)
    assert ci_verified(info) == -1
    report = "\n".join(ci_messages(info, 1))
    assert "hello" in report and "NODE_FAILURE" in report
    assert MISSING in report and "apt-get install -y openssh-client" in report, report
