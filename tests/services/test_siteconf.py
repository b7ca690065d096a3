"""The config project runs the site: applying its tip, refusing a bad one, admin operations as
commits. Real store (SQLite and PostgreSQL) and real git repositories."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import settings as settings_mod
from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.git.repos import Repos
from keepgreen.services.errors import BadRequest, Forbidden
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.projects import ProjectService
from keepgreen.services.siteconf.check import check_config_change
from keepgreen.services.siteconf.config import SiteConfigService
from keepgreen.site import init
from keepgreen.store import events as event_store
from keepgreen.store import siteconf as siteconf_store
from keepgreen.store.db import Database
from tests.unit.test_siteconf_model import APP


class Site:
    def __init__(self, path: Path, database_url: str) -> None:
        init(path, admin_password="secret-pw", database=database_url)
        settings = settings_mod.load(path, {})
        self.db = Database(settings.database_url)
        self.repos = Repos(path / "git")
        self.service = SiteConfigService(self.db, self.repos, path)
        self.accounts = AccountService(self.db)
        self.projects = ProjectService(self.db, self.repos, True)
        self.accounts.site = self.projects.site = self.service
        for name in ("alice", "bob", "carol"):
            self.accounts.create(None, NewAccount(name, name.title(), f"{name}@example.org"))
        self.admin = self.who("admin")

    def who(self, username: str) -> Principal:
        return self.accounts.principal(self.accounts.get(username))

    def push(self, files: dict[str, str], message: str) -> str:
        """A commit on config's branch, as a merge would put it there."""
        tip = self.service.tip()
        assert tip is not None
        commit = self.service._commit(tip, files, _person(), message)
        self.repos.update_refs("config", [("refs/heads/main", commit, tip)])
        return commit

    def log(self) -> list[str]:
        return self.repos.run("config", "log", "--format=%an|%s").splitlines()


def _person():  # type: ignore[no-untyped-def]
    from keepgreen.domain.change import Person
    from keepgreen.store.clock import utcnow
    return Person("Alice", "alice@example.org", utcnow())


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    made = Site(tmp_path / "site", database_url)
    yield made
    made.db.dispose()


def test_a_merged_project_is_applied_once_with_its_plan(site: Site) -> None:
    assert site.service.apply_pending() is None  # the seed is what runs
    sha = site.push({"resources/app.yaml": APP}, "Add org/app")
    outcome = site.service.apply_pending()
    assert outcome is not None and outcome.applied and outcome.sha == sha
    assert outcome.plan == (
        "create project `org/app` with group `org/app-core` (alice, bob)",
        "grant `label-Code-Review -2..+2` on `org/app` to `org/app-core`")
    assert site.projects.get("org/app", site.admin).head == "refs/heads/main"
    assert [a.username for a in site.accounts.members("org/app-core")] == ["alice", "bob"]
    assert site.repos.resolve("org/app", "refs/heads/main")  # cloneable at once
    assert site.service.apply_pending() is None  # applying twice is a no-op
    with site.db.read() as conn:
        types = [t for _, t, _ in event_store.since(conn)]
        assert siteconf_store.applied(conn)["applied_sha"] == sha
    assert types.count("site-config-applied") == 1


def test_a_broken_tip_is_refused_and_the_previous_state_keeps_running(site: Site) -> None:
    site.push({"resources/app.yaml": APP.replace("group: org/app-core,", "group: nobody,")},
              "Add org/app")
    outcome = site.service.apply_pending()
    assert outcome is not None and not outcome.applied
    assert [str(p) for p in outcome.problems] == [
        "resources/app.yaml:7: group 'nobody' in label-Code-Review -2..+2 on refs/heads/* of "
        "project 'org/app' does not exist"]
    assert site.projects.exists("org/app") is None
    assert not site.repos.exists("org/app")
    with site.db.read() as conn:
        assert [t for _, t, _ in event_store.since(conn)][-1] == "site-config-refused"


def test_the_check_reports_problems_or_the_plan(site: Site) -> None:
    tip = site.service.tip()
    assert tip is not None
    good = site.service._commit(tip, {"resources/app.yaml": APP}, _person(), "Add org/app")
    checked = check_config_change(site.repos, site.db, tip, good, "Add org/app")
    assert checked.problems == ()
    assert checked.plan[0] == "create project `org/app` with group `org/app-core` (alice, bob)"
    bad = site.service._commit(tip, {"resources/app.yaml": APP + "    colour: red\n"},
                               _person(), "Add org/app")
    checked = check_config_change(site.repos, site.db, tip, bad, "Add org/app")
    assert [str(p) for p in checked.problems] == [
        "resources/app.yaml:12: a group has unknown key 'colour'; known keys: name, "
        "description, owner, members, visible-to-all, includes"]
    assert checked.plan == ()


