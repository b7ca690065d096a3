"""The server's own REST endpoints (``/config/server/...``) and the Gerrit features keepgreen
does not have, answered as Gerrit answers when they are empty or off: plugins, caches,
tasks, GPG keys, contributor agreements, avatars, flows and index requests.

Every test runs against a real server, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_rest_account_details import admin_rest, anonymous, refused, rest
from tests.e2e.test_review_votes import Team
from tests.support import Server


def test_capabilities_and_top_menus_are_listed_to_anyone(server: Server) -> None:
    capabilities = anonymous(server).get("/config/server/capabilities")
    assert capabilities["createProject"] == {"id": "createProject", "name": "Create Project"}
    assert capabilities["runGC"]["name"] == "Run Garbage Collection"
    assert {"administrateServer", "queryLimit", "priority", "viewQueue"} <= set(capabilities)
    assert list(capabilities) == sorted(capabilities)
    assert anonymous(server).get("/config/server/top-menus") == []


def test_administrators_see_a_summary_of_the_running_server(server: Server,
                                                            make_user) -> None:
    summary = admin_rest(server).get("/config/server/summary?jvm")
    assert summary["task_summary"] == {}
    memory = summary["mem_summary"]
    assert memory["used"][-1] in "kmg" and float(memory["used"][:-1]) > 0
    assert memory["open_files"] > 0
    assert summary["thread_summary"]["cpus"] >= 1
    assert summary["thread_summary"]["threads"] >= 1
    assert summary["jvm_summary"]["site"] == str(server.site)
    assert "jvm_summary" not in admin_rest(server).get("/config/server/summary")
    bob = make_user(server, "bob")
    status, reason = refused(lambda: rest(bob).get("/config/server/summary"))
    assert status == 403 and "Administrators" in reason


def test_reload_reports_site_file_settings_that_need_a_restart(server: Server,
                                                               make_user) -> None:
    admin = admin_rest(server)
    assert admin.post("/config/server/reload") == {"applied": [], "rejected": []}
    site_file = server.site / "keepgreen.toml"
    original = site_file.read_text()
    try:
        site_file.write_text(original + "login_max_failures = 77\n")
        answer = admin.post("/config/server/reload")
        (entry,) = answer["rejected"]
        assert entry["config_key"] == "login_max_failures" and entry["new_value"] == "77"
        site_file.write_text(original + "no_such_setting = 1\n")
        status, reason = refused(lambda: admin.post("/config/server/reload"))
        assert status == 409 and "no_such_setting" in reason
    finally:
        site_file.write_text(original)
    bob = make_user(server, "bob")
    assert refused(lambda: rest(bob).post("/config/server/reload"))[0] == 403


def test_consistency_checks_find_an_address_held_twice(server: Server, make_user) -> None:
    admin = admin_rest(server)
    clean = admin.post("/config/server/check.consistency",
                       json={"check_accounts": {}, "check_groups": {}})
    assert clean == {"check_accounts_result": {"problems": []},
                     "check_groups_result": {"problems": []}}
    assert admin.post("/config/server/check.consistency", json={}) == {}
    assert refused(lambda: admin.post("/config/server/check.consistency",
                                      json={"check_accounts": 5}))[0] == 400
    bob = make_user(server, "bob")
    assert refused(lambda: rest(bob).post("/config/server/check.consistency",
                                          json={"check_accounts": {}}))[0] == 403


def test_email_confirmation_tokens_do_not_exist(server: Server, make_user) -> None:
    bob = make_user(server, "bob")
    status, reason = refused(lambda: rest(bob).put("/config/server/email.confirm",
                                                   json={"token": "anything"}))
    assert status == 422 and "no confirmation e-mails" in reason
    assert refused(lambda: rest(bob).put("/config/server/email.confirm",
                                         json={"token": 5}))[0] == 400
    with server.client() as c:
        assert c.put("/config/server/email.confirm", json={"token": "x"}).status_code == 401


def test_no_plugins_caches_or_tasks_and_only_administrators_ask(server: Server,
                                                               make_user) -> None:
    admin = admin_rest(server)
    assert admin.get("/plugins/") == {}
    assert admin.get("/config/server/caches/") == {}
    assert admin.get("/config/server/caches/?format=LIST") == []
    assert admin.get("/config/server/tasks/") == []
    with server.admin_client() as c:
        r = c.post("/a/config/server/caches/", json={"operation": "FLUSH_ALL"})
        assert r.status_code == 200
        r = c.get("/a/config/server/caches/?format=TEXT_LIST")
        assert r.status_code == 200 and r.text == ""
    for method, path, expected in [
        ("GET", "/plugins/webhooks/gerrit~status", 404),
        ("POST", "/plugins/webhooks/gerrit~enable", 404),
        ("DELETE", "/plugins/webhooks", 404),
        ("PUT", "/plugins/webhooks.jar", 405),
        ("GET", "/config/server/caches/projects", 404),
        ("POST", "/config/server/caches/projects/flush", 404),
        ("GET", "/config/server/tasks/1e688bea", 404),
        ("DELETE", "/config/server/tasks/1e688bea", 404),
    ]:
        with server.admin_client() as c:
            r = c.request(method, "/a" + path, json={} if method in ("PUT", "POST") else None)
        assert r.status_code == expected, (method, path, r.text)
        assert not r.text.startswith(")]}'") and r.text.strip(), r.text
    status, reason = refused(lambda: admin.post("/config/server/caches/", json={
        "operation": "FLUSH", "caches": ["projects"]}))
    assert status == 422 and "projects" in reason
    assert refused(lambda: admin.post("/config/server/caches/",
                                      json={"operation": "EXPLODE"}))[0] == 400

    bob = make_user(server, "bob")
    for path in ("/plugins/", "/config/server/caches/", "/config/server/tasks/",
                 "/config/server/tasks/1e688bea", "/plugins/webhooks/gerrit~status"):
        assert refused(lambda p=path: rest(bob).get(p))[0] == 403, path
    assert refused(lambda: rest(bob).post("/config/server/caches/",
                                          json={"operation": "FLUSH_ALL"}))[0] == 403


def test_accounts_have_no_gpg_keys_agreements_or_avatars(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me = rest(alice)
    assert me.get("/accounts/self/gpgkeys") == {}
    assert me.get("/accounts/self/agreements") == []
    assert me.post("/accounts/self/gpgkeys", json={}) == {}
    assert refused(lambda: me.get("/accounts/self/gpgkeys/AFC8A49B"))[0] == 404
    assert refused(lambda: me.delete("/accounts/self/gpgkeys/AFC8A49B"))[0] == 404
    status, reason = refused(lambda: me.post("/accounts/self/gpgkeys", json={
        "add": ["-----BEGIN PGP PUBLIC KEY BLOCK-----"]}))
    assert status == 405 and "signed pushes" in reason
    assert refused(lambda: me.put("/accounts/self/agreements",
                                  json={"name": "Individual"}))[0] == 405
    assert refused(lambda: rest(bob).get(f"/accounts/{alice.username}/gpgkeys"))[0] == 403
    assert refused(lambda: rest(bob).get(f"/accounts/{alice.username}/agreements"))[0] == 403
    assert admin_rest(server).get(f"/accounts/{alice.username}/gpgkeys") == {}
    status, reason = refused(lambda: anonymous(server).get(
        f"/accounts/{alice.username}/avatar?s=20"))
    assert status == 404 and "avatar" in reason
    assert refused(lambda: me.get("/accounts/self/avatar.change.url"))[0] == 404


@pytest.fixture(scope="module")
def team(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Team:
    from tests.e2e.test_gerrit_compatibility import user_maker

    root = tmp_path_factory.mktemp("server-details")
    return Team.start(server, user_maker(root), "server-details", root)


def test_changes_have_no_flows_and_indexing_is_a_no_op(team: Team) -> None:
    number = team.upload("flows.txt", "flows\n", "Add a file")
    bob, alice = team.api(team.bob), team.api(team.alice)
    assert bob.get(f"/changes/{number}/is-flows-enabled") == {"enabled": False}
    assert bob.get(f"/changes/{number}/flows/") == []
    assert bob.get(f"/changes/{number}/flows-actions/") == []
    assert refused(lambda: bob.get(f"/changes/{number}/flows/compat"))[0] == 404
    assert refused(lambda: bob.post(f"/changes/{number}/flows/", json={}))[0] == 405
    assert refused(lambda: bob.get("/changes/999999/is-flows-enabled"))[0] == 404

    with team.server.client(team.alice.username, team.alice.password) as c:
        assert c.post(f"/a/changes/{number}/index").status_code == 204
        assert c.post("/a/accounts/self/index").status_code == 204
    with team.server.client(team.bob.username, team.bob.password) as c:
        assert c.post(f"/a/changes/{number}/index").status_code == 403
        assert c.post(f"/a/accounts/{team.alice.username}/index").status_code == 403
        assert c.post("/a/projects/server-details/index", json={}).status_code == 403
        assert c.post("/a/config/server/index.changes",
                      json={"changes": [str(number)]}).status_code == 403
    with team.server.admin_client() as c:
        assert c.post("/a/projects/server-details/index", json={}).status_code == 204
        assert c.post("/a/projects/server-details/index.changes").status_code == 204
        assert c.post("/a/projects/no-such-project/index", json={}).status_code == 404
        r = c.post("/a/config/server/index.changes", json={"changes": [str(number)]})
        assert r.status_code == 204
        r = c.post("/a/config/server/index.changes", json={"changes": "all"})
        assert r.status_code == 400
        assert c.post("/a/groups/Administrators/index").status_code == 204
    assert alice.get(f"/changes/{number}")["_number"] == number
