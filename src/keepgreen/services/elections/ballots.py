"""Ballots that cannot be linked to voters, and the receipts that let voters check them.

Casting a first ballot writes two unrelated rows in one transaction: a voted marker
(election, account) and the ranking under ``HMAC-SHA256(salt, token)``, where ``salt`` is a
random secret of the election and ``token`` a random receipt handed to the voter and kept
nowhere. Only the voter can find their ballot again: the receipt shows it (to check it was
stored as cast) and replaces it (to change the vote until voting closes). The published
result lists every ballot by receipt hash, which the voter is also given.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from keepgreen.domain import schulze
from keepgreen.services.errors import BadRequest, Conflict, NotFound
from keepgreen.store import elections as store
from keepgreen.store.db import Database

MAX_RECEIPT = 200


def parse_ranking(body: Any, candidates: list[str]) -> store.Ranking:
    """The ranking in a ballot body ``{"ranking": [["ana"], ["bo", "cy"]]}``: groups best
    first, candidates in one group tied; a plain name stands for a group of one."""
    if not isinstance(body, dict) or "ranking" not in body:
        raise BadRequest('a ballot is {"ranking": [["first"], ["tied", "second"], ...]}')
    raw = body["ranking"]
    if not isinstance(raw, list) or len(raw) > len(candidates):
        raise BadRequest(f"ranking must be a list of at most {len(candidates)} groups of "
                         "candidates")
    ranking: store.Ranking = []
    for group in raw:
        names = [group] if isinstance(group, str) else group
        if not isinstance(names, list) or not names \
                or not all(isinstance(n, str) for n in names):
            raise BadRequest("each group of the ranking is a candidate's username or a "
                             "non-empty list of them")
        ranking.append(list(names))
    if not ranking:
        raise BadRequest("rank at least one candidate")
    try:
        schulze.check_ballot(ranking, candidates)
    except schulze.BallotError as exc:
        raise BadRequest(str(exc)) from None
    return ranking


class Ballots:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _hash(self, election: str, receipt: str) -> str:
        with self.db.write() as conn:
            salt = store.salt(conn, election, secrets.token_hex(32))
        return hmac.new(bytes.fromhex(salt), receipt.encode(), hashlib.sha256).hexdigest()

    def cast(self, election: str, account_id: int, ranking: store.Ranking,
             receipt: str | None) -> dict[str, Any]:
        """A first ballot (no ``receipt``) or the replacement of the ballot ``receipt``
        names; the receipt and its hash either way."""
        if receipt is None:
            token = secrets.token_urlsafe(24)
            digest = self._hash(election, token)
            with self.db.write() as conn:
                if not store.cast(conn, election, account_id, digest, ranking):
                    raise Conflict("you have voted in this election already; send the "
                                   "receipt you were given to change your ballot")
            return {"receipt": token, "receipt_hash": digest, "ranking": ranking,
                    "replaced": False}
        digest = self._checked_hash(election, receipt)
        with self.db.write() as conn:
            if not store.has_voted(conn, election, account_id):
                raise Conflict("you have not voted in this election yet; cast a ballot "
                               "without a receipt first")
            if not store.replace_ballot(conn, election, digest, ranking):
                raise NotFound("no ballot in this election has that receipt")
        return {"receipt": receipt, "receipt_hash": digest, "ranking": ranking,
                "replaced": True}

    def _checked_hash(self, election: str, receipt: str) -> str:
        if len(receipt) > MAX_RECEIPT or not receipt.isascii() or not receipt.strip():
            raise BadRequest("a receipt is the text you were given when you voted")
        return self._hash(election, receipt.strip())

    def verify(self, election: str, receipt: str) -> dict[str, Any]:
        digest = self._checked_hash(election, receipt)
        with self.db.read() as conn:
            found = store.ballot(conn, election, digest)
        if found is None:
            raise NotFound("no ballot in this election has that receipt")
        return {"receipt_hash": digest, "ranking": found}

    def all(self, election: str) -> list[tuple[str, store.Ranking]]:
        with self.db.read() as conn:
            return store.ballots(conn, election)
