"""A project's labels, submit requirements and dashboards over Gerrit's REST API, as review
tools and admin scripts read and change them.

Labels and submit requirements are built in: every project inherits them from
``All-Projects``, a project's own ``required-approvals`` shows as its own Code-Review
requirement, and edits are refused with the place the setting lives. Dashboards belong to
a project: its readers read them, its owners (Olga, through an owner group) change them,
and their ``url`` opens a page listing the changes of each section. Bob is a registered
user, Eve belongs to a group blocked from reading the project: for her it does not exist.

Every test runs against a real server, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pygerrit2 import Anonymous, GerritRestAPI, HTTPBasicAuth

from tests.e2e.test_review_votes import Team, refused
from tests.support import GitUser, Server, gerrit_json


def rest(user: GitUser) -> GerritRestAPI:
    return GerritRestAPI(user.server.url, auth=HTTPBasicAuth(user.username, user.password))


def admin_rest(server: Server) -> GerritRestAPI:
    return GerritRestAPI(server.url, auth=HTTPBasicAuth(server.admin, server.admin_password))


@pytest.fixture
def project(server: Server, project_name: str) -> str:
    server.create_project(project_name)
    return quote(project_name, safe="")


@pytest.fixture
def people(server: Server, make_user: Any, project: str) -> dict[str, GitUser]:
    """Olga owns the project (through a group granted ``owner``), Bob is registered, and
    Eve is in a group blocked from reading it."""
    olga, bob, eve = (make_user(server, n) for n in ("olga", "bob", "eve"))
    admin = admin_rest(server)
    owners, outsiders = (f"{kind}-{uuid.uuid4().hex[:6]}" for kind in ("owners", "outsiders"))
    admin.put(f"/groups/{owners}", json={"members": [olga.username]})
    admin.put(f"/groups/{outsiders}", json={"members": [eve.username]})
    admin.post(f"/projects/{project}/access", json={"add": {"refs/*": {"permissions": {
        "owner": {"rules": {owners: {"action": "ALLOW"}}},
        "read": {"rules": {outsiders: {"action": "BLOCK"}}}}}}})
    return {"olga": olga, "bob": bob, "eve": eve}


# -- labels -------------------------------------------------------------------------------

def test_labels_are_inherited_from_all_projects(server: Server, project: str,
                                                people: dict[str, GitUser]) -> None:
    bob = rest(people["bob"])
    assert bob.get(f"/projects/{project}/labels/") == []
    inherited = bob.get(f"/projects/{project}/labels/?inherited")
    assert [label["name"] for label in inherited] == ["Code-Review", "Verified", "Workflow"]
    review = inherited[0]
    assert review["project"] == "All-Projects"
    assert review["function"] == "NoBlock"
    assert review["default_value"] == 0
    assert review["can_override"] is True
    assert review["values"] == {
        "-2": "This shall not be merged", "-1": "This needs changes", " 0": "No score",
        "+1": "Looks good to me, but someone else must approve",
        "+2": "Looks good to me, approved"}
    assert "is:MIN" in review["copy_condition"]
    assert "changekind:TRIVIAL_REBASE" in review["copy_condition"]
    assert "is:MIN" not in inherited[1]["copy_condition"]  # a Verified -2 goes with a rework

    # One label by name, in any case; the site's own list under All-Projects.
    assert bob.get(f"/projects/{project}/labels/workflow")["values"][" 0"] == \
        "Ready for reviews"
    anonymous = GerritRestAPI(server.url, auth=Anonymous())
    assert len(anonymous.get("/projects/All-Projects/labels/")) == 3
    assert anonymous.get(f"/projects/{project}/labels/Verified")["name"] == "Verified"
    status, reason = refused(lambda: bob.get(f"/projects/{project}/labels/Scratch-Review"))
    assert status == 404 and "Code-Review, Verified, Workflow" in reason


def test_hidden_projects_have_no_labels(server: Server, project: str,
                                        people: dict[str, GitUser]) -> None:
    eve = rest(people["eve"])
    for path in ("labels/", "labels/Code-Review", "submit_requirements",
                 "submit_requirements/Code-Review", "dashboards/"):
        status, reason = refused(lambda path=path: eve.get(f"/projects/{project}/{path}"))
        assert status == 404 and "not found" in reason, path
    status, _ = refused(lambda: eve.put(f"/projects/{project}/labels/Code-Review",
                                        json={"values": "nonsense"}))
    assert status == 404  # not 400: a hidden project says nothing about its input


def test_label_edits_are_refused_with_where_the_setting_lives(
        server: Server, project: str, people: dict[str, GitUser]) -> None:
    bob, olga = rest(people["bob"]), rest(people["olga"])
    values = {"values": {" 0": "No score", "+1": "Fine"}}
    url = f"/projects/{project}/labels/Scratch-Review"

    status, reason = refused(lambda: bob.put(url, json=values))
    assert status == 403 and "owner permission" in reason
    with server.client() as anonymous:
        assert anonymous.put(f"/a{url}", json=values).status_code == 401

    for bad, says in (({"values": {"x": "No"}}, "values.x"),
                      ({"values": {"+1": 1}}, "values.+1"),
                      ({"function": "Sometimes", **values}, "function"),
                      ({"can_override": "yes", **values}, "can_override"),
                      ({"copy_condition": "changekind:(", **values}, "copy_condition"),
                      ({}, "values is needed")):
        status, reason = refused(lambda bad=bad: olga.put(url, json=bad))
        assert status == 400 and says in reason, (bad, reason)
    status, reason = refused(lambda: olga.put(f"/projects/{project}/labels/bad%20name",
                                              json=values))
    assert status == 400 and "not a label name" in reason

    status, reason = refused(lambda: olga.put(url, json=values))
    assert status == 405
    assert "built in" in reason and "resources/" in reason and "'config'" in reason
    status, reason = refused(lambda: olga.put(f"/projects/{project}/labels/Code-Review",
                                              json={"ignore_self_approval": True}))
    assert status == 405 and "access" in reason
    assert refused(lambda: olga.delete(url))[0] == 404
    assert refused(lambda: olga.delete(f"/projects/{project}/labels/Code-Review"))[0] == 405
    assert refused(lambda: bob.delete(f"/projects/{project}/labels/Code-Review"))[0] == 403

    # Batches: nothing asked changes nothing; anything asked is refused the same way.
    assert olga.post(f"/projects/{project}/labels/", json={}) == []
    batch = {"delete": ["Verified"], "create": [{"name": "Scratch-Review", **values}]}
    assert refused(lambda: olga.post(f"/projects/{project}/labels/", json=batch))[0] == 405
    assert refused(lambda: olga.post(f"/projects/{project}/labels/",
                                     json={"create": [{}]}))[0] == 400
    assert refused(lambda: bob.post(f"/projects/{project}/labels/", json=batch))[0] == 403
    status, reason = refused(lambda: olga.post(f"/projects/{project}/labels:review", json={}))
    assert status == 400 and "nothing to review" in reason
    assert refused(lambda: olga.post(f"/projects/{project}/labels:review",
                                     json=batch))[0] == 405
    # The site's own labels: only administrators get as far as the refusal.
    assert refused(lambda: olga.put("/projects/All-Projects/labels/Code-Review",
                                    json={}))[0] == 403
    assert refused(lambda: admin_rest(server).put(
        "/projects/All-Projects/labels/Code-Review", json={}))[0] == 405
    assert len(olga.get(f"/projects/{project}/labels/?inherited")) == 3


# -- submit requirements ------------------------------------------------------------------

def test_submit_requirements_follow_the_projects_approvals(
        server: Server, project: str, people: dict[str, GitUser]) -> None:
    bob = rest(people["bob"])
    base = f"/projects/{project}/submit_requirements"
    assert bob.get(base) == []
    inherited = {r["name"]: r for r in bob.get(base + "?inherited")}
    assert list(inherited) == ["Code-Review", "Workflow", "Verified"]
    assert inherited["Code-Review"]["project"] == "All-Projects"
    assert "count>=2" in inherited["Code-Review"]["submittability_expression"]
    verified = bob.get(base + "/Verified")
    assert verified["applicability_expression"] == "has:ci-jobs"
    assert verified["submittability_expression"] == "label:Verified=MAX AND -label:Verified=MIN"
    assert verified["allow_override_in_child_projects"] is True
    assert "override_expression" not in verified

    # One approval: the project now has its own Code-Review requirement.
    admin_rest(server).put(f"/projects/{project}/config", json={"required_approvals": 1})
    own = bob.get(base)
    assert [(r["name"], r["project"]) for r in own] == [
        ("Code-Review", project.replace("%2F", "/"))]
    assert own[0]["submittability_expression"] == \
        "label:Code-Review=MAX AND -label:Code-Review=MIN"
    assert [r["name"] for r in bob.get(base + "/?inherited")] == [
        "Code-Review", "Workflow", "Verified"]
    assert bob.get(base + "/Code-Review") == own[0]
    assert refused(lambda: bob.get(base + "/Nope"))[0] == 404


def test_submit_requirement_edits_are_refused(server: Server, project: str,
                                              people: dict[str, GitUser]) -> None:
    bob, olga = rest(people["bob"]), rest(people["olga"])
    base = f"/projects/{project}/submit_requirements"
    good = {"name": "Scratch", "submittability_expression": "label:Code-Review=+2"}

    assert refused(lambda: bob.put(base + "/Scratch", json=good))[0] == 403
    for bad, says in (({"name": "Other", "submittability_expression": "is:open"}, "differs"),
                      ({"name": "Scratch"}, "submittability_expression is needed"),
                      ({**good, "applicability_expression": "branch:(main"},
                       "applicability_expression"),
                      ({**good, "allow_override_in_child_projects": "no"},
                       "allow_override_in_child_projects")):
        status, reason = refused(lambda bad=bad: olga.put(base + "/Scratch", json=bad))
        assert status == 400 and says in reason, (bad, reason)
    status, reason = refused(lambda: olga.put(base + "/Scratch", json=good))
    assert status == 405 and "required-approvals" in reason and "'config'" in reason
    # Updating an existing requirement needs no submittability expression.
    assert refused(lambda: olga.put(base + "/Workflow",
                                    json={"description": "Why"}))[0] == 405
    assert refused(lambda: olga.delete(base + "/Scratch"))[0] == 404
    assert refused(lambda: olga.delete(base + "/Workflow"))[0] == 405
    assert olga.post(base + "/", json={}) == []
    assert refused(lambda: olga.post(base + "/", json={"delete": ["Workflow"]}))[0] == 405
    assert refused(lambda: olga.post(base + "/", json={"update": {"Workflow": 5}}))[0] == 400
    assert refused(lambda: olga.post(base + ":review", json={}))[0] == 400
    assert refused(lambda: olga.post(base + ":review", json={"create": [good]}))[0] == 405
    assert refused(lambda: bob.post(base + ":review", json={"create": [good]}))[0] == 403
    assert len(bob.get(base + "?inherited")) == 3


# -- dashboards ---------------------------------------------------------------------------

CLOSED = {"title": "Closed changes of ${project}",
          "description": "Merged and abandoned changes",
          "sections": [{"name": "Merged", "query": "status:merged"},
                       {"name": "Abandoned", "query": "status:abandoned"}]}


def test_owners_keep_dashboards_and_readers_read_them(
        server: Server, make_user: Any, project_name: str, tmp_path: Path) -> None:
    team = Team.start(server, make_user, project_name, tmp_path)
    team.upload("hello.txt", "hello\n", "Say hello")
    admin, bob = team.api(), team.api(team.bob)
    base = f"/projects/{team.quoted}/dashboards"
    assert bob.get(base + "/") == []

    with server.admin_client() as client:
        made = client.put(f"/a{base}/main:closed", json=CLOSED)
        assert made.status_code == 201, made.text
        created = gerrit_json(made)
    assert created["id"] == "main:closed"
    assert (created["ref"], created["path"]) == ("main", "closed")
    assert created["project"] == team.project
    assert created["title"] == f"Closed changes of {team.project}"
    assert created["sections"] == CLOSED["sections"]
    assert "is_default" not in created
    assert created["url"].startswith("/dashboard/?title=Closed+changes+of+")
    assert "Merged=status:merged" in created["url"]

    # A second dashboard, with a foreach joined to every section and a nested path.
    mine = {"title": "Open work", "foreach": "project:${project} status:open",
            "sections": [{"name": "Needs review", "query": "-is:wip"},
                         {"name": "Work in progress", "query": "is:wip"}]}
    admin.put(f"{base}/main:team%2Fopen", json=mine)
    listed = bob.get(base + "/")
    assert [d["id"] for d in listed] == ["main:closed", "main:team/open"]
    assert bob.get(f"{base}/main:team%2Fopen")["foreach"] == "project:${project} status:open"

    # Replacing is a 200, and keeps the id.
    changed = admin.put(f"{base}/main:closed", json={**CLOSED, "title": "Closed"})
    assert changed["title"] == "Closed" and changed["id"] == "main:closed"

    # The default dashboard.
    assert refused(lambda: bob.get(f"{base}/default"))[0] == 404
    chosen = admin.put(f"{base}/default", json={"id": "main:team/open"})
    assert chosen["is_default"] is True and chosen["id"] == "main:team/open"
    assert bob.get(f"{base}/default")["id"] == "main:team/open"
    assert [d.get("is_default", False) for d in bob.get(base + "/")] == [False, True]

    # The url opens a page listing each section's changes.
    with server.client() as browser:
        page = browser.get(chosen["url"])
    assert page.status_code == 200, page.text
    assert "Open work" in page.text and "Needs review" in page.text
    assert "Say hello" in page.text

    with server.admin_client() as client:
        assert client.delete(f"/a{base}/default").status_code == 204
        assert client.get(f"/a{base}/default").status_code == 404
        assert client.delete(f"/a{base}/main:closed").status_code == 204
        assert client.get(f"/a{base}/main:closed").status_code == 404
        assert client.delete(f"/a{base}/main:closed").status_code == 404
    assert [d["id"] for d in bob.get(base + "/")] == ["main:team/open"]


def test_dashboard_changes_need_the_owner_and_good_input(
        server: Server, project: str, people: dict[str, GitUser]) -> None:
    bob, olga, eve = (rest(people[n]) for n in ("bob", "olga", "eve"))
    base = f"/projects/{project}/dashboards"

    status, reason = refused(lambda: bob.put(f"{base}/main:closed", json=CLOSED))
    assert status == 403 and "owner permission" in reason
    assert refused(lambda: eve.put(f"{base}/main:closed", json=CLOSED))[0] == 404
    assert refused(lambda: eve.put(f"{base}/main:closed", json={"sections": 3}))[0] == 404
    with server.client() as anonymous:
        assert anonymous.put(f"/a{base}/main:closed", json=CLOSED).status_code == 401

    for path, bad, says in (
            ("nocolon", CLOSED, "<ref>:<path>"),
            ("ma..in:closed", CLOSED, "dashboard ref"),
            ("main:..%2Fx", CLOSED, "dashboard path"),
            ("main:closed", {**CLOSED, "sections": "Merged"}, "sections must be a list"),
            ("main:closed", {**CLOSED, "sections": []}, "at least one section"),
            ("main:closed", {**CLOSED, "sections": [{"name": "A", "query": "status:open ("}]},
             "not a valid change query"),
            ("main:closed", {**CLOSED, "sections": [{"name": "title", "query": "is:open"}]},
             "cannot be 'title'"),
            ("main:closed", {**CLOSED, "sections": [{"name": "A", "query": "is:open"},
                                                     {"name": "A", "query": "is:wip"}]},
             "named twice"),
            ("main:closed", {**CLOSED, "title": "x" * 300}, "at most 255"),
            ("main:closed", {**CLOSED, "id": "main:other"}, "differs"),
            ("main:closed", {**CLOSED, "foreach": 5}, "foreach must be a string"),
            ("default", {"id": "main:missing"}, "does not exist"),
            ("default", {"id": "nocolon"}, "<ref>:<path>")):
        status, reason = refused(lambda path=path, bad=bad: olga.put(f"{base}/{path}",
                                                                     json=bad))
        assert status == 400 and says in reason, (path, bad, reason)
    assert olga.get(base + "/") == []  # nothing was written by a refused call

    made = olga.put(f"{base}/main:closed", json=CLOSED)
    assert made["id"] == "main:closed"
    assert bob.get(f"{base}/main:closed")["title"].startswith("Closed changes of ")
    with server.client() as anonymous:  # the project is readable by anyone
        assert gerrit_json(anonymous.get(f"{base}/"))[0]["id"] == "main:closed"
    assert refused(lambda: bob.delete(f"{base}/main:closed"))[0] == 403
    assert refused(lambda: eve.delete(f"{base}/main:closed"))[0] == 404
    assert refused(lambda: eve.get(f"{base}/main:closed"))[0] == 404
    assert refused(lambda: bob.put(f"{base}/default", json={"id": "main:closed"}))[0] == 403
    # Clearing a default that is not set is a 204 (PUT) and a 404 (DELETE).
    with server.client(people["olga"].username, people["olga"].password) as client:
        assert client.put(f"/a{base}/default", json={}).status_code == 204
        assert client.delete(f"/a{base}/default").status_code == 404
    assert [d["id"] for d in bob.get(base + "/")] == ["main:closed"]


def test_the_dashboard_page_shows_problems_plainly(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/dashboard/?title=Mine&Broken=status:open+(&Open=status:open")
        assert page.status_code == 200
        assert re.search(r"<h1>\s*Mine\s*</h1>", page.text)
        assert "Broken" in page.text and "Open" in page.text
        assert browser.get("/dashboard/?title=Nothing").status_code == 400
