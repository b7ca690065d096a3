"""Signing in against the real store (SQLite and PostgreSQL): the failure throttle, the same
answer and cost for unknown users as for wrong passwords, the verified-password cache, and
session epochs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import pytest

from keepgreen.domain.account import Principal
from keepgreen.domain.throttle import LoginThrottle
from keepgreen.services.errors import TooManyAttempts
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.store.db import Database
from keepgreen.store.listener import Listener
from tests.conftest import drop_postgres_database, make_postgres_database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(db: Database, clock: Clock) -> AccountService:
    service = AccountService(db, LoginThrottle(3, 60, clock=clock, address_max_failures=3))
    service.ensure_builtin_groups()
    return service


def admin(accounts: AccountService) -> Principal:
    account = accounts.create(None, NewAccount("root", "Root", None, "root-pw",
                                               ("Administrators",)))
    return accounts.principal(account)


def test_failures_per_account_lock_it_until_the_window_passes(accounts: AccountService,
                                                              clock: Clock) -> None:
    accounts.create(None, NewAccount("alice", http_password="right"))
    for _ in range(3):
        assert accounts.authenticate("alice", "wrong", "198.51.100.1") is None
    with pytest.raises(TooManyAttempts) as refused:
        accounts.authenticate("alice", "right", "198.51.100.2")  # another address too
    assert refused.value.status == 429 and 0 < refused.value.retry_after <= 60
    clock.now += 61
    assert accounts.authenticate("alice", "right", "198.51.100.2") is not None


def test_failures_per_address_lock_every_account_from_it(accounts: AccountService) -> None:
    accounts.create(None, NewAccount("bob", http_password="right"))
    for name in ("x1", "x2", "x3"):  # unknown users count as well
        assert accounts.authenticate(name, "guess", "203.0.113.9") is None
    with pytest.raises(TooManyAttempts):
        accounts.authenticate("bob", "right", "203.0.113.9")
    assert accounts.authenticate("bob", "right", "203.0.113.10") is not None


def test_an_unknown_user_costs_as_much_as_a_wrong_password(accounts: AccountService) -> None:
    accounts.throttle.max_failures = 0  # measure the check, not the throttle
    accounts.create(None, NewAccount("carol", http_password="right"))

    def check(username: str) -> float:
        start = time.perf_counter()
        assert accounts.authenticate(username, "wrong") is None
        return time.perf_counter() - start

    check("nobody")  # the first check of an unknown user makes the stand-in hash
    # Interleaved, so a busy machine slows both alike.
    times = [(check("carol"), check("nobody")) for _ in range(7)]
    wrong = statistics.median(t[0] for t in times)
    unknown = statistics.median(t[1] for t in times)
    # Without the stand-in check an unknown user answers after one query, ~50 times faster.
    assert unknown > wrong / 5, (unknown, wrong)


def test_a_changed_password_stops_working_at_once(accounts: AccountService) -> None:
    root = admin(accounts)
    accounts.create(None, NewAccount("dave", http_password="old"))
    assert accounts.authenticate("dave", "old") is not None  # now in the verified cache
    accounts.set_http_password(root, "dave", "new", generate=False)
    assert accounts.authenticate("dave", "old") is None
    assert accounts.authenticate("dave", "new") is not None


def test_a_signed_in_caller_sees_a_membership_change_and_a_deactivation_at_once(
        accounts: AccountService) -> None:
    root = admin(accounts)
    accounts.create(None, NewAccount("eve", http_password="pw"))
    before = accounts.authenticate("eve", "pw")
    assert before is not None and "Service Users" not in before.groups
    assert accounts.authenticate("eve", "pw") is before  # the recent sign-in, not the store
    accounts.add_member(root, "Service Users", "eve")
    after = accounts.authenticate("eve", "pw")
    assert after is not None and "Service Users" in after.groups
    accounts.set_active(root, "eve", False)
    assert accounts.authenticate("eve", "pw") is None


def test_a_change_in_another_process_reaches_its_recent_sign_ins(
        postgres_admin_url: str) -> None:
    # Other processes are told through PostgreSQL's NOTIFY (on SQLite, one process serves
    # a site, and a recent sign-in there lasts its few seconds).
    database_url, name = make_postgres_database(postgres_admin_url)
    db = Database(database_url)
    db.migrate()
    here = AccountService(db)
    here.ensure_builtin_groups()
    here.create(None, NewAccount("frank", http_password="pw"))
    assert here.authenticate("frank", "pw") is not None
    listener = Listener(db, me="this process")  # hears the notes of this pid too
    listener.start()
    other = Database(database_url)  # another process of the site
    try:
        elsewhere = AccountService(other)
        root = admin(elsewhere)
        elsewhere.set_active(root, "frank", False)
        deadline = time.monotonic() + 2.5  # well within the recent sign-in's 5 s
        while here.authenticate("frank", "pw") is not None:
            assert time.monotonic() < deadline, "the other process's change was not heard"
            time.sleep(0.05)
    finally:
        listener.stop()
        other.dispose()
        db.dispose()
        drop_postgres_database(postgres_admin_url, name)


def test_sessions_end_on_sign_out_and_on_a_new_password(accounts: AccountService) -> None:
    root = admin(accounts)
    erin = accounts.create(None, NewAccount("erin", http_password="pw"))
    epoch = accounts.session_epoch(erin.id)
    assert epoch is not None
    assert accounts.session_principal(erin.id, epoch) is not None
    accounts.end_sessions(erin.id)
    assert accounts.session_principal(erin.id, epoch) is None
    epoch = accounts.session_epoch(erin.id)
    assert epoch is not None and accounts.session_principal(erin.id, epoch) is not None
    accounts.set_http_password(root, "erin", None, generate=True)
    assert accounts.session_principal(erin.id, epoch) is None
    assert accounts.session_principal(999_999, 0) is None
