"""The parts of an account over Gerrit's REST API, as scripts and review tools use them:
name, username, active flag, status, e-mail addresses, capabilities, preferences, state and
starred changes; who may read and change each, and what strangers and anonymous callers get.

Every test runs against a real server, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import requests
from pygerrit2 import Anonymous, GerritRestAPI, HTTPBasicAuth

from tests.support import GitUser, Server


def rest(user: GitUser) -> GerritRestAPI:
    return GerritRestAPI(user.server.url, auth=HTTPBasicAuth(user.username, user.password))


def anonymous(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=Anonymous())


def admin_rest(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=HTTPBasicAuth(server.admin, server.admin_password))


def refused(call: Callable[[], object]) -> tuple[int, str]:
    """The status and plain-text reason of a call the server is expected to refuse."""
    with pytest.raises(requests.HTTPError) as failure:
        call()
    response = failure.value.response
    reason = response.text.strip()
    assert not reason.startswith(")]}'") and "\n" not in reason, repr(response.text)
    return response.status_code, reason


def status_of(server: Server, path: str, user: GitUser | None = None) -> int:
    auth = (user.username, user.password) if user else None
    prefix = "/a" if user else ""
    with server.client(*(auth or ())) as c:
        return c.get(prefix + path).status_code


# -- name, username, status ----------------------------------------------------------------

def test_account_names_itself_and_deletes_its_name(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    me = rest(alice)
    assert me.get("/accounts/self/name") == alice.username.title()
    assert anonymous(server).get(f"/accounts/{alice.username}/name") == alice.username.title()

    assert me.put("/accounts/self/name", json={"name": "Alice Liddell"}) == "Alice Liddell"
    assert me.get("/accounts/self/name") == "Alice Liddell"
    assert me.get("/accounts/self")["name"] == "Alice Liddell"

    # Absent or empty, the name is deleted: 204, and an empty name reads back.
    _, response = me.put("/accounts/self/name", json={}, return_response=True)
    assert response.status_code == 204
    assert me.get("/accounts/self/name") == ""
    me.put("/accounts/self/name", json={"name": "Alice"})
    _, response = me.delete("/accounts/self/name", return_response=True)
    assert response.status_code == 204
    assert me.get(f"/accounts/{alice.username}/name") == ""


def test_only_the_account_or_an_administrator_sets_its_name(server: Server,
                                                            make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    status, reason = refused(lambda: rest(bob).put(f"/accounts/{alice.username}/name",
                                                   json={"name": "Not Alice"}))
    assert status == 403 and "administrator" in reason
    assert refused(lambda: rest(bob).delete(f"/accounts/{alice.username}/name"))[0] == 403
    assert rest(alice).get("/accounts/self/name") == alice.username.title()

    admin = admin_rest(server)
    assert admin.put(f"/accounts/{alice.username}/name", json={"name": "A. L."}) == "A. L."
    assert rest(alice).get("/accounts/self/name") == "A. L."

    with server.client() as c:
        assert c.put(f"/accounts/{alice.username}/name", json={"name": "x"}).status_code == 401
    assert refused(lambda: admin.put("/accounts/no-such-account/name",
                                     json={"name": "x"}))[0] == 404


@pytest.mark.parametrize("body, why", [
    ({"name": 42}, "must be a string"),
    ({"name": "two\nlines"}, "one line"),
    ({"name": "x" * 256}, "255"),
    (["a list"], "JSON object"),
])
def test_bad_names_are_refused_in_one_line(server: Server, make_user, body: object,
                                           why: str) -> None:
    alice = make_user(server, "alice")
    status, reason = refused(lambda: rest(alice).put("/accounts/self/name", json=body))
    assert status == 400 and why in reason
    assert rest(alice).get("/accounts/self/name") == alice.username.title()


def test_username_and_status_read_by_anyone(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    assert rest(alice).get("/accounts/self/username") == alice.username
    assert anonymous(server).get(f"/accounts/{alice.username}/username") == alice.username
    # keepgreen keeps no status message: the empty string Gerrit gives for an unset one.
    assert rest(alice).get("/accounts/self/status") == ""
    assert anonymous(server).get(f"/accounts/{alice.username}/status") == ""

    assert refused(lambda: anonymous(server).get("/accounts/no-such-account/username"))[0] \
        == 404
    # 'self' needs a signed-in caller; an e-mail address finds nobody for anonymous callers.
    assert refused(lambda: anonymous(server).get("/accounts/self/name"))[0] == 401
    assert refused(lambda: anonymous(server).get(
        f"/accounts/{alice.username}@example.org/name"))[0] == 404
    assert rest(alice).get(f"/accounts/{alice.username}@example.org/username") \
        == alice.username


# -- active --------------------------------------------------------------------------------

def test_administrator_deactivates_and_reactivates_an_account(server: Server,
                                                              make_user) -> None:
    alice = make_user(server, "alice")
    admin = admin_rest(server)
    assert anonymous(server).get(f"/accounts/{alice.username}/active") == "ok"

    _, response = admin.delete(f"/accounts/{alice.username}/active", return_response=True)
    assert response.status_code == 204
    with server.client() as c:
        assert c.get(f"/accounts/{alice.username}/active").status_code == 204
    # An inactive account no longer signs in.
    assert status_of(server, "/accounts/self", alice) == 401
    status, reason = refused(lambda: admin.delete(f"/accounts/{alice.username}/active"))
    assert status == 409 and "inactive" in reason

    _, response = admin.put(f"/accounts/{alice.username}/active", return_response=True)
    assert response.status_code == 201
    _, response = admin.put(f"/accounts/{alice.username}/active", return_response=True)
    assert response.status_code == 200
    assert rest(alice).get("/accounts/self/active") == "ok"


def test_only_administrators_change_the_active_flag(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    for call in (lambda: rest(bob).delete(f"/accounts/{alice.username}/active"),
                 lambda: rest(bob).put(f"/accounts/{alice.username}/active"),
                 lambda: rest(alice).delete("/accounts/self/active")):
        status, reason = refused(call)
        assert status == 403 and "Administrators" in reason
    assert rest(alice).get("/accounts/self/active") == "ok"

    # An administrator cannot lock themselves out.
    status, reason = refused(lambda: admin_rest(server).delete("/accounts/self/active"))
    assert status == 409 and "own account" in reason
    assert admin_rest(server).get("/accounts/self/active") == "ok"

    with server.client() as c:
        assert c.delete(f"/accounts/{alice.username}/active").status_code == 401
    assert refused(lambda: admin_rest(server).put("/accounts/no-such-account/active"))[0] \
        == 404


# -- e-mail addresses ----------------------------------------------------------------------

def test_account_lists_its_own_email(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    email = f"{alice.username}@example.org"
    me = rest(alice)
    assert me.get("/accounts/self/emails") == [{"email": email, "preferred": True}]
    assert me.get(f"/accounts/self/emails/{email}") == {"email": email, "preferred": True}
    assert me.get("/accounts/self/emails/preferred") == {"email": email, "preferred": True}
    assert admin_rest(server).get(f"/accounts/{alice.username}/emails") == [
        {"email": email, "preferred": True}]

    assert refused(lambda: me.get("/accounts/self/emails/someone@example.org"))[0] == 404
    # Someone else's addresses are not for other users, nor for anonymous callers.
    status, reason = refused(lambda: rest(bob).get(f"/accounts/{alice.username}/emails"))
    assert status == 403 and "e-mail" in reason
    assert refused(lambda: rest(bob).get(
        f"/accounts/{alice.username}/emails/{email}"))[0] == 403
    assert refused(lambda: anonymous(server).get(
        f"/accounts/{alice.username}/emails"))[0] == 401


# -- capabilities --------------------------------------------------------------------------

def test_capabilities_of_users_and_administrators(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    mine = rest(alice).get("/accounts/self/capabilities")
    assert mine["emailReviewers"] is True
    assert mine["queryLimit"] == {"min": 0, "max": 500}
    assert "administrateServer" not in mine and "createProject" not in mine

    admin = admin_rest(server)
    theirs = admin.get("/accounts/self/capabilities")
    for name in ("administrateServer", "createAccount", "createGroup", "createProject",
                 "viewQueue", "runGC"):
        assert theirs[name] is True, name
    assert "runAs" not in theirs
    # An administrator may look at anyone's; Alice's stay Alice's.
    assert admin.get(f"/accounts/{alice.username}/capabilities") == mine


def test_capabilities_filtered_and_checked_one_by_one(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    admin = admin_rest(server)
    assert admin.get("/accounts/self/capabilities?q=createAccount&q=createGroup") == {
        "createAccount": True, "createGroup": True}
    assert admin.get("/accounts/self/capabilities?q=createaccount,queryLimit") == {
        "createAccount": True, "queryLimit": {"min": 0, "max": 500}}
    assert rest(alice).get("/accounts/self/capabilities?q=createGroup") == {}
    assert rest(alice).get("/accounts/self/capabilities?q=nonsense") == {}

    with server.client(server.admin, server.admin_password) as c:
        response = c.get("/a/accounts/self/capabilities/createGroup")
    assert response.status_code == 200 and response.text.strip() == "ok"
    assert status_of(server, "/accounts/self/capabilities/createGroup", alice) == 404
    assert status_of(server, "/accounts/self/capabilities/emailReviewers", alice) == 200
    assert status_of(server, "/accounts/self/capabilities/noSuchThing", alice) == 404


def test_capabilities_of_others_need_an_administrator(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    status, reason = refused(lambda: rest(bob).get(f"/accounts/{alice.username}/capabilities"))
    assert status == 403 and "capabilities" in reason
    assert status_of(server, f"/accounts/{alice.username}/capabilities/emailReviewers",
                     bob) == 403
    assert refused(lambda: anonymous(server).get("/accounts/self/capabilities"))[0] == 401
    assert refused(lambda: anonymous(server).get(
        f"/accounts/{alice.username}/capabilities"))[0] == 401
    assert refused(lambda: admin_rest(server).get(
        "/accounts/no-such-account/capabilities"))[0] == 404


# -- state ---------------------------------------------------------------------------------

def test_account_state_shows_details_capabilities_and_groups(server: Server,
                                                             make_user) -> None:
    alice = make_user(server, "alice", groups=["Service Users"])
    state = rest(alice).get("/accounts/self/state")
    assert state["account"]["username"] == alice.username
    assert state["account"]["email"] == f"{alice.username}@example.org"
    assert state["account"]["registered_on"]
    assert state["capabilities"]["emailReviewers"] is True
    assert "Service Users" in {g["name"] for g in state["groups"]}
    assert {"identity": f"username:{alice.username}", "trusted": True} in state["external_ids"]

    assert admin_rest(server).get(f"/accounts/{alice.username}/state")["account"][
        "_account_id"] == state["account"]["_account_id"]
    bob = make_user(server, "bob")
    assert refused(lambda: rest(bob).get(f"/accounts/{alice.username}/state"))[0] == 403
    assert refused(lambda: anonymous(server).get(f"/accounts/{alice.username}/state"))[0] \
        == 401


# -- preferences ---------------------------------------------------------------------------

def test_preferences_are_gerrits_defaults(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    me = rest(alice)
    general = me.get("/accounts/self/preferences")
    assert general["changes_per_page"] == 25
    assert general["diff_view"] == "SIDE_BY_SIDE"
    assert general["date_format"] == "STD" and general["time_format"] == "HHMM_12"
    assert {"name": "Starred Changes", "url": "#/q/is:starred"} in general["my"]
    assert general["change_table"] == []
    assert "expand_inline_diffs" not in general  # false fields are left out, as in Gerrit

    diff = me.get("/accounts/self/preferences.diff")
    assert (diff["context"], diff["tab_size"], diff["line_length"]) == (10, 8, 100)
    assert diff["ignore_whitespace"] == "IGNORE_NONE"
    edit = me.get("/accounts/self/preferences.edit")
    assert (edit["tab_size"], edit["indent_unit"]) == (8, 2)

    assert admin_rest(server).get(f"/accounts/{alice.username}/preferences") == general
    bob = make_user(server, "bob")
    for part in ("preferences", "preferences.diff", "preferences.edit"):
        assert refused(lambda p=part: rest(bob).get(f"/accounts/{alice.username}/{p}"))[0] \
            == 403
        assert refused(lambda p=part: anonymous(server).get(f"/accounts/self/{p}"))[0] == 401
    # Setting nothing changes nothing (test_rest_account_settings covers setting them).
    assert me.put("/accounts/self/preferences", json={}) == general


# -- starred changes -----------------------------------------------------------------------

def test_starred_changes_are_listed_for_their_account_only(server: Server,
                                                           make_user) -> None:
    project = f"org/p{uuid.uuid4().hex[:8]}"
    server.create_project(project)
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    me = rest(alice)
    assert me.get("/accounts/self/starred.changes") == []
    n = me.post("/changes/", json={"project": project, "branch": "main",
                                   "subject": "Star me"})["_number"]
    me.post("/changes/", json={"project": project, "branch": "main", "subject": "Not me"})
    me.put(f"/accounts/self/starred.changes/{n}")

    starred = me.get("/accounts/self/starred.changes")
    assert [(c["_number"], c["subject"], c.get("starred")) for c in starred] == [
        (n, "Star me", True)]
    assert [c["_number"] for c in me.get(f"/accounts/{alice.username}/starred.changes")] == [n]
    assert rest(bob).get("/accounts/self/starred.changes") == []

    status, reason = refused(lambda: rest(bob).get(
        f"/accounts/{alice.username}/starred.changes"))
    assert status == 403 and "self" in reason
    assert refused(lambda: admin_rest(server).get(
        f"/accounts/{alice.username}/starred.changes"))[0] == 403
    assert refused(lambda: rest(bob).get("/accounts/no-such-account/starred.changes"))[0] \
        == 404
    assert refused(lambda: anonymous(server).get("/accounts/self/starred.changes"))[0] == 401
