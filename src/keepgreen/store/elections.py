"""Elections in the store: the per-election salt, candidacies, voted markers, ballots kept
by receipt hash, results; and the change data electorates are computed from."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from keepgreen.domain.election import REVIEW_VOTES, Contribution
from keepgreen.store.schema import (
    accounts,
    approvals,
    changes,
    election_ballots,
    election_candidates,
    election_results,
    election_secrets,
    election_voters,
)

ACCEPTED, NOT_APPROVED, LATE = "ACCEPTED", "NOT_APPROVED", "LATE"
Ranking = list[list[str]]


@dataclass(frozen=True)
class CandidateRecord:
    election: str
    username: str
    position: int
    status: str
    change_number: int | None
    approved_by: str | None


@dataclass(frozen=True)
class ResultRecord:
    election: str
    winner: str | None
    document: dict[str, Any]
    decided: datetime
    proposal_change: int | None


def salt(conn: Connection, election: str, fresh: str) -> str:
    """The election's salt; ``fresh`` becomes it when it has none yet."""
    query = select(election_secrets.c.salt).where(election_secrets.c.election == election)
    found = conn.execute(query).scalar()
    if found is not None:
        return str(found)
    try:
        with conn.begin_nested():
            conn.execute(insert(election_secrets).values(election=election, salt=fresh))
    except IntegrityError:
        return str(conn.execute(query).scalar_one())
    return fresh


def candidates(conn: Connection, election: str) -> list[CandidateRecord]:
    rows = conn.execute(select(election_candidates)
                        .where(election_candidates.c.election == election)
                        .order_by(election_candidates.c.position)).all()
    return [CandidateRecord(r.election, r.username, r.position, r.status, r.change_number,
                            r.approved_by) for r in rows]


def record_candidate(conn: Connection, election: str, username: str, status: str,
                     change_number: int | None, approved_by: str | None,
                     now: datetime) -> None:
    """Record how a candidacy was judged. An accepted candidacy stays as it is; one not
    accepted is judged again on its next record. The position (the tie-break) is given at
    acceptance: 1 for the first accepted, and so on; 0 while not accepted."""
    key = (election_candidates.c.election == election,
           election_candidates.c.username == username)
    before = conn.execute(select(election_candidates.c.status).where(*key)).scalar()
    if before == ACCEPTED:
        return
    position = 0
    if status == ACCEPTED:
        position = int(conn.execute(
            select(func.coalesce(func.max(election_candidates.c.position), 0))
            .where(election_candidates.c.election == election)).scalar_one()) + 1
    values = {"position": position, "status": status, "change_number": change_number,
              "approved_by": approved_by, "recorded": now}
    if before is None:
        conn.execute(insert(election_candidates).values(election=election, username=username,
                                                        **values))
    else:
        conn.execute(update(election_candidates).where(*key).values(**values))


def has_voted(conn: Connection, election: str, account_id: int) -> bool:
    return conn.execute(select(election_voters.c.account_id).where(
        election_voters.c.election == election,
        election_voters.c.account_id == account_id)).first() is not None


def cast(conn: Connection, election: str, account_id: int, receipt_hash: str,
         ranking: Ranking) -> bool:
    """A first ballot: the voted marker and the ballot, in the caller's transaction. False
    when the account has voted already (nothing written)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(election_voters).values(election=election,
                                                        account_id=account_id))
    except IntegrityError:
        return False
    conn.execute(insert(election_ballots).values(election=election, receipt_hash=receipt_hash,
                                                 ranking=ranking))
    return True


def replace_ballot(conn: Connection, election: str, receipt_hash: str,
                   ranking: Ranking) -> bool:
    """Put ``ranking`` in place of the ballot with ``receipt_hash``; False when none has it."""
    done = conn.execute(update(election_ballots).where(
        election_ballots.c.election == election,
        election_ballots.c.receipt_hash == receipt_hash).values(ranking=ranking))
    return bool(done.rowcount)


def ballot(conn: Connection, election: str, receipt_hash: str) -> Ranking | None:
    found = conn.execute(select(election_ballots.c.ranking).where(
        election_ballots.c.election == election,
        election_ballots.c.receipt_hash == receipt_hash)).scalar()
    return _ranking(found) if found is not None else None


def ballots(conn: Connection, election: str) -> list[tuple[str, Ranking]]:
    """Every ballot as (receipt hash, ranking), in receipt-hash order."""
    rows = conn.execute(select(election_ballots.c.receipt_hash, election_ballots.c.ranking)
                        .where(election_ballots.c.election == election)
                        .order_by(election_ballots.c.receipt_hash)).all()
    return [(r.receipt_hash, _ranking(r.ranking)) for r in rows]


def voter_count(conn: Connection, election: str) -> int:
    return int(conn.execute(select(func.count()).select_from(election_voters)
                            .where(election_voters.c.election == election)).scalar_one())


def _ranking(value: Any) -> Ranking:
    loaded = json.loads(value) if isinstance(value, str) else value
    return [list(group) for group in loaded]


def result(conn: Connection, election: str) -> ResultRecord | None:
    row = conn.execute(select(election_results)
                       .where(election_results.c.election == election)).first()
    if row is None:
        return None
    document = json.loads(row.document) if isinstance(row.document, str) else row.document
    return ResultRecord(row.election, row.winner, document, row.decided, row.proposal_change)


def save_result(conn: Connection, election: str, winner: str | None,
                document: dict[str, Any], now: datetime) -> ResultRecord:
    """Keep the first result recorded for ``election`` and return the one kept."""
    try:
        with conn.begin_nested():
            conn.execute(insert(election_results).values(election=election, winner=winner,
                                                         document=document, decided=now))
    except IntegrityError:
        pass
    found = result(conn, election)
    assert found is not None
    return found


def set_proposal(conn: Connection, election: str, change_number: int) -> bool:
    """Note the change proposing the winner; False when one was noted already."""
    done = conn.execute(update(election_results).where(
        election_results.c.election == election,
        election_results.c.proposal_change.is_(None)).values(proposal_change=change_number))
    return bool(done.rowcount)


def contributions(conn: Connection, projects: Iterable[str], since: datetime,
                  reviewers: bool) -> list[Contribution]:
    """Merged changes (by owner) and, with ``reviewers``, Code-Review ±2 and Workflow +1
    votes in ``projects`` since ``since``, by active accounts."""
    names = list(projects)
    found = [Contribution(r.username, r.project, "merged", r.submitted) for r in conn.execute(
        select(accounts.c.username, changes.c.project, changes.c.submitted)
        .join(accounts, accounts.c.id == changes.c.owner_id)
        .where(changes.c.project.in_(names), changes.c.status == "MERGED",
               changes.c.submitted >= since, accounts.c.active.is_(True)))]
    if reviewers:
        votes = or_(*(and_(approvals.c.label == label, approvals.c.value == value)
                      for label, value in REVIEW_VOTES))
        found += [Contribution(r.username, r.project, r.label, r.granted, r.value)
                  for r in conn.execute(
            select(accounts.c.username, changes.c.project, approvals.c.label,
                   approvals.c.value, approvals.c.granted)
            .join(changes, changes.c.number == approvals.c.change_number)
            .join(accounts, accounts.c.id == approvals.c.account_id)
            .where(changes.c.project.in_(names), approvals.c.granted >= since, votes,
                   accounts.c.active.is_(True)))]
    return found
