"""The check pipeline end to end: a pushed change carrying its own `.zuul.yaml` is tested on
fresh local nodes, and the CI account reports with a comment and a Verified vote.

Builds need root (local nodes are namespaces; the sandbox is bubblewrap started as root),
ansible-playbook next to this Python, and sshd for the node image. Elsewhere the test is
skipped with the reason; under CI (as root) a missing tool fails it instead.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from keepgreen import settings as settings_mod
from keepgreen.executor.runner import default_ansible_playbook
from keepgreen.executor.sandbox import Sandbox
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.support import GitUser, Server, gerrit_json, start_server

CI = "keepgreen-ci"
JOB_CONFIG = """\
- job:
    name: hello
    run: playbooks/hello.yaml
    nodeset:
      nodes:
        - name: node
          label: local
- project:
    check:
      jobs:
        - hello
"""
PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Say hello
      command: "{command}"
"""


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "builds need root (local nodes and the bubblewrap sandbox); CI runs as root"
    for tool in ("unshare", "nsenter", "setpriv", "ip", "ssh", "ssh-keygen", "tar"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.path.exists("/usr/sbin/sshd"):
        return "the host-derived node image needs sshd: run `apt-get install -y openssh-server`"
    if not default_ansible_playbook().exists():
        return "ansible-playbook is not installed next to this Python"
    return Sandbox().check()


@pytest.fixture(scope="module")
def ci_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    problem = _missing()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the check pipeline must run under CI: {problem}")
        pytest.skip(problem)
    server = start_server(tmp_path_factory.mktemp("site") / "site")
    yield server
    server.stop()


def wait_for(what: str, probe: Callable[[], Any], server: Server, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; server log:\n{server.log()[-4000:]}")


def change_info(server: Server, number: int) -> Any:
    with server.client() as c:
        return gerrit_json(c.get(f"/changes/{number}", params={
            "o": ["DETAILED_LABELS", "MESSAGES", "CURRENT_REVISION", "DETAILED_ACCOUNTS"]}))


def ci_verified(info: Any) -> int | None:
    votes = info["labels"].get("Verified", {}).get("all", [])
    return next((v["value"] for v in votes if v.get("username") == CI and v.get("value")),
                None)


def ci_messages(info: Any, patch_set: int) -> list[str]:
    return [m["message"] for m in info.get("messages", [])
            if m.get("author", {}).get("username") == CI
            and m.get("_revision_number") == patch_set]


def scheduler_caught_up(server: Server) -> bool:
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            cursor = build_store.cursor(conn, "scheduler")
            return cursor is not None and cursor >= build_store.last_event_id(conn)
    finally:
        db.dispose()


def push_change(user: GitUser, repo: Path, files: dict[str, str], message: str) -> None:
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
        user.git("add", path, cwd=repo)
    user.git("commit", "-q", "-m", message, cwd=repo)
    pushed = user.push(repo)
    assert pushed.returncode == 0, pushed.stderr


def only_change(server: Server, project: str, subject: str) -> int:
    with server.client() as c:
        found = gerrit_json(c.get("/changes/", params={"q": f"project:{project}"}))
    return next(int(ch["_number"]) for ch in found if ch["subject"] == subject)


def test_check_votes_on_jobs_from_the_change(ci_server: Server, make_user, project_name,
                                             tmp_path: Path) -> None:
    ci_server.create_project(project_name)
    alice = make_user(ci_server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")

    push_change(alice, repo, {".zuul.yaml": JOB_CONFIG,
                              "playbooks/hello.yaml": PLAYBOOK.format(command="true")},
                "Add a hello job")
    number = only_change(ci_server, project_name, "Add a hello job")
    info = wait_for("Verified +1 from the CI account",
                    lambda: (i := change_info(ci_server, number)) and ci_verified(i) and i,
                    ci_server)
    assert ci_verified(info) == 1
    report = "\n".join(ci_messages(info, 1))
    assert "hello SUCCESS" in report, report

    # The change's own config is used: breaking its playbook fails its next patch set.
    (repo / "playbooks/hello.yaml").write_text(PLAYBOOK.format(command="false"))
    alice.git("commit", "-qa", "--amend", "--no-edit", cwd=repo)
    assert alice.push(repo).returncode == 0
    info = wait_for("Verified -1 on patch set 2",
                    lambda: (i := change_info(ci_server, number))
                    and ci_messages(i, 2) and i, ci_server)
    assert ci_verified(info) == -1
    report = "\n".join(ci_messages(info, 2))
    assert "hello FAILURE" in report, report

    db = Database(settings_mod.load(ci_server.site).database_url)
    try:
        with db.read() as conn:
            recorded = build_store.builds_of(conn, number)
    finally:
        db.dispose()
    assert [(b.patch_set, b.job, b.result) for b in recorded] == [
        (1, "hello", "SUCCESS"), (2, "hello", "FAILURE")]


def test_project_without_job_config_gets_no_report(ci_server: Server, make_user, project_name,
                                                   tmp_path: Path) -> None:
    ci_server.create_project(project_name)
    bob = make_user(ci_server, "bob")
    repo = bob.clone(project_name, tmp_path / "work")
    push_change(bob, repo, {"README": "no jobs here\n"}, "Add a readme")
    number = only_change(ci_server, project_name, "Add a readme")

    wait_for("the scheduler to consume the event", lambda: scheduler_caught_up(ci_server),
             ci_server, timeout=15)
    info = change_info(ci_server, number)
    assert ci_verified(info) is None
    assert ci_messages(info, 1) == []
