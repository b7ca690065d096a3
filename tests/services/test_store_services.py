"""Account and project services against the real store, once on SQLite and once on PostgreSQL,
with real bare git repositories in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from keepgreen.domain.account import (
    ADMINISTRATORS,
    ANONYMOUS_USERS,
    BUILTIN_GROUPS,
    REGISTERED_USERS,
    Account,
    Principal,
)
from keepgreen.domain.project import Project
from keepgreen.git.repos import Repos
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store.db import Database

# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def accounts(db: Database) -> AccountService:
    service = AccountService(db)
    service.ensure_builtin_groups()
    return service


@pytest.fixture
def admin(accounts: AccountService) -> Principal:
    account = accounts.create(None, NewAccount(
        "admin", "Site Admin", "admin@example.org", "admin-secret", (ADMINISTRATORS,)))
    return accounts.principal(account)


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return Repos(tmp_path / "git")


@pytest.fixture
def projects(db: Database, repos: Repos) -> ProjectService:
    return ProjectService(db, repos, anonymous_read=True)


def user(accounts: AccountService, username: str, *groups: str,
         password: str | None = None) -> Principal:
    account = accounts.create(None, NewAccount(
        username, username.title(), f"{username}@example.org", password, groups))
    return accounts.principal(account)


def stored_hash(db: Database, account: Account) -> str | None:
    with db.read() as conn:
        return account_store.password_hash(conn, account.id)


def names(items: list[Account]) -> list[str]:
    return [a.username for a in items]


# --- migrations ----------------------------------------------------------------------------


def test_migrating_twice_is_a_no_op(db: Database, accounts: AccountService) -> None:
    user(accounts, "alice", password="pw")

    def snapshot() -> tuple[list[str], list[tuple[str, ...]]]:
        with db.read() as conn:
            tables = sorted(inspect(conn).get_table_names())
            versions = [tuple(r) for r in conn.execute(
                text("SELECT version_num FROM alembic_version"))]
        return tables, versions

    before = snapshot()
    assert {"accounts", "groups", "group_members", "projects", "changes"} <= set(before[0])
    assert len(before[1]) == 1
    db.migrate()
    db.migrate()
    assert snapshot() == before
    assert accounts.get("alice").username == "alice"
    assert accounts.authenticate("alice", "pw") is not None


# --- accounts ------------------------------------------------------------------------------


def test_builtin_groups_exist_once(accounts: AccountService) -> None:
    accounts.ensure_builtin_groups()  # again: must not duplicate
    group_names = [g.name for g in accounts.list_groups()]
    assert sorted(group_names) == sorted(BUILTIN_GROUPS)
    assert accounts.get_group(ADMINISTRATORS).name == ADMINISTRATORS


def test_accounts_are_created_with_their_groups(accounts: AccountService) -> None:
    admin = user(accounts, "root", ADMINISTRATORS)
    assert admin.is_admin
    assert [g.name for g in accounts.groups_of(admin.account)] == [ADMINISTRATORS]  # type: ignore[arg-type]
    assert names(accounts.members(ADMINISTRATORS)) == ["root"]


def test_implied_groups_are_not_stored_as_memberships(accounts: AccountService) -> None:
    alice = user(accounts, "alice", REGISTERED_USERS)
    assert alice.account is not None
    assert accounts.groups_of(alice.account) == []
    assert accounts.members(REGISTERED_USERS) == []
    # ... but the principal belongs to them all the same.
    assert {REGISTERED_USERS, ANONYMOUS_USERS} <= alice.groups
    assert not alice.is_admin


def test_an_account_with_an_unknown_group_is_refused_and_not_created(
        accounts: AccountService) -> None:
    with pytest.raises(BadRequest, match="'no-such-group'"):
        user(accounts, "alice", "no-such-group")
    with pytest.raises(NotFound):
        accounts.get("alice")


def test_a_duplicate_account_is_a_conflict(accounts: AccountService) -> None:
    user(accounts, "alice", password="first")
    with pytest.raises(Conflict, match="'alice' already exists"):
        user(accounts, "alice", password="second")
    assert accounts.authenticate("alice", "first") is not None
    assert accounts.authenticate("alice", "second") is None


@pytest.mark.parametrize("username", ["", "-alice", ".alice", "al ice", "al/ice", "a" * 65,
                                      "ålice"])
def test_a_bad_username_is_refused(accounts: AccountService, username: str) -> None:
    with pytest.raises(BadRequest):
        accounts.create(None, NewAccount(username))


def test_only_administrators_create_accounts(accounts: AccountService,
                                             admin: Principal) -> None:
    alice = user(accounts, "alice")
    with pytest.raises(Forbidden, match=ADMINISTRATORS):
        accounts.create(alice, NewAccount("mallory"))
    assert accounts.create(admin, NewAccount("bob")).username == "bob"


def test_authenticate_checks_the_password_against_an_argon2id_hash(
        db: Database, accounts: AccountService) -> None:
    password = "correct horse battery staple"
    alice = user(accounts, "alice", password=password)
    assert alice.account is not None
    hashed = stored_hash(db, alice.account)
    assert hashed is not None
    assert hashed.startswith("$argon2id$")
    assert password not in hashed

    who = accounts.authenticate("alice", password)
    assert who is not None and who.account == alice.account
    assert REGISTERED_USERS in who.groups
    assert accounts.authenticate("alice", password) is not None  # the cached path agrees
    assert accounts.authenticate("alice", "wrong") is None
    assert accounts.authenticate("alice", password.upper()) is None
    assert accounts.authenticate("alice", "") is None
    assert accounts.authenticate("nobody", password) is None


def test_the_same_password_hashes_differently_for_two_accounts(
        db: Database, accounts: AccountService) -> None:
    a = user(accounts, "alice", password="same")
    b = user(accounts, "bob", password="same")
    assert a.account is not None and b.account is not None
    assert stored_hash(db, a.account) != stored_hash(db, b.account)  # salted


def test_an_account_without_password_cannot_authenticate(accounts: AccountService) -> None:
    user(accounts, "alice")
    assert accounts.authenticate("alice", "") is None
    assert accounts.authenticate("alice", "anything") is None


def test_a_generated_http_password_replaces_the_old_one(
        db: Database, accounts: AccountService) -> None:
    alice = user(accounts, "alice", password="old-password")
    assert accounts.authenticate("alice", "old-password") is not None  # now remembered
    generated = accounts.set_http_password(alice, "self", None, generate=True)
    assert generated and generated != "old-password"
    assert len(generated) >= 20
    assert alice.account is not None
    hashed = stored_hash(db, alice.account)
    assert hashed is not None and hashed.startswith("$argon2id$") and generated not in hashed
    assert accounts.authenticate("alice", generated) is not None
    assert accounts.authenticate("alice", "old-password") is None
    # Two generations never give the same password.
    assert accounts.set_http_password(alice, "alice", None, generate=True) != generated


def test_setting_an_explicit_password_and_clearing_it(accounts: AccountService) -> None:
    alice = user(accounts, "alice", password="one")
    assert accounts.set_http_password(alice, "alice", "two", generate=False) == "two"
    assert accounts.authenticate("alice", "two") is not None
    assert accounts.authenticate("alice", "one") is None
    assert accounts.set_http_password(alice, "alice", None, generate=False) is None
    assert accounts.authenticate("alice", "two") is None


def test_only_the_account_or_an_admin_sets_its_password(accounts: AccountService,
                                                        admin: Principal) -> None:
    user(accounts, "alice", password="alice-pw")
    bob = user(accounts, "bob")
    with pytest.raises(Forbidden):
        accounts.set_http_password(bob, "alice", "hijacked", generate=False)
    assert accounts.authenticate("alice", "hijacked") is None
    new = accounts.set_http_password(admin, "alice", None, generate=True)
    assert new is not None and accounts.authenticate("alice", new) is not None


def test_accounts_are_found_by_username_email_id_and_self(accounts: AccountService) -> None:
    alice = user(accounts, "alice")
    assert alice.account is not None
    assert accounts.get("alice") == alice.account
    assert accounts.get("ALICE@example.org") == alice.account
    assert accounts.get(str(alice.account.id)) == alice.account
    assert accounts.get("self", alice) == alice.account
    with pytest.raises(NotFound):
        accounts.get("self", Principal.anonymous())
    with pytest.raises(NotFound):
        accounts.get("nobody")


# --- groups --------------------------------------------------------------------------------


def test_groups_and_their_members(accounts: AccountService, admin: Principal) -> None:
    user(accounts, "carol")
    user(accounts, "bob")
    group = accounts.create_group(admin, "reviewers", "People who review",
                                  members=("carol", "bob@example.org"))
    assert group.owner == ADMINISTRATORS
    assert accounts.get_group("reviewers") == group
    assert names(accounts.members("reviewers")) == ["bob", "carol"]
    assert "reviewers" in [g.name for g in accounts.list_groups()]
    bob = accounts.principal(accounts.get("bob"))
    assert "reviewers" in bob.groups


def test_group_creation_errors(accounts: AccountService, admin: Principal) -> None:
    accounts.create_group(admin, "reviewers")
    with pytest.raises(Conflict):
        accounts.create_group(admin, "reviewers")
    for bad in ["", "   ", "two\nlines", "g" * 256]:
        with pytest.raises(BadRequest):
            accounts.create_group(admin, bad)
    with pytest.raises(BadRequest, match="'ghost'"):
        accounts.create_group(admin, "with-ghost", members=("ghost",))
    with pytest.raises(NotFound):
        accounts.get_group("with-ghost")  # the failed creation left nothing behind
    with pytest.raises(Forbidden):
        accounts.create_group(user(accounts, "alice"), "alices-group")
    with pytest.raises(NotFound):
        accounts.members("no-such-group")


def test_the_owner_group_may_add_members_others_may_not(accounts: AccountService,
                                                        admin: Principal) -> None:
    lead = user(accounts, "lead")
    accounts.create_group(admin, "team-leads", members=("lead",))
    accounts.create_group(admin, "team", owner="team-leads")
    user(accounts, "carol")
    outsider = user(accounts, "outsider")
    lead = accounts.principal(accounts.get("lead"))  # now a member of team-leads

    assert accounts.add_member(lead, "team", "carol").username == "carol"
    with pytest.raises(Forbidden) as excinfo:
        accounts.add_member(outsider, "team", "outsider")
    assert "'team-leads'" in excinfo.value.message
    assert accounts.add_member(admin, "team", "outsider").username == "outsider"
    assert names(accounts.members("team")) == ["carol", "outsider"]
    # Adding someone twice keeps one membership.
    accounts.add_member(lead, "team", "carol")
    assert names(accounts.members("team")) == ["carol", "outsider"]
    assert "team" in accounts.principal(accounts.get("carol")).groups


def test_member_edits_that_make_no_sense(accounts: AccountService, admin: Principal) -> None:
    user(accounts, "alice")
    with pytest.raises(BadRequest, match="implied"):
        accounts.add_member(admin, REGISTERED_USERS, "alice")
    with pytest.raises(NotFound):
        accounts.add_member(admin, ADMINISTRATORS, "ghost")
    with pytest.raises(NotFound):
        accounts.add_member(admin, "no-such-group", "alice")


def test_account_fields_survive_the_round_trip(accounts: AccountService) -> None:
    # Values that are valid on one store are valid on the other: a long display name is
    # either stored whole or refused with a reason, the same on SQLite and PostgreSQL.
    long_name = "N" * 300
    try:
        account = accounts.create(None, NewAccount("alice", long_name, "alice@example.org"))
    except BadRequest:
        return
    assert accounts.get("alice").name == account.name == long_name


# --- projects ------------------------------------------------------------------------------


def test_creating_a_project_with_an_empty_commit(projects: ProjectService, repos: Repos,
                                                 accounts: AccountService,
                                                 admin: Principal) -> None:
    project = projects.create(admin, "org/demo", "A demo", create_empty_commit=True)
    assert project == Project("org/demo", "A demo", "refs/heads/main", True)
    assert projects.exists("org/demo") == project

    path = repos.path("org/demo")
    assert path == repos.root / "org" / "demo.git"
    assert repos.exists("org/demo")
    assert repos.run("org/demo", "rev-parse", "--is-bare-repository").strip() == "true"
    assert repos.head("org/demo") == "refs/heads/main"
    branches = projects.branches(project)
    assert [ref for ref, _ in branches] == ["refs/heads/main"]
    (commit,) = repos.read_commits("org/demo", [branches[0][1]])
    assert commit.parents == ()
    assert commit.author.name == "Site Admin"
    assert commit.author.email == "admin@example.org"
    assert repos.run("org/demo", "ls-tree", commit.sha) == ""  # empty tree


def test_a_project_without_empty_commit_has_no_branches_yet(projects: ProjectService,
                                                            repos: Repos,
                                                            admin: Principal) -> None:
    project = projects.create(admin, "bare")
    assert projects.branches(project) == []
    assert projects.head(project) == "refs/heads/main"


def test_a_project_may_start_on_another_branch(projects: ProjectService,
                                               admin: Principal) -> None:
    project = projects.create(admin, "org/dev", create_empty_commit=True,
                              branches=["refs/heads/develop"])
    assert project.head == "refs/heads/develop"
    assert projects.head(project) == "refs/heads/develop"
    assert [ref for ref, _ in projects.branches(project)] == ["refs/heads/develop"]


def test_the_core_group_holds_the_creator(projects: ProjectService, accounts: AccountService,
                                          admin: Principal) -> None:
    projects.create(admin, "org/demo")
    core = accounts.get_group("org/demo-core")
    assert core.owner == "org/demo-core"  # the core group manages itself
    assert names(accounts.members("org/demo-core")) == ["admin"]
    assert admin.account is not None
    assert "org/demo-core" in accounts.principal(admin.account).groups


def test_an_existing_core_group_is_reused(projects: ProjectService, accounts: AccountService,
                                          admin: Principal) -> None:
    user(accounts, "carol")
    accounts.create_group(admin, "org/demo-core", members=("carol",))
    projects.create(admin, "org/demo")
    assert names(accounts.members("org/demo-core")) == ["admin", "carol"]


def test_a_duplicate_project_is_a_conflict(projects: ProjectService, repos: Repos,
                                           admin: Principal) -> None:
    projects.create(admin, "org/demo", create_empty_commit=True)
    with pytest.raises(Conflict, match="'org/demo' already exists"):
        projects.create(admin, "org/demo")
    # A repository already on disk counts too.
    repos.create("org/on-disk", "main")
    with pytest.raises(Conflict):
        projects.create(admin, "org/on-disk")
    assert projects.exists("org/on-disk") is None


@pytest.mark.parametrize("name", ["", "demo.git", "-demo", "org//demo", "org/.hidden",
                                  "changes/demo", "my project", "../escape"])
def test_a_bad_project_name_is_refused_and_nothing_is_created(
        projects: ProjectService, repos: Repos, accounts: AccountService, admin: Principal,
        name: str) -> None:
    with pytest.raises(BadRequest):
        projects.create(admin, name, create_empty_commit=True)
    assert projects.exists(name) is None
    assert not repos.root.exists() or not any(repos.root.rglob("*.git"))
    assert [g.name for g in accounts.list_groups()] == sorted(BUILTIN_GROUPS)


@pytest.mark.parametrize("branch", ["bad..name", "-dash", "with space", ".hidden",
                                    "feature/.hidden"])
def test_a_bad_branch_is_refused_and_nothing_is_created(
        projects: ProjectService, repos: Repos, accounts: AccountService, admin: Principal,
        branch: str) -> None:
    with pytest.raises(BadRequest):
        projects.create(admin, "org/demo", branches=[branch])
    assert projects.exists("org/demo") is None
    assert not repos.exists("org/demo")
    with pytest.raises(NotFound):
        accounts.get_group("org/demo-core")


def test_the_longest_allowed_project_name_works_or_is_refused_with_a_reason(
        projects: ProjectService, repos: Repos, admin: Principal) -> None:
    # name_problem accepts up to 255 characters; whatever the store and the file system
    # make of that, the caller gets a project or a BadRequest, never a crash.
    name = "org/" + "a" * 251
    try:
        project = projects.create(admin, name, create_empty_commit=True)
    except BadRequest:
        assert projects.exists(name) is None
        return
    assert projects.exists(name) == project
    assert repos.exists(name)


def test_a_failed_creation_leaves_nothing_that_blocks_a_retry(
        projects: ProjectService, repos: Repos, accounts: AccountService,
        admin: Principal) -> None:
    # git refuses an author name made only of punctuation, so the empty commit fails after
    # the repository was initialised. The name must be free again afterwards.
    odd = accounts.create(None, NewAccount("dot", ".", "dot@example.org", None,
                                           (ADMINISTRATORS,)))
    with pytest.raises(Exception):  # noqa: B017 - any failure will do; what it leaves matters
        projects.create(accounts.principal(odd), "org/demo", create_empty_commit=True)
    assert projects.exists("org/demo") is None
    project = projects.create(admin, "org/demo", create_empty_commit=True)
    assert [ref for ref, _ in projects.branches(project)] == ["refs/heads/main"]


def test_only_signed_in_administrators_create_projects(projects: ProjectService,
                                                       accounts: AccountService) -> None:
    with pytest.raises(Unauthorized):
        projects.create(Principal.anonymous(), "org/demo")
    with pytest.raises(Forbidden, match=ADMINISTRATORS):
        projects.create(user(accounts, "alice"), "org/demo")
    assert projects.exists("org/demo") is None


def test_private_projects_are_hidden_from_anonymous_callers(
        db: Database, repos: Repos, accounts: AccountService, admin: Principal) -> None:
    service = ProjectService(db, repos, anonymous_read=False)
    private = service.create(admin, "org/private", create_empty_commit=True)
    public = service.create(admin, "org/public", anonymous_read=True)
    assert private.anonymous_read is False
    assert service.exists("org/private") == private  # the flag is stored
    assert public.anonymous_read is True

    anonymous = Principal.anonymous()
    assert service.visible(anonymous) == [public]
    with pytest.raises(Unauthorized):  # so clients retry with credentials
        service.get("org/private", anonymous)
    assert service.get("org/public", anonymous) == public
    with pytest.raises(NotFound):  # a missing project does not ask anyone to sign in
        service.get("org/missing", anonymous)

    alice = user(accounts, "alice")
    assert service.visible(alice) == [private, public]
    assert service.get("org/private", alice) == private
    with pytest.raises(NotFound):
        service.get("org/missing", alice)
    assert service.visible(admin) == [private, public]


def test_site_default_anonymous_read_applies_to_new_projects(
        projects: ProjectService, admin: Principal) -> None:
    project = projects.create(admin, "org/open")
    assert project.anonymous_read is True
    assert projects.visible(Principal.anonymous()) == [project]
    closed = projects.create(admin, "org/closed", anonymous_read=False)
    assert projects.visible(Principal.anonymous()) == [project]
    assert closed in projects.visible(admin)


def test_project_permissions_follow_the_default_rules(projects: ProjectService,
                                                      accounts: AccountService,
                                                      admin: Principal) -> None:
    from keepgreen.domain import acl

    project = projects.create(admin, "org/demo")
    alice = user(accounts, "alice")
    assert projects.can(alice, project, acl.PUSH, "refs/for/main")
    assert not projects.can(alice, project, acl.PUSH, "refs/heads/main")
    assert projects.can(admin, project, acl.PUSH, "refs/heads/main")
