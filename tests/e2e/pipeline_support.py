"""Shared steps of the pipeline tests: what builds need, a server for them, and the review
actions and waits the check, gate and dependency stories share."""

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


PLAYBOOK = """\
- hosts: all
  tasks:
    - name: Say hello
      command: "{command}"
"""


# A check job on one local node running playbooks/hello.yaml (PLAYBOOK).
HELLO_JOB_CONFIG = """\
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


def missing_build_tools() -> str | None:
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


def wait_for(what: str, probe: Callable[[], Any], server: Server, timeout: float = 150) -> Any:
    """Poll ``probe`` until it answers something true. The default leaves room for two
    rounds of builds on a loaded machine: each build runs the base job's pre-run and
    post-run playbooks besides its own."""
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


def make_core(server: Server, project: str, *users: GitUser) -> None:
    with server.admin_client() as admin:
        for user in users:
            group = f"{project}-core".replace("/", "%2F")
            response = admin.put(f"/a/groups/{group}/members/{user.username}")
            assert response.status_code in (200, 201), response.text


def approve(server: Server, number: int, core1: GitUser, core2: GitUser) -> None:
    """Two core Code-Review +2 votes, then Workflow +1 (the gate's trigger)."""
    for user, labels in ((core1, {"Code-Review": 2}),
                         (core2, {"Code-Review": 2, "Workflow": 1})):
        with server.client(user.username, user.password) as c:
            response = c.post(f"/a/changes/{number}/revisions/current/review",
                              json={"labels": labels})
            assert response.status_code == 200, response.text


def status(server: Server, number: int) -> str:
    return str(change_info(server, number)["status"])


def branch_tip_contains(server: Server, user: GitUser, repo: Path, number: int) -> bool:
    info = change_info(server, number)
    sha = info["current_revision"]
    user.git("fetch", "-q", "origin", "main", cwd=repo)
    return user.git("merge-base", "--is-ancestor", sha, "FETCH_HEAD", cwd=repo,
                    check=False).returncode == 0


def new_change(user: GitUser, repo: Path, files: dict[str, str], subject: str) -> None:
    """A change on top of main as the server has it, not stacked on earlier pushes."""
    user.git("fetch", "-q", "origin", "main", cwd=repo)
    user.git("checkout", "-q", "-B", "work", "FETCH_HEAD", cwd=repo)
    push_change(user, repo, files, subject)


def wait_checked(server: Server, number: int) -> None:
    wait_for(f"check Verified +1 on change {number}",
             lambda: ci_verified(change_info(server, number)) == 1, server)


def pipeline_server(tmp_path_factory: pytest.TempPathFactory, what: str,
                    path: Callable[[Path], str] | None = None) -> Iterator[Server]:
    """A real server that runs builds; skipped (or, under CI as root, failed) without what
    builds need. ``path`` makes the server's PATH from a folder of its own."""
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the {what} pipeline must run under CI: {problem}")
        pytest.skip(problem)
    root = tmp_path_factory.mktemp("site")
    server = start_server(root / "site",
                          extra_env={"PATH": path(root / "bin")} if path else None)
    yield server
    server.stop()

