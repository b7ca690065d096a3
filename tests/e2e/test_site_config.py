"""The config project runs the site, end to end: a real server, real git, real REST clients."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from keepgreen.services.siteconf.config import CRASH_AT
from tests.e2e.gitreview_support import git_review, gitreview_clone, review_change
from tests.e2e.pipeline_support import (
    approve,
    change_info,
    ci_messages,
    ci_verified,
    only_change,
    push_change,
    scheduler_caught_up,
    status,
    wait_for,
)
from tests.support import GitUser, Server, gerrit_json, start_server
from tests.unit.test_siteconf_model import APP


def config_log(server: Server) -> list[str]:
    return subprocess.run(["git", "--git-dir", str(server.site / "git" / "config.git"), "log",
                           "--format=%an|%s"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_an_admin_adding_a_member_appears_as_a_commit_on_config(server: Server,
                                                                make_user) -> None:  # type: ignore[no-untyped-def]
    carol = make_user(server, "carol")
    name = f"org/app{uuid.uuid4().hex[:6]}"
    server.create_project(name)
    group = f"{name}-core".replace("/", "%2F")
    with server.admin_client() as admin:
        added = admin.put(f"/a/groups/{group}/members/{carol.username}")
        assert added.status_code == 201, added.text
        members = gerrit_json(admin.get(f"/a/groups/{group}/members"))
    assert carol.username in [m["username"] for m in members]
    assert config_log(server)[:2] == [f"Administrator|Add {carol.username} to {name}-core",
                                      f"Administrator|Create project {name}"]
    dave = make_user(server, "dave")  # not in the group that owns it
    with server.client(dave.username, dave.password) as c:
        refused = c.delete(f"/a/groups/{group}/members/{carol.username}")
    assert refused.status_code == 403
    assert f"needs membership in its owner group '{name}-core'" in refused.text


def _push_to_config(user: GitUser, tmp_path: Path, files: dict[str, str], message: str) -> None:
    repo = user.clone("config", tmp_path / "config")
    for path, text in files.items():
        (repo / path).write_text(text)
        user.git("add", path, cwd=repo)
    user.git("commit", "-q", "-m", message, cwd=repo)
    user.git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=repo)


@pytest.mark.parametrize("crash_at", ["after-repos", "after-store"])
def test_a_crash_during_apply_leaves_a_whole_state_and_restart_finishes_it(
        tmp_path: Path, crash_at: str) -> None:
    site = tmp_path / "site"
    server = start_server(site, extra_env={CRASH_AT: crash_at})
    try:
        server.create_account("alice")
        server.create_account("bob")
        admin = GitUser(tmp_path / "admin", server, server.admin, server.admin_password)
        _push_to_config(admin, tmp_path, {"resources/app.yaml": APP}, "Add org/app")
        server.process.wait(60)  # the apply stops the process at the chosen step
        assert server.process.returncode == 75
    finally:
        server.stop()
    _assert_whole(site, crash_at)
    restarted = _restart(server)
    try:
        with restarted.admin_client() as admin:
            found = admin.get("/a/projects/org%2Fapp")
            assert found.status_code == 200, restarted.log()[-2000:]
            members = gerrit_json(admin.get("/a/groups/org%2Fapp-core/members"))
            access = gerrit_json(admin.get("/a/projects/org%2Fapp/access"))
        assert sorted(m["username"] for m in members) == ["alice", "bob"]
        rules = access["local"]["refs/heads/*"]["permissions"]["label-Code-Review"]["rules"]
        assert rules["org/app-core"] == {"action": "ALLOW", "min": -2, "max": 2}
    finally:
        restarted.stop()


def _assert_whole(site: Path, crash_at: str) -> None:
    """Stopped before the store transaction: nothing of org/app is in the store; after it:
    everything is."""
    import sqlite3
    with sqlite3.connect(site / "keepgreen.db") as conn:
        projects = {r[0] for r in conn.execute("select name from projects")}
        groups = {r[0] for r in conn.execute("select name from groups")}
        rules = conn.execute("select count(*) from access_rules").fetchone()[0]
    if crash_at == "after-repos":
        assert ("org/app" in projects, "org/app-core" in groups, rules) == (False, False, 0)
    else:
        assert ("org/app" in projects, "org/app-core" in groups, rules) == (True, True, 1)


def _restart(old: Server) -> Server:
    import os
    import signal
    import time

    from tests.support import KEEPGREEN
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPGREEN_")}
    log = open(old.log_path, "ab")  # noqa: SIM115 - owned by the process
    process = subprocess.Popen([*KEEPGREEN, "serve", str(old.site)], stdout=log,
                               stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(old.site, old.url, old.admin, old.admin_password, process, old.log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with server.client() as c:
            try:
                if c.get("/config/server/version").status_code == 200:
                    return server
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    raise AssertionError("the server did not come back")


def test_a_new_project_the_openstack_way_in_one_reviewed_change(server: Server, make_user,  # type: ignore[no-untyped-def]
                                                                tmp_path: Path) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    core1 = make_user(server, "core", groups=["Administrators"])
    core2 = make_user(server, "core", groups=["Administrators"])
    repo = gitreview_clone(alice, "config", tmp_path / "config")
    git_review(alice, repo, "-s")
    app = APP.replace("members: [bob, alice]", f"members: [{bob.username}]")
    review_change(alice, repo, {"resources/app.yaml": app}, "Add org/app")
    number = only_change(server, "config", "Add org/app")
    info = wait_for("the plan on the change", lambda: (i := change_info(server, number))
                    and ci_verified(i) and i, server)
    assert ci_verified(info) == 1
    report = "\n".join(ci_messages(info, 1))
    assert "Plan:" in report and "create project `org/app` with group `org/app-core`" in report
    assert server.admin_client().get("/a/projects/org%2Fapp").status_code == 404

    approve(server, number, core1, core2)
    wait_for("the gate to merge the config change",
             lambda: status(server, number) == "MERGED", server)
    wait_for("org/app", lambda: server.admin_client().get("/a/projects/org%2Fapp")
             .status_code == 200, server, timeout=60)
    for user, allowed in ((bob, True), (alice, False)):
        clone = user.clone("org/app", tmp_path / f"app-{user.username}")
        push_change(user, clone, {"README": user.username}, f"Change by {user.username}")
        change = only_change(server, "org/app", f"Change by {user.username}")
        with server.client(user.username, user.password) as c:
            voted = c.post(f"/a/changes/{change}/revisions/current/review",
                           json={"labels": {"Code-Review": 2}})
        assert (voted.status_code == 200) is allowed, voted.text


def test_a_config_change_naming_a_missing_group_gets_an_error_and_cannot_merge(
        server: Server, make_user, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(server, "alice")
    core1 = make_user(server, "core", groups=["Administrators"])
    core2 = make_user(server, "core", groups=["Administrators"])
    repo = gitreview_clone(alice, "config", tmp_path / "config")
    git_review(alice, repo, "-s")
    broken = APP.replace("org/app", "org/broken").replace(
        "{group: org/broken-core, range: -2..+2}", "{group: org/nobody, range: -2..+2}")
    review_change(alice, repo, {"resources/broken.yaml": broken}, "Add org/broken")
    number = only_change(server, "config", "Add org/broken")
    info = wait_for("the config error on the change", lambda: (i := change_info(server, number))
                    and ci_verified(i) and i, server)
    assert ci_verified(info) == -1
    report = "\n".join(ci_messages(info, 1))
    line = broken.splitlines().index("          - {group: org/nobody, range: -2..+2}") + 1
    assert f"resources/broken.yaml:{line}:" in report and "org/nobody" in report, report

    approve(server, number, core1, core2)
    # Give the gate every chance to act on the approval before looking.
    wait_for("the scheduler to read the approval", lambda: scheduler_caught_up(server), server)
    with server.admin_client() as admin:
        submit = admin.post(f"/a/changes/{number}/submit")
    assert submit.status_code == 409, submit.text
    assert status(server, number) == "NEW"
    assert server.admin_client().get("/a/projects/org%2Fbroken").status_code == 404


def test_an_invalid_access_rule_over_rest_is_refused_and_leaves_config_untouched(
        server: Server) -> None:
    name = f"org/acl{uuid.uuid4().hex[:6]}"
    server.create_project(name)
    path = f"/a/projects/{name.replace('/', '%2F')}/access"
    git_dir = str(server.site / "git" / "config.git")

    def refs() -> str:
        return subprocess.run(["git", "--git-dir", git_dir, "for-each-ref",
                               "--format=%(refname) %(objectname)"], capture_output=True,
                              text=True, check=True).stdout + subprocess.run(
            ["git", "--git-dir", git_dir, "symbolic-ref", "HEAD"], capture_output=True,
            text=True, check=True).stdout

    before = refs()
    rule = {"permissions": {"read": {"rules": {"Registered Users": {"action": "ALLOW"}}}}}
    with server.admin_client() as admin:
        refused = admin.post(path, json={"add": {"^(": rule}})
        assert refused.status_code == 400, refused.text
        assert "ref pattern '^(' is not a valid regular expression" in refused.text
        assert "Traceback" not in refused.text
        assert refs() == before
        added = admin.post(path, json={"add": {"refs/heads/stable/*": rule}})
        assert added.status_code == 200, added.text
        assert "refs/heads/stable/*" in gerrit_json(added)["local"]
    assert config_log(server)[0] == f"Administrator|Change access rules of {name}"
