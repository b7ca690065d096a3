"""Two launchers sharing a site's node pool on one PostgreSQL database: the server's serves
provider ``local``, a ``keepgreen launcher --provider local-b`` process the other, from a
site folder of its own as on another machine (it reads the config project's nodes/ from
the server over git HTTP). Spare nodes are spread over both, builds use them, a launcher
killed with ``kill -9`` has its nodes cleaned up when it comes back, and one stopped with
SIGTERM deletes its own.

Same needs as the gate test (root, local nodes, ansible) plus PostgreSQL; skipped with the
reason elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.nodes import network
from keepgreen.store import nodes as node_store
from keepgreen.store.db import Database
from tests.conftest import drop_postgres_database, make_postgres_database
from tests.e2e.pipeline_support import (
    PLAYBOOK,
    change_info,
    ci_messages,
    missing_build_tools,
    only_change,
    push_change,
    wait_for,
)
from tests.e2e.test_node_pool import JOB_CONFIG
from tests.support import KEEPGREEN, GitUser, Server, start_server

NODES = """\
providers:
  - name: local
    driver: local
    labels: [local]
    max-servers: 1
  - name: local-b
    driver: local
    labels: [local]
labels:
  - name: local
    min-ready: 2
"""
LEASE = "4"


class Launcher:
    """``keepgreen launcher`` for provider local-b, as a process of its own in ``site``."""

    def __init__(self, site: Path, password: str) -> None:
        self.site = site
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
        env["KEEPGREEN_LAUNCHER_LEASE_SECONDS"] = LEASE
        env["KEEPGREEN_EXECUTOR_PASSWORD"] = self.password
        (self.site / "logs").mkdir(parents=True, exist_ok=True)
        with open(self.site / "logs" / "launcher-b.log", "ab") as log:
            self.process = subprocess.Popen(
                [*KEEPGREEN, "launcher", str(self.site), "--provider", "local-b", "--name",
                 "launcher-b"], stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)

    def signal(self, number: int) -> int:
        assert self.process is not None
        os.killpg(self.process.pid, number)
        code = self.process.wait(60)
        self.process = None
        return code

    def log(self) -> str:
        return (self.site / "logs" / "launcher-b.log").read_text()[-3000:]


@pytest.fixture
def shared_pool(tmp_path_factory: pytest.TempPathFactory,
                postgres_admin_url: str) -> Iterator[tuple[Server, Launcher]]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the launcher test must run under CI: {problem}")
        pytest.skip(problem)
    url, name = make_postgres_database(postgres_admin_url)
    server = start_server(tmp_path_factory.mktemp("site") / "site", url,
                          extra_env={"KEEPGREEN_LAUNCHER_PROVIDERS": "local",
                                     "KEEPGREEN_LAUNCHER_LEASE_SECONDS": LEASE})
    robot = "robot-" + name[-6:]
    password = server.create_account(robot, groups=["Service Users"])
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "launcher-site"
    elsewhere.mkdir()
    (elsewhere / "keepgreen.toml").write_text(
        f'database = "{url}"\nexecutor_fetch_url = "{server.url}"\n'
        f'executor_username = "{robot}"\n')
    launcher = Launcher(elsewhere, password)
    yield server, launcher
    if launcher.process is not None:
        launcher.signal(signal.SIGTERM)
    server.stop()
    drop_postgres_database(postgres_admin_url, name)


def _nodes(server: Server) -> list[node_store.StoredNode]:
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            return node_store.all_nodes(conn)
    finally:
        db.dispose()


def _ready(server: Server) -> dict[str, str | None]:
    """provider -> launcher of the READY nodes."""
    return {s.node.provider: s.launcher for s in _nodes(server)
            if s.node.state.value == "ready"}


def _listing(server: Server) -> list[tuple[str, str, str, str | None, str]]:
    return [(s.node.id, s.node.provider, s.node.state.value, s.launcher, s.reason)
            for s in _nodes(server)]


def _tag(site: Path) -> str:
    return hashlib.sha256(str((site / "nodes-local-b").absolute()).encode()).hexdigest()[:6]


def test_two_launchers_share_the_pool_and_clean_up_after_themselves(
        shared_pool: tuple[Server, Launcher], make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    server, launcher = shared_pool
    home = tmp_path / "ops"
    admins = GitUser(home, server, "ops", server.create_account("ops",
                                                                groups=["Administrators"]))
    config = admins.clone("config", home / "config")
    (config / "nodes" / "providers.yaml").write_text(NODES)
    admins.git("commit", "-qam", "A second local provider", cwd=config)
    admins.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=config)
    launcher.start()

    ready = wait_for("a spare from each launcher",
                     lambda: (r := _ready(server)) and len(r) == 2 and r, server, timeout=90)
    assert ready["local-b"] == "launcher-b", launcher.log()
    assert ready["local"] not in (None, "launcher-b")

    server.create_project(project_name)
    alice = make_user(server, "alice")
    repo = alice.clone(project_name, tmp_path / "work")
    push_change(alice, repo, {".zuul.yaml": JOB_CONFIG,
                              "playbooks/probe.yaml": PLAYBOOK.format(command="true")},
                "Add a probe job")
    number = only_change(server, project_name, "Add a probe job")
    info = wait_for("the check report", lambda: (i := change_info(server, number))
                    and ci_messages(i, 1) and i, server, timeout=120)
    assert "probe SUCCESS" in "\n".join(ci_messages(info, 1))

    # Killed: its spare is left; the launcher that comes back under the same name deletes
    # what the dead one left and boots a new spare (local has room for one node only).
    wait_for("launcher-b's spare", lambda: _ready(server).get("local-b") == "launcher-b",
             server, timeout=90)
    left = {s.node.id for s in _nodes(server) if s.node.provider == "local-b"}
    launcher.signal(signal.SIGKILL)
    launcher.start()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        mine = {s.node.id for s in _nodes(server)
                if s.node.provider == "local-b" and s.node.state.value == "ready"}
        if mine and not mine & left:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"launcher-b did not replace the killed one's spare {left}: "
                    f"{_listing(server)}\n{launcher.log()}")
    assert not left & {s.node.id for s in _nodes(server)}

    # Stopped: its nodes are deleted, with their namespaces, and it leaves the pool.
    assert launcher.signal(signal.SIGTERM) == 0, launcher.log()
    assert not [s for s in _nodes(server) if s.launcher == "launcher-b"], _listing(server)
    assert network.listed(_tag(launcher.site)) == []
    assert not (server.site / "nodes-local-b").exists()  # every node-b lived elsewhere
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    env["KEEPGREEN_EXECUTOR_PASSWORD"] = launcher.password
    wrong = subprocess.run([*KEEPGREEN, "launcher", str(launcher.site), "--provider", "nope"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert wrong.returncode == 1
    assert "provider nope is not in the site's nodes/" in wrong.stderr
    assert "Traceback" not in wrong.stderr
