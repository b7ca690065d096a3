"""Election records in the real store, on SQLite and PostgreSQL: one ballot per voter, the
ranking reachable only through the voter's receipt, replaced in place, and the change data
the electorate is computed from."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from keepgreen.domain.account import ADMINISTRATORS
from keepgreen.git.repos import Repos
from keepgreen.services.elections.ballots import Ballots, parse_ranking
from keepgreen.services.errors import BadRequest, Conflict, NotFound
from keepgreen.services.review.accounts import AccountService, NewAccount
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as change_store
from keepgreen.store import elections as store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database
from keepgreen.store.schema import election_ballots, election_voters


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def people(db: Database, tmp_path: Path) -> dict[str, int]:
    accounts = AccountService(db)
    accounts.ensure_builtin_groups()
    admin = accounts.principal(accounts.create(None, NewAccount(
        "admin", "Admin", None, "pw", (ADMINISTRATORS,))))
    projects = ProjectService(db, Repos(tmp_path / "git"), anonymous_read=True)
    projects.create(admin, "org/app")
    projects.create(admin, "org/other")
    ids = {"admin": admin.account.id}  # type: ignore[union-attr]
    for name in ("ana", "bo", "cy", "dee"):
        ids[name] = accounts.create(admin, NewAccount(name, name.title(), None, "pw", ())).id
    return ids


def test_one_ballot_per_voter_and_no_row_ties_a_voter_to_a_ranking(
        db: Database, people: dict[str, int]) -> None:
    ballots = Ballots(db)
    first = ballots.cast("app", people["ana"], [["bo"], ["cy"]], None)
    with pytest.raises(Conflict, match="voted in this election already"):
        ballots.cast("app", people["ana"], [["cy"]], None)
    assert [r for _, r in ballots.all("app")] == [[["bo"], ["cy"]]]
    columns = {t: {c["name"] for c in inspect(db.engine).get_columns(t)}
               for t in ("election_voters", "election_ballots")}
    assert columns == {"election_voters": {"election", "account_id"},
                       "election_ballots": {"election", "receipt_hash", "ranking"}}
    with db.read() as conn:
        voted = conn.execute(select(election_voters.c.account_id)).scalars().all()
        stored = conn.execute(select(election_ballots.c.receipt_hash)).scalars().all()
    assert voted == [people["ana"]]
    # The receipt itself is kept nowhere: only its keyed hash.
    assert stored == [first["receipt_hash"]] and first["receipt"] not in stored
    if db.is_sqlite:  # no hidden row id keeping the order ballots were cast in
        with db.read() as conn:
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = "
                                       "'election_ballots'").scalar_one()
        assert "WITHOUT ROWID" in ddl


def test_the_receipt_shows_and_replaces_the_ballot_and_nothing_else_does(
        db: Database, people: dict[str, int]) -> None:
    ballots = Ballots(db)
    ana = ballots.cast("app", people["ana"], [["bo"], ["cy"]], None)
    bo = ballots.cast("app", people["bo"], [["cy", "bo"]], None)
    assert ballots.verify("app", ana["receipt"])["ranking"] == [["bo"], ["cy"]]
    again = ballots.cast("app", people["ana"], [["cy"], ["bo"]], ana["receipt"])
    assert again["replaced"] and again["receipt_hash"] == ana["receipt_hash"]
    assert sorted(r for _, r in ballots.all("app")) == sorted([[["cy"], ["bo"]],
                                                               [["cy", "bo"]]])
    with pytest.raises(NotFound):
        ballots.verify("app", "a-guess")
    with pytest.raises(NotFound):  # a receipt means nothing in another election
        ballots.verify("other", bo["receipt"])
    with pytest.raises(Conflict, match="not voted"):  # a receipt does not make a voter
        ballots.cast("app", people["cy"], [["bo"]], bo["receipt"])
    with pytest.raises(BadRequest):
        ballots.verify("app", "x" * 1000)
    assert len(ballots.all("app")) == 2


def test_a_voter_casting_twice_at_once_gets_one_ballot(db: Database,
                                                       people: dict[str, int]) -> None:
    ballots = Ballots(db)

    def cast(_: int) -> bool:
        try:
            ballots.cast("app", people["dee"], [["bo"]], None)
        except Conflict:
            return False
        return True

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(cast, range(4))) == [False, False, False, True]
    assert len(ballots.all("app")) == 1


def test_rankings_are_checked_against_the_candidates() -> None:
    assert parse_ranking({"ranking": ["ana", ["bo", "cy"]]}, ["ana", "bo", "cy"]) == [
        ["ana"], ["bo", "cy"]]
    for body, words in [({"ranking": [["zed"]]}, "not a candidate"),
                        ({"ranking": [["ana"], ["ana"]]}, "more than once"),
                        ({"ranking": [[]]}, "non-empty"), ({"ranking": []}, "at least one"),
                        ({"order": []}, "a ballot is"), ({"ranking": [[1]]}, "username"),
                        ({"ranking": [["ana"]] * 10_000}, "at most 3 groups"),
                        ({"ranking": "ana"}, "at most 3 groups"), ([], "a ballot is")]:
        with pytest.raises(BadRequest, match=words):
            parse_ranking(body, ["ana", "bo", "cy"])


def test_candidacies_are_ordered_by_acceptance_and_results_keep_their_first_count(
        db: Database) -> None:
    now = utcnow()
    with db.write() as conn:
        store.record_candidate(conn, "app", "dee", store.NOT_APPROVED, 2, None, now)
        store.record_candidate(conn, "app", "cy", store.ACCEPTED, 3, "admin", now)
        store.record_candidate(conn, "app", "ana", store.NOT_APPROVED, 4, None, now)
        store.record_candidate(conn, "app", "cy", store.LATE, 9, None, now)  # stays accepted
        store.record_candidate(conn, "other", "bo", store.ACCEPTED, 5, "admin", now)
        store.record_candidate(conn, "app", "dee", store.ACCEPTED, 6, "admin", now)  # re-filed
        first = store.save_result(conn, "app", "cy", {"winner": "cy"}, now)
        kept = store.save_result(conn, "app", "ana", {"winner": "ana"}, now)
        assert store.set_proposal(conn, "app", 12)
        assert not store.set_proposal(conn, "app", 13)
    with db.read() as conn:
        records = store.candidates(conn, "app")
        result = store.result(conn, "app")
    assert [(r.username, r.position, r.status, r.change_number) for r in records] == [
        ("ana", 0, store.NOT_APPROVED, 4), ("cy", 1, store.ACCEPTED, 3),
        ("dee", 2, store.ACCEPTED, 6)]
    assert first.winner == kept.winner == "cy"
    assert result is not None and result.proposal_change == 12


def test_contributions_are_recent_merges_and_core_votes_in_the_team_projects(
        db: Database, people: dict[str, int]) -> None:
    now = utcnow()
    long_ago = now - timedelta(days=500)

    def change(owner: str, project: str, merged: datetime | None) -> int:
        with db.write() as conn:
            number = change_store.add_change(
                conn, project=project, branch="main", change_id=f"I{owner}{project}{merged}",
                owner_id=people[owner], subject="s", topic=None, wip=False, private=False,
                now=now)
            if merged is not None:
                change_store.update_change(conn, number, status="MERGED", submitted=merged)
        return number

    change("ana", "org/app", now)
    change("bo", "org/app", long_ago)  # too long ago
    change("cy", "org/other", now)  # not the team's project
    open_change = change("dee", "org/app", None)  # never merged
    with db.write() as conn:
        change_store.set_approval(conn, open_change, 1, "Code-Review", people["bo"], 2, now)
        change_store.set_approval(conn, open_change, 1, "Code-Review", people["cy"], 1, now)
    since = now - timedelta(days=365)
    with db.read() as conn:
        merged_only = store.contributions(conn, ["org/app"], since, reviewers=False)
        with_reviews = store.contributions(conn, ["org/app"], since, reviewers=True)
    assert {(c.username, c.kind) for c in merged_only} == {("ana", "merged")}
    assert {(c.username, c.kind, c.value) for c in with_reviews} == {
        ("ana", "merged", 0), ("bo", "Code-Review", 2)}
