"""A group's parts over Gerrit's REST API: name, description, options, owner, audit log,
members and included groups; who may read and change each; and what including a group
means for access: its members (and the members of groups it includes, however deep) count
as members of the including group.

Every test runs against a real server (whose groups live in its ``config`` project), once
on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from pygerrit2 import Anonymous, GerritRestAPI, HTTPBasicAuth

from tests.e2e.test_rest_account_details import refused
from tests.e2e.test_review_votes import Team
from tests.support import GitUser, Server


def rest(user: GitUser) -> GerritRestAPI:
    return GerritRestAPI(user.server.url, auth=HTTPBasicAuth(user.username, user.password))


def admin_rest(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=HTTPBasicAuth(server.admin, server.admin_password))


def anonymous(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=Anonymous())


def enc(name: str) -> str:
    return quote(name, safe="")


def new_group(server: Server, stem: str, owner: str | None = None,
              members: list[str] | None = None) -> str:
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    body: dict[str, object] = {"description": f"The {stem} people", "members": members or []}
    if owner:
        body["owner"] = owner
    admin_rest(server).put(f"/groups/{enc(name)}", json=body)
    return name


def config_groups_file(server: Server) -> str:
    git_dir = str(server.site / "git" / "config.git")
    return subprocess.run(["git", "--git-dir", git_dir, "show", "HEAD:resources/groups.yaml"],
                          check=True, capture_output=True, text=True).stdout


# -- name, description, options, owner -----------------------------------------------------

def test_an_owner_renames_describes_and_reowns_a_group(server: Server, make_user) -> None:
    alice, bob = make_user(server, "alice"), make_user(server, "bob")
    owners = new_group(server, "owners", members=[alice.username])
    group = new_group(server, "team", owner=owners)
    me = rest(alice)
    group_id = admin_rest(server).get(f"/groups/{enc(group)}")["group_id"]

    assert me.get(f"/groups/{enc(group)}/name") == group
    assert anonymous(server).get(f"/groups/{group_id}/name") == group  # by numeric id too
    renamed = group + "-renamed"
    assert me.put(f"/groups/{enc(group)}/name", json={"name": renamed}) == renamed
    assert refused(lambda: me.get(f"/groups/{enc(group)}/name"))[0] == 404
    info = me.get(f"/groups/{enc(renamed)}")
    assert info["group_id"] == group_id and info["owner"] == owners  # same group, new name
    # The rename is a commit on config, and the config names the group by its new name.
    text = config_groups_file(server)
    assert f"name: {renamed}" in text and f"name: {group}\n" not in text
    # Renaming to the name it has is a no-op; to a taken name a 409; to nothing a 400.
    assert me.put(f"/groups/{enc(renamed)}/name", json={"name": renamed}) == renamed
    status, reason = refused(lambda: me.put(f"/groups/{enc(renamed)}/name",
                                            json={"name": owners}))
    assert status == 409 and "already exists" in reason
    assert refused(lambda: me.put(f"/groups/{enc(renamed)}/name", json={"name": " "}))[0] == 400
    assert refused(lambda: me.put(f"/groups/{enc(renamed)}/name", json={"name": 7}))[0] == 400

    assert me.get(f"/groups/{enc(renamed)}/description") == "The team people"
    assert me.put(f"/groups/{enc(renamed)}/description",
                  json={"description": "Who ships it"}) == "Who ships it"
    assert anonymous(server).get(f"/groups/{enc(renamed)}/description") == "Who ships it"
    _, response = me.delete(f"/groups/{enc(renamed)}/description", return_response=True)
    assert response.status_code == 204
    assert me.get(f"/groups/{enc(renamed)}/description") == ""
    _, response = me.put(f"/groups/{enc(renamed)}/description", json={},
                         return_response=True)
    assert response.status_code == 204

    assert me.get(f"/groups/{enc(renamed)}/owner")["name"] == owners
    assert me.put(f"/groups/{enc(renamed)}/owner",
                  json={"owner": "Administrators"})["name"] == "Administrators"
    assert me.get(f"/groups/{enc(renamed)}")["owner"] == "Administrators"
    # Alice owned it through the old owner group; now she may not change it.
    status, reason = refused(lambda: me.put(f"/groups/{enc(renamed)}/description",
                                            json={"description": "mine"}))
    assert status == 403 and "Administrators" in reason

    # Strangers see the group (it is visible to all) but change nothing.
    stranger = rest(bob)
    for call in (lambda: stranger.put(f"/groups/{enc(renamed)}/name", json={"name": "x"}),
                 lambda: stranger.put(f"/groups/{enc(renamed)}/owner", json={"owner": owners}),
                 lambda: stranger.delete(f"/groups/{enc(renamed)}/description"),
                 lambda: stranger.put(f"/groups/{enc(renamed)}/options", json={}),
                 lambda: stranger.get(f"/groups/{enc(renamed)}/log.audit")):
        assert refused(call)[0] == 403
    assert refused(lambda: anonymous(server).put(f"/groups/{enc(renamed)}/description",
                                                 json={"description": "x"}))[0] == 401


def test_unknown_owner_and_built_in_names_are_refused(server: Server) -> None:
    admin = admin_rest(server)
    group = new_group(server, "reowned")
    status, reason = refused(lambda: admin.put(f"/groups/{enc(group)}/owner",
                                               json={"owner": "no-such-group"}))
    assert status == 422 and "no-such-group" in reason
    assert refused(lambda: admin.put(f"/groups/{enc(group)}/owner", json={}))[0] == 400
    assert refused(lambda: admin.put(f"/groups/{enc(group)}/owner",
                                     json={"owner": "Registered Users"}))[0] == 400
    status, reason = refused(lambda: admin.put("/groups/Administrators/name",
                                               json={"name": "Admins"}))
    assert status == 409 and "built in" in reason
    assert refused(lambda: admin.put("/groups/Registered%20Users/description",
                                     json={"description": "x"}))[0] == 400
    assert refused(lambda: admin.get("/groups/no-such-group/description"))[0] == 404
    assert refused(lambda: admin.put(f"/groups/{enc(group)}/description",
                                     json={"description": "x" * 5000}))[0] == 400
    assert admin.get(f"/groups/{enc(group)}/log.audit") == []


# -- visibility ----------------------------------------------------------------------------

def test_a_group_not_visible_to_all_is_hidden_from_strangers(server: Server,
                                                             make_user) -> None:
    alice, bob, carol = (make_user(server, n) for n in ("alice", "bob", "carol"))
    owners = new_group(server, "hidden-owners", members=[alice.username])
    group = new_group(server, "hidden", owner=owners, members=[carol.username])
    me = rest(alice)
    assert me.get(f"/groups/{enc(group)}/options") == {"visible_to_all": True}
    assert me.put(f"/groups/{enc(group)}/options", json={"visible_to_all": False}) == {}
    assert me.get(f"/groups/{enc(group)}/options") == {}
    assert "visible-to-all: false" in config_groups_file(server)

    # Its owner, its member and administrators see it...
    for viewer in (me, rest(carol), admin_rest(server)):
        assert viewer.get(f"/groups/{enc(group)}")["options"] == {}
        assert group in viewer.get("/groups/")
    # ...to anyone else it does not exist, whatever they ask or try.
    stranger = rest(bob)
    for path in ("", "/name", "/description", "/options", "/owner", "/detail", "/members/",
                 "/groups/", f"/members/{carol.username}"):
        assert refused(lambda p=path: stranger.get(f"/groups/{enc(group)}{p}"))[0] == 404
        assert refused(lambda p=path: anonymous(server).get(f"/groups/{enc(group)}{p}"))[0] \
            == 404
    assert group not in stranger.get("/groups/")
    assert group not in anonymous(server).get("/groups/")
    for call in (lambda: stranger.put(f"/groups/{enc(group)}/name", json={"name": "x"}),
                 lambda: stranger.post(f"/groups/{enc(group)}/members.add",
                                       json={"members": [bob.username]}),
                 lambda: stranger.put(f"/groups/{enc(group)}/members/{bob.username}"),
                 lambda: stranger.put(f"/groups/{enc(group)}/groups/{enc(owners)}")):
        assert refused(call)[0] == 404
    # A hidden group cannot be named as an owner or included by someone who cannot see it.
    own = new_group(server, "bobs", members=[bob.username])
    admin_rest(server).put(f"/groups/{enc(own)}/owner", json={"owner": own})
    status, _ = refused(lambda: stranger.post(f"/groups/{enc(own)}/groups.add",
                                              json={"groups": [group]}))
    assert status == 422
    assert me.put(f"/groups/{enc(group)}/options", json={"visible_to_all": True}) == {
        "visible_to_all": True}
    assert stranger.get(f"/groups/{enc(group)}/name") == group


# -- members -------------------------------------------------------------------------------

def test_members_are_added_read_and_removed_in_bulk(server: Server, make_user) -> None:
    alice, bob, carol, dave = (make_user(server, n) for n in ("alice", "bob", "carol", "dave"))
    group = new_group(server, "bulk", owner=None)
    admin_rest(server).put(f"/groups/{enc(group)}/owner", json={"owner": group})
    admin_rest(server).put(f"/groups/{enc(group)}/members/{alice.username}")
    me = rest(alice)  # a member of a self-owned group owns it

    added = me.post(f"/groups/{enc(group)}/members.add",
                    json={"members": [bob.username, f"{carol.username}@example.org"]})
    assert [a["username"] for a in added] == [bob.username, carol.username]
    again = me.post(f"/groups/{enc(group)}/members", json={"_one_member": bob.username})
    assert [a["username"] for a in again] == [bob.username]
    names = {a["username"] for a in me.get(f"/groups/{enc(group)}/members/")}
    assert names == {alice.username, bob.username, carol.username}
    assert me.get(f"/groups/{enc(group)}/members/{bob.username}")["username"] == bob.username
    status, reason = refused(lambda: me.get(f"/groups/{enc(group)}/members/{dave.username}"))
    assert status == 404 and "not a member" in reason
    assert refused(lambda: me.get(f"/groups/{enc(group)}/members/nobody-here"))[0] == 404

    # Unknown accounts refuse the whole request; nothing is half added.
    status, reason = refused(lambda: me.post(f"/groups/{enc(group)}/members.add",
                                             json={"members": [dave.username, "nobody-x"]}))
    assert status == 422 and "nobody-x" in reason
    assert refused(lambda: me.get(f"/groups/{enc(group)}/members/{dave.username}"))[0] == 404
    for body in ({"members": "bob"}, {"members": [1]}, {}, {"members": ["x"] * 101}):
        assert refused(lambda b=body: me.post(f"/groups/{enc(group)}/members.add",
                                              json=b))[0] == 400
    assert refused(lambda: rest(dave).post(f"/groups/{enc(group)}/members.add",
                                           json={"members": [dave.username]}))[0] == 403

    _, response = me.post(f"/groups/{enc(group)}/members.delete",
                          json={"members": [bob.username, carol.username, dave.username]},
                          return_response=True)
    assert response.status_code == 204
    assert {a["username"] for a in me.get(f"/groups/{enc(group)}/members")} == {
        alice.username}
    assert refused(lambda: rest(dave).post(f"/groups/{enc(group)}/members.delete",
                                           json={"members": [alice.username]}))[0] == 403


# -- included groups -----------------------------------------------------------------------

def test_groups_are_included_listed_and_removed(server: Server, make_user) -> None:
    alice = make_user(server, "alice")
    outer = new_group(server, "outer")
    inner = new_group(server, "inner", members=[alice.username])
    other = new_group(server, "other")
    admin = admin_rest(server)

    assert admin.get(f"/groups/{enc(outer)}/groups/") == []
    info, response = admin.put(f"/groups/{enc(outer)}/groups/{enc(inner)}",
                               return_response=True)
    assert response.status_code == 201 and info["name"] == inner
    _, response = admin.put(f"/groups/{enc(outer)}/groups/{enc(inner)}", return_response=True)
    assert response.status_code == 200
    done = admin.post(f"/groups/{enc(outer)}/groups.add", json={"groups": [other, inner]})
    assert [g["name"] for g in done] == [other, inner]
    assert sorted(g["name"] for g in admin.get(f"/groups/{enc(outer)}/groups")) == sorted(
        [inner, other])
    assert admin.get(f"/groups/{enc(outer)}/groups/{enc(inner)}")["name"] == inner
    detail = admin.get(f"/groups/{enc(outer)}/detail")
    assert sorted(g["name"] for g in detail["includes"]) == sorted([inner, other])
    assert detail["members"] == []
    assert f"includes:\n      - {min(inner, other)}" in config_groups_file(server)
    # Listing members is of direct members; the included group's member is not listed.
    assert admin.get(f"/groups/{enc(outer)}/members/") == []

    status, reason = refused(lambda: admin.post(f"/groups/{enc(outer)}/groups",
                                                json={"groups": ["no-such-group"]}))
    assert status == 422 and "no-such-group" in reason
    assert refused(lambda: admin.put(f"/groups/{enc(outer)}/groups/no-such-group"))[0] == 404
    assert refused(lambda: admin.put(f"/groups/{enc(outer)}/groups/{enc(outer)}"))[0] == 400
    assert refused(lambda: admin.put(
        f"/groups/{enc(outer)}/groups/{enc('Registered Users')}"))[0] == 400
    assert refused(lambda: admin.post(f"/groups/{enc(outer)}/groups.add",
                                      json={"groups": {}}))[0] == 400
    assert refused(lambda: rest(alice).put(f"/groups/{enc(outer)}/groups/{enc(inner)}"))[0] \
        == 403

    _, response = admin.delete(f"/groups/{enc(outer)}/groups/{enc(inner)}",
                               return_response=True)
    assert response.status_code == 204
    assert refused(lambda: admin.delete(f"/groups/{enc(outer)}/groups/{enc(inner)}"))[0] == 404
    assert refused(lambda: admin.get(f"/groups/{enc(outer)}/groups/{enc(inner)}"))[0] == 404
    _, response = admin.post(f"/groups/{enc(outer)}/groups.delete",
                             json={"groups": [other, inner]}, return_response=True)
    assert response.status_code == 204
    assert admin.get(f"/groups/{enc(outer)}/groups/") == []


def test_members_of_included_groups_gain_the_including_groups_access(
        server: Server, make_user, project_name: str, tmp_path: Path) -> None:
    team = Team.start(server, make_user, project_name, tmp_path)
    change = team.upload("a.txt", "a\n", "Add a")
    eve, frank = make_user(server, "eve"), make_user(server, "frank")
    helpers = new_group(server, "helpers", members=[eve.username])
    deep = new_group(server, "deep", members=[frank.username])
    core = f"{project_name}-core"
    admin = admin_rest(server)

    def vote(who: GitUser, value: int) -> None:
        rest(who).post(f"/changes/{change}/revisions/current/review",
                       json={"labels": {"Code-Review": value}})

    assert refused(lambda: vote(eve, 2))[0] == 403  # not core yet
    admin.put(f"/groups/{enc(core)}/groups/{enc(helpers)}")
    vote(eve, 2)  # a member of an included group votes as core
    # Through two levels, and with a cycle of includes (deep includes core).
    assert refused(lambda: vote(frank, 2))[0] == 403
    admin.post(f"/groups/{enc(helpers)}/groups.add", json={"groups": [deep]})
    admin.put(f"/groups/{enc(deep)}/groups/{enc(core)}")
    vote(frank, 2)
    votes = {v["username"]: v.get("value") for v in
             admin.get(f"/changes/{change}/detail")["labels"]["Code-Review"]["all"]}
    assert votes[eve.username] == 2 and votes[frank.username] == 2
    # A member of the owner group through an included group owns the group too.
    owned = new_group(server, "owned", owner=core)
    assert rest(frank).put(f"/groups/{enc(owned)}/description",
                           json={"description": "by frank"}) == "by frank"
    assert core in {g["name"] for g in rest(eve).get("/accounts/self/groups")}

    # Taken out again, the access goes with it.
    admin.delete(f"/groups/{enc(core)}/groups/{enc(helpers)}")
    assert refused(lambda: vote(eve, 2))[0] == 403
    assert refused(lambda: vote(frank, 2))[0] == 403


@pytest.mark.parametrize("path", ["/name", "/groups/", "/members/x"])
def test_unknown_groups_are_404(server: Server, path: str) -> None:
    assert refused(lambda: admin_rest(server).get(f"/groups/no-such-{uuid.uuid4().hex}{path}")
                   )[0] == 404
