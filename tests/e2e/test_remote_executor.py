"""An executor as it runs on another machine: its site folder holds only its settings (the
server's PostgreSQL, the server's URL, its own account in Service Users) and the site key,
no repositories; it fetches every build's sources over git HTTP. The server runs no builds
itself. A config change and then a project change are checked and gated by it, the logs
of every build are sent to the server and served there, and the refs that kept their
commits fetchable are gone once their build sets end.

Same needs as the gate test (root, local nodes, ansible) plus PostgreSQL; skipped with the
reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.store import builds as build_store
from keepgreen.store.db import Database
from tests.conftest import drop_postgres_database, make_postgres_database
from tests.e2e.pipeline_support import (
    approve,
    branch_tip_contains,
    make_core,
    missing_build_tools,
    new_change,
    only_change,
    status,
    wait_checked,
    wait_for,
)
from tests.e2e.test_gate_pipeline import land_config
from tests.support import KEEPGREEN, GitUser, Server, start_server


@pytest.fixture
def remote(tmp_path_factory: pytest.TempPathFactory, make_user,  # type: ignore[no-untyped-def]
           postgres_admin_url: str) -> Iterator[tuple[Server, Path, GitUser]]:
    problem = missing_build_tools()
    if problem:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the remote executor test must run under CI: {problem}")
        pytest.skip(problem)
    url, name = make_postgres_database(postgres_admin_url)
    server = start_server(tmp_path_factory.mktemp("site") / "site", url,
                          extra_env={"KEEPGREEN_LOCAL_EXECUTOR": "false"})
    robot = make_user(server, "executor", groups=["Service Users"])
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "executor-site"
    (elsewhere / "secrets").mkdir(parents=True)
    shutil.copy(server.site / "secrets" / "site.key", elsewhere / "secrets" / "site.key")
    (elsewhere / "keepgreen.toml").write_text(
        f'database = "{url}"\nexecutor_fetch_url = "{server.url}"\n'
        f'executor_username = "{robot.username}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    env["KEEPGREEN_EXECUTOR_PASSWORD"] = robot.password or ""
    log_path = elsewhere / "executor.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([*KEEPGREEN, "executor", str(elsewhere), "--name",
                                    "far-away"], cwd=elsewhere, stdout=log,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
    yield server, elsewhere, robot
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
    server.stop()
    drop_postgres_database(postgres_admin_url, name)


def _source_refs(server: Server, project: str) -> list[str]:
    out = subprocess.run(["git", "--git-dir", str(server.site / "git" / f"{project}.git"),
                          "for-each-ref", "--format=%(refname)", "refs/keepgreen/"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def test_an_executor_with_no_repositories_of_its_own_checks_and_gates_changes(
        remote: tuple[Server, Path, GitUser], make_user, project_name: str,  # type: ignore[no-untyped-def]
        tmp_path: Path) -> None:
    server, elsewhere, _robot = remote
    owner, core1, core2 = (make_user(server, n) for n in ("owner", "core1", "core2"))
    server.create_project(project_name)
    make_core(server, project_name, core1, core2)
    repo = owner.clone(project_name, tmp_path / "work")
    config = land_config(server, project_name, owner, core1, core2, repo)  # gated far away

    new_change(owner, repo, {"a.txt": "a\n"}, "Change A")
    a = only_change(server, project_name, "Change A")
    wait_checked(server, a)
    approve(server, a, core1, core2)
    wait_for("A to merge", lambda: status(server, a) == "MERGED", server, timeout=180)
    assert branch_tip_contains(server, owner, repo, a)

    with server.client() as c:
        builds = c.get("/api/builds", params={"project": project_name}).json()
    uuids = [b["uuid"] for b in builds]
    assert uuids and all(b["result"] == "SUCCESS" for b in builds), builds
    # Every build ran in the far executor's folders, from its own mirror of the project.
    assert all((elsewhere / "builds" / u).is_dir() for u in uuids), uuids
    # ... and only its logs came to the server, where the log server serves them.
    db = Database(settings_mod.load(server.site).database_url)
    try:
        with db.read() as conn:
            stored = {b.uuid: b for number in (config, a)
                      for b in build_store.builds_of(conn, number)}
    finally:
        db.dispose()
    assert set(stored) == set(uuids)
    for build in builds:
        u = build["uuid"]
        attempt = server.site / "builds" / u / "1"
        assert [p.name for p in attempt.parent.iterdir()] == ["1"]
        assert [p.name for p in attempt.iterdir()] == ["work"]
        assert [p.name for p in (attempt / "work").iterdir()] == ["logs"]
        assert build["log_url"] == f"{server.url}logs/{u}/"
        with server.client() as c:
            output = c.get(f"/logs/{u}/job-output.txt")
        assert output.status_code == 200, output.text
        assert f"build {u} of job {build['job']}" in output.text
        assert "[executor] result: SUCCESS" in output.text, output.text
    for u, record in stored.items():
        assert record.log_dir == str(server.site / "builds" / u / "1" / "work" / "logs")
    assert (elsewhere / "builds" / ".sources" / "mirrors" / f"{project_name}.git").is_dir()
    assert not (elsewhere / "git").exists()
    assert not list((elsewhere / "builds" / ".sources" / "checkouts").iterdir())
    wait_for("the source refs of the ended build sets to go",
             lambda: _source_refs(server, project_name) == [], server, timeout=30)