def test_deleting_a_project_needs_the_marker_and_archives_the_repository(site: Site) -> None:
    site.push({"resources/app.yaml": APP}, "Add org/app")
    site.service.apply_pending()
    site.push({"resources/app.yaml": ""}, "Retire org/app")
    refused = site.service.apply_pending()
    assert refused is not None and not refused.applied
    assert site.repos.exists("org/app")
    site.push({"resources/app.yaml": "[]\n"}, "Retire org/app\n\nallow-delete: org/app\n")
    done = site.service.apply_pending()
    assert done is not None and done.applied
    assert "delete project `org/app` (its repository is archived)" in done.plan
    assert not site.repos.exists("org/app")
    assert [p.name for p in (site.repos.root.parent / "archive" / "org").iterdir()][0] \
        .startswith("app.")
    assert "org/app" not in [p.name for p in site.projects.visible(site.admin)]


def test_admin_operations_are_commits_by_the_caller(site: Site) -> None:
    project = site.projects.create(site.admin, "org/web", "The web site",
                                   create_empty_commit=True)
    site.accounts.add_member(site.admin, "org/web-core", "carol")
    site.accounts.remove_member(site.admin, "org/web-core", "carol")
    site.accounts.create_group(site.admin, "org/web-ptl", "", None, ("alice",))
    assert site.log()[:4] == ["Administrator|Create group org/web-ptl",
                              "Administrator|Remove carol from org/web-core",
                              "Administrator|Add carol to org/web-core",
                              "Administrator|Create project org/web"]
    assert project.description == "The web site"
    state, problems, _ = site.service.state_at(site.service.tip() or "")
    assert problems == [] and state == site.service.running()


def test_group_owners_manage_membership_and_others_are_told_what_they_lack(site: Site) -> None:
    site.push({"resources/app.yaml": APP.replace("owner: org/app-core", "owner: org/app-ptl")
               + "- group:\n    name: org/app-ptl\n    members: [alice]\n"}, "Add org/app")
    site.service.apply_pending()
    site.accounts.add_member(site.who("alice"), "org/app-core", "carol")
    assert site.log()[0] == "Alice|Add carol to org/app-core"
    with pytest.raises(Forbidden, match="needs membership in its owner group 'org/app-ptl'"):
        site.accounts.add_member(site.who("bob"), "org/app-core", "bob")


# --- a refused admin write changes nothing ---------------------------------------------------


def config_refs(site: Site) -> tuple[str, str, str]:
    """Every ref of config with its commit, what HEAD names, and the commit HEAD is at."""
    return (site.repos.run("config", "for-each-ref", "--format=%(refname) %(objectname)"),
            site.repos.run("config", "symbolic-ref", "HEAD"),
            site.repos.run("config", "rev-parse", "HEAD"))


def every_admin_write(site: Site) -> None:
    site.projects.create(site.admin, "org/web", "The web site", create_empty_commit=True)
    site.accounts.create_group(site.admin, "org/web-ptl", "", None, ("alice",))
    site.accounts.add_member(site.admin, "org/web-core", "carol")
    site.accounts.remove_member(site.admin, "org/web-core", "carol")
    web = site.projects.get("org/web", site.admin)
    site.projects.configure(site.admin, web, "REBASE_IF_NECESSARY", 1, None)
    site.projects.change_access(site.admin, web,
                                [acl.Rule("^refs/heads/stable-.*", acl.SUBMIT, "org/web-ptl")],
                                [])


def _bad_access(ref: str):  # type: ignore[no-untyped-def]
    def write(site: Site) -> None:
        project = site.projects.get("org/app", site.admin)
        site.projects.change_access(site.admin, project,
                                    [acl.Rule(ref, acl.READ, "Registered Users")], [])
    return write


def _bad_description(site: Site) -> None:
    project = site.projects.get("org/app", site.admin)
    site.projects.configure(site.admin, project, None, None, "broken \ud800 text")


def _bad_new_project(site: Site) -> None:
    site.projects.create(site.admin, "org/new", "broken \ud800 text")


@pytest.mark.parametrize(("write", "reason"), [
    (_bad_access("^("), "ref pattern '^(' is not a valid regular expression"),
    (_bad_access("heads/main"), "ref 'heads/main' must start with refs/"),
    (_bad_description, "not valid Unicode"),
    (_bad_new_project, "not valid Unicode"),
], ids=["regex", "ref-prefix", "description", "new-project"])
def test_a_refused_admin_write_leaves_config_as_it_was_and_the_next_one_works(
        site: Site, write, reason: str) -> None:  # type: ignore[no-untyped-def]
    site.push({"resources/app.yaml": APP}, "Add org/app")
    site.service.apply_pending()
    before, running, log = config_refs(site), site.service.running(), site.log()

    with pytest.raises(BadRequest, match=re.escape(reason)):
        write(site)

    assert config_refs(site) == before
    assert site.log() == log
    assert site.service.running() == running
    assert not site.repos.exists("org/new")
    assert site.service.apply_pending() is None  # nothing new to apply, nothing refused
    every_admin_write(site)
    assert site.log()[:6] == ["Administrator|Change access rules of org/web",
                              "Administrator|Configure project org/web",
                              "Administrator|Remove carol from org/web-core",
                              "Administrator|Add carol to org/web-core",
                              "Administrator|Create group org/web-ptl",
                              "Administrator|Create project org/web"]
