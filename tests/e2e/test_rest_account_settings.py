"""What an account changes about itself over Gerrit's REST API: preferences (kept across a
restart, laid over the site's defaults), watched projects, e-mail addresses, display name
and status, external ids and deleting all its drafts; who may do each, and what strangers,
anonymous callers and bad input get.

Every test runs against a real server, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pygerrit2 import GerritRestAPI

from tests.e2e.test_rest_account_details import admin_rest, anonymous, refused, rest
from tests.e2e.test_review_votes import Team
from tests.support import GitUser, Server, kill_and_restart

# -- preferences ------------------------------------------------------------------------------


def test_preferences_are_kept_across_a_restart_and_read_back_over_the_defaults(
        server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    me = rest(alice)
    before = me.get("/accounts/self/preferences")
    assert before["changes_per_page"] == 25 and before["theme"] == "AUTO"

    after = me.put("/accounts/self/preferences", json={
        "changes_per_page": 50, "theme": "dark", "size_bar_in_change_table": False,
        "my": [{"url": "#/q/is:open", "name": "Open"}], "change_table": ["Subject"],
        "no_such_field": "ignored as Gerrit ignores it"})
    assert after["changes_per_page"] == 50 and after["theme"] == "DARK"
    assert "size_bar_in_change_table" not in after  # false fields are left out
    assert after["my"] == [{"url": "#/q/is:open", "name": "Open"}]
    assert after["date_format"] == "STD"  # untouched fields keep their defaults
    assert "no_such_field" not in after

    diff = me.put("/accounts/self/preferences.diff", json={"context": 3, "show_tabs": False,
                                                           "ignore_whitespace": "IGNORE_ALL"})
    assert diff["context"] == 3 and diff["ignore_whitespace"] == "IGNORE_ALL"
    assert "show_tabs" not in diff and diff["tab_size"] == 8
    edit = me.put("/accounts/self/preferences.edit", json={"tab_size": 4,
                                                           "auto_close_brackets": True})
    assert edit["tab_size"] == 4 and edit["auto_close_brackets"] is True

    kill_and_restart(server)
    me = rest(alice)
    assert me.get("/accounts/self/preferences") == after
    assert me.get("/accounts/self/preferences.diff") == diff
    assert me.get("/accounts/self/preferences.edit") == edit
    # A later PUT changes only what it names.
    again = me.put("/accounts/self/preferences", json={"time_format": "HHMM_24"})
    assert again["time_format"] == "HHMM_24" and again["changes_per_page"] == 50


def test_bad_preferences_are_refused_whole(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    me = rest(alice)
    for kind, body, field in [
        ("preferences", {"changes_per_page": 33}, "changes_per_page"),
        ("preferences", {"theme": "PURPLE"}, "theme"),
        ("preferences", {"changes_per_page": 50, "expand_inline_diffs": "yes"},
         "expand_inline_diffs"),
        ("preferences", {"my": [{"url": "#/x"}]}, "my[0].name"),
        ("preferences", {"my": "everything"}, "my"),
        ("preferences.diff", {"context": "ten"}, "context"),
        ("preferences.diff", {"tab_size": 0}, "tab_size"),
        ("preferences.edit", {"line_length": 10**9}, "line_length"),
    ]:
        status, reason = refused(lambda k=kind, b=body: me.put(f"/accounts/self/{k}", json=b))
        assert status == 400 and field in reason, (kind, body, reason)
    status, _ = refused(lambda: me.put("/accounts/self/preferences", json=[1, 2]))
    assert status == 400
    assert me.get("/accounts/self/preferences")["changes_per_page"] == 25


def test_only_the_account_or_an_administrator_reads_and_sets_its_preferences(
        server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    path = f"/accounts/{alice.username}/preferences"
    status, reason = refused(lambda: rest(bob).put(path, json={"changes_per_page": 10}))
    assert status == 403 and "administrator" in reason
    assert refused(lambda: rest(bob).get(path))[0] == 403
    assert refused(lambda: anonymous(server).get(path))[0] in (401, 404)
    assert refused(lambda: rest(bob).put("/accounts/nobody-at-all/preferences.diff",
                                         json={}))[0] == 404
    assert admin_rest(server).put(path, json={"changes_per_page": 10})["changes_per_page"] == 10
    assert rest(alice).get("/accounts/self/preferences")["changes_per_page"] == 10


def test_site_defaults_apply_to_every_field_an_account_did_not_set(server: Server,
                                                                   make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    rest(alice).put("/accounts/self/preferences.diff", json={"context": 5})
    status, reason = refused(lambda: rest(bob).put("/config/server/preferences.diff",
                                                   json={"context": 1}))
    assert status == 403 and "Administrators" in reason
    admin = admin_rest(server)
    try:
        site = admin.put("/config/server/preferences.diff", json={"context": 20,
                                                                  "line_length": 80})
        assert site["context"] == 20 and site["line_length"] == 80
        assert anonymous(server).get("/config/server/preferences.diff") == site
        assert rest(bob).get("/accounts/self/preferences.diff")["line_length"] == 80
        mine = rest(alice).get("/accounts/self/preferences.diff")
        assert mine["context"] == 5 and mine["line_length"] == 80
        assert refused(lambda: admin.put("/config/server/preferences",
                                         json={"diff_view": "SIDEWAYS"}))[0] == 400
        newcomer = make_user(server, "newcomer")
        assert rest(newcomer).get("/accounts/self/preferences.diff")["context"] == 20
    finally:
        admin.put("/config/server/preferences.diff", json={"context": 10,
                                                           "line_length": 100})


# -- watched projects ---------------------------------------------------------------------


def _hide(server: Server, name: str, user: GitUser) -> None:
    """Block read on project ``name`` for a group that holds ``user``."""
    group = f"outsiders-{uuid.uuid4().hex[:8]}"
    with server.admin_client() as c:
        r = c.put(f"/a/groups/{group}", json={"members": [user.username]})
        assert r.status_code == 201, r.text
        r = c.post(f"/a/projects/{quote(name, safe='')}/access", json={"add": {"refs/*": {
            "permissions": {"read": {"rules": {group: {"action": "BLOCK"}}}}}}})
        assert r.status_code == 200, r.text


def _hidden_project(server: Server, user: GitUser) -> str:
    """A new project that ``user`` may not read."""
    name = f"secret/p{uuid.uuid4().hex[:8]}"
    server.create_project(name)
    _hide(server, name, user)
    return name


def test_an_account_watches_projects_it_may_read(server: Server, make_user,
                                                 project_name: str) -> None:
    server.create_project(project_name)
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me = rest(alice)
    assert me.get("/accounts/self/watched.projects") == []
    watched = me.post("/accounts/self/watched.projects", json=[
        {"project": project_name, "notify_new_changes": True, "notify_all_comments": True},
        {"project": project_name, "filter": "branch:stable", "notify_submitted_changes": True}])
    assert watched == [
        {"project": project_name, "notify_new_changes": True, "notify_all_comments": True},
        {"project": project_name, "filter": "branch:stable",
         "notify_submitted_changes": True}]
    # Posting again updates; omitted flags turn false.
    updated = me.post("/accounts/self/watched.projects",
                      json=[{"project": project_name, "notify_new_patch_sets": True}])
    assert updated[0] == {"project": project_name, "notify_new_patch_sets": True}
    assert admin_rest(server).get(f"/accounts/{alice.username}/watched.projects") == updated

    _, response = me.post("/accounts/self/watched.projects:delete",
                          json=[{"project": project_name}], return_response=True)
    assert response.status_code == 204
    assert me.get("/accounts/self/watched.projects") == [
        {"project": project_name, "filter": "branch:stable", "notify_submitted_changes": True}]

    path = f"/accounts/{alice.username}/watched.projects"
    assert refused(lambda: rest(bob).get(path))[0] == 403
    assert refused(lambda: rest(bob).post(path, json=[{"project": project_name}]))[0] == 403
    assert refused(lambda: anonymous(server).get(path))[0] in (401, 404)


def test_watching_a_project_one_cannot_read_is_like_watching_none(server: Server,
                                                                   make_user) -> None:
    bob = make_user(server, "bob")
    secret = _hidden_project(server, bob)
    me = rest(bob)
    for name in (secret, "no/such/project"):
        status, reason = refused(lambda n=name: me.post("/accounts/self/watched.projects",
                                                        json=[{"project": n}]))
        assert status == 422 and reason == f"project {name!r} not found"
    # An administrator watching on bob's behalf cannot reach past bob's access either.
    assert refused(lambda: admin_rest(server).post(
        f"/accounts/{bob.username}/watched.projects", json=[{"project": secret}]))[0] == 422
    assert me.get("/accounts/self/watched.projects") == []
    # A watch on a project the account can no longer read drops out of its list.
    later = f"later/p{uuid.uuid4().hex[:8]}"
    server.create_project(later)
    assert me.post("/accounts/self/watched.projects", json=[{"project": later}]) == [
        {"project": later}]
    _hide(server, later, bob)
    assert me.get("/accounts/self/watched.projects") == []
    assert admin_rest(server).post("/accounts/self/watched.projects",
                                   json=[{"project": secret}]) == [{"project": secret}]
    for body in ({"project": secret}, [{"filter": "x"}], [{"project": 5}],
                 [{"project": secret}, {"project": secret}], ["text"]):
        assert refused(lambda b=body: me.post("/accounts/self/watched.projects",
                                              json=b))[0] == 400, body


# -- e-mail addresses, display name, status, username ----------------------------------------


def test_administrators_add_addresses_and_the_account_picks_its_preferred(server: Server,
                                                                          make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me, admin = rest(alice), admin_rest(server)
    first = f"{alice.username}@example.org"
    second = f"second-{alice.username}@example.org"
    status, reason = refused(lambda: me.put(f"/accounts/self/emails/{second}", json={}))
    assert status == 403 and "confirmation" in reason

    _, response = admin.put(f"/accounts/{alice.username}/emails/{second}",
                            json={"no_confirmation": True}, return_response=True)
    assert response.status_code == 201
    assert me.get("/accounts/self/emails") == [{"email": first, "preferred": True},
                                               {"email": second}]
    assert me.get(f"/accounts/self/emails/{second.upper()}") == {"email": second}
    status, reason = refused(lambda: admin.put(f"/accounts/{bob.username}/emails/{second}",
                                               json={}))
    assert status == 409 and "another account" in reason
    assert refused(lambda: admin.put(f"/accounts/{bob.username}/emails/not-an-address",
                                     json={}))[0] == 400
    # Nor does a new account get an address another account already holds.
    assert refused(lambda: admin.put(f"/accounts/x{uuid.uuid4().hex[:8]}",
                                     json={"email": second.upper()}))[0] == 409

    _, response = me.put(f"/accounts/self/emails/{second}/preferred", return_response=True)
    assert response.status_code == 201
    _, response = me.put(f"/accounts/self/emails/{second}/preferred", return_response=True)
    assert response.status_code == 200
    assert me.get("/accounts/self")["email"] == second
    assert me.get("/accounts/self/emails/preferred") == {"email": second, "preferred": True}
    assert refused(lambda: rest(bob).put(f"/accounts/{alice.username}/emails/{first}/preferred"
                                         ))[0] == 403
    assert refused(lambda: me.put("/accounts/self/emails/who@else.org/preferred"))[0] == 404

    _, response = me.delete(f"/accounts/self/emails/{first}", return_response=True)
    assert response.status_code == 204
    assert me.get("/accounts/self/emails") == [{"email": second, "preferred": True}]
    assert refused(lambda: me.delete(f"/accounts/self/emails/{first}"))[0] == 404


def test_display_name_status_and_username(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me = rest(alice)
    assert me.put("/accounts/self/status", json={"status": "On holiday"}) == "On holiday"
    assert anonymous(server).get(f"/accounts/{alice.username}/status") == "On holiday"
    _, response = me.put("/accounts/self/status", json={}, return_response=True)
    assert response.status_code == 204
    assert me.get("/accounts/self/status") == ""
    assert me.put("/accounts/self/displayname", json={"display_name": "Al"}) == "Al"
    assert refused(lambda: me.put("/accounts/self/displayname",
                                  json={"display_name": "two\nlines"}))[0] == 400
    assert refused(lambda: rest(bob).put(f"/accounts/{alice.username}/status",
                                         json={"status": "Gone"}))[0] == 403

    assert me.put("/accounts/self/username", json={"username": alice.username}) == \
        alice.username
    status, reason = refused(lambda: me.put("/accounts/self/username",
                                            json={"username": "renamed"}))
    assert status == 405 and "cannot be changed" in reason
    assert me.get("/accounts/self/username") == alice.username


def test_accounts_are_deactivated_not_deleted(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    status, reason = refused(lambda: rest(alice).delete("/accounts/self"))
    assert status == 405 and "deactivate" in reason
    assert refused(lambda: rest(bob).delete(f"/accounts/{alice.username}"))[0] == 403
    assert refused(lambda: admin_rest(server).delete(f"/accounts/{alice.username}"))[0] == 403
    assert rest(alice).get("/accounts/self")["username"] == alice.username


def test_external_ids_list_the_username_and_addresses(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me = rest(alice)
    email = f"{alice.username}@example.org"
    other = f"other-{alice.username}@example.org"
    admin_rest(server).put(f"/accounts/{alice.username}/emails/{other}",
                           json={"no_confirmation": True})
    ids = me.get("/accounts/self/external.ids")
    assert ids == [
        {"identity": f"username:{alice.username}", "trusted": True},
        {"identity": f"mailto:{email}", "email_address": email, "trusted": True,
         "can_delete": True},
        {"identity": f"mailto:{other}", "email_address": other, "trusted": True,
         "can_delete": True}]
    assert refused(lambda: rest(bob).get(f"/accounts/{alice.username}/external.ids"))[0] == 403

    status, reason = refused(lambda: me.post("/accounts/self/external.ids:delete",
                                             json=[f"username:{alice.username}"]))
    assert status == 409 and "signs in" in reason
    status, reason = refused(lambda: me.post("/accounts/self/external.ids:delete",
                                             json=[f"mailto:{other}", "mailto:x@y.org"]))
    assert status == 422 and "mailto:x@y.org" in reason
    assert len(me.get("/accounts/self/external.ids")) == 3  # nothing deleted
    assert refused(lambda: me.post("/accounts/self/external.ids:delete",
                                   json={"ids": []}))[0] == 400
    _, response = me.post("/accounts/self/external.ids:delete", json=[f"mailto:{other}"],
                          return_response=True)
    assert response.status_code == 204
    assert [i["identity"] for i in me.get("/accounts/self/external.ids")] == [
        f"username:{alice.username}", f"mailto:{email}"]
    assert me.get("/accounts/self/state")["external_ids"][1]["identity"] == f"mailto:{email}"


# -- drafts ---------------------------------------------------------------------------------


def _draft(api: GerritRestAPI, number: int, text: str) -> Any:
    return api.put(f"/changes/{number}/revisions/current/drafts",
                   json={"path": "a.txt", "line": 1, "message": text})


def test_deleting_drafts_by_query_and_all_at_once(server: Server, make_user,
                                                  project_name: str, tmp_path: Path) -> None:
    team = Team.start(server, make_user, project_name, tmp_path)
    first = team.upload("a.txt", "one\n", "First change")
    second = team.upload("a.txt", "two\n", "Second change")
    bob = team.api(team.bob)
    kept = _draft(bob, first, "On the first")
    _draft(bob, second, "On the second")
    _draft(team.api(team.carol), second, "Carol's own")
    team.api(team.alice).post(f"/changes/{second}/abandon", json={})

    deleted = bob.post("/accounts/self/drafts:delete", json={"query": "is:abandoned"})
    assert [d["change"]["_number"] for d in deleted] == [second]
    assert [c["message"] for c in deleted[0]["deleted"]] == ["On the second"]
    assert deleted[0]["change"]["status"] == "ABANDONED"
    assert bob.get(f"/changes/{second}/drafts") == {}
    assert team.api(team.carol).get(f"/changes/{second}/drafts")["a.txt"][0]["message"] == \
        "Carol's own"

    status, reason = refused(lambda: bob.post(f"/accounts/{team.carol.username}/drafts:delete",
                                              json={}))
    assert status == 403 and "author" in reason
    assert refused(lambda: bob.post("/accounts/self/drafts:delete",
                                    json={"query": "is:"}))[0] == 400
    everything = bob.post("/accounts/self/drafts:delete", json={})
    assert [(d["change"]["_number"], [c["id"] for c in d["deleted"]]) for d in everything] == \
        [(first, [kept["id"]])]
    assert bob.post("/accounts/self/drafts:delete", json={}) == []
