"""Counting a ranked-ballot election by the Schulze (beat-path) method.

A ballot ranks candidates in groups: ``(("ana",), ("bo", "cy"))`` puts ana first and bo and
cy tied second. Candidates a ballot leaves out rank below every candidate it names, tied with
each other. ``tally`` returns the pairwise matrix (``d[a][b]``: voters who rank a strictly
above b), the strongest-path matrix, the winners and a full ranking.

Strength of a defeat. With ``winning-votes`` (Schulze's recommendation, the default) a link
from a to b has the strength ``d[a][b]`` when more voters prefer a to b than b to a, else no
link; with ``margins`` its strength is ``d[a][b] - d[b][a]`` when positive. Both agree when
every ballot is a complete strict order; they can differ once ballots hold ties.

A path's strength is its weakest link; ``p[a][b]`` is the strength of the strongest path
from a to b, found with the Floyd-Warshall widest-path recurrence. a beats b when
``p[a][b] > p[b][a]``; the winners are those no one beats.

Tie-break. Where the method leaves candidates level (several winners, or a tie further down
the ranking), the election's ``tie_break`` order decides: the candidate earlier in it ranks
higher. Elections publish that order before voting opens (keepgreen uses the order in which
candidacies were accepted), so the outcome of a tie is known to everyone in advance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Ballot = Sequence[Sequence[str]]
Strength = Literal["winning-votes", "margins"]
STRENGTHS: tuple[Strength, ...] = ("winning-votes", "margins")


class BallotError(ValueError):
    """A ballot that names an unknown candidate or the same candidate twice."""


@dataclass(frozen=True)
class Tally:
    candidates: tuple[str, ...]
    ballots: int
    pairwise: Mapping[str, Mapping[str, int]]
    strongest_paths: Mapping[str, Mapping[str, int]]
    winners: tuple[str, ...]
    ranking: tuple[str, ...]
    """Every candidate, best first; ties in the method broken by the tie-break order."""

    @property
    def winner(self) -> str | None:
        return self.ranking[0] if self.ranking else None

    def beats(self, a: str, b: str) -> bool:
        return self.strongest_paths[a][b] > self.strongest_paths[b][a]


def check_ballot(ballot: Ballot, candidates: Iterable[str]) -> None:
    known = set(candidates)
    seen: set[str] = set()
    for group in ballot:
        for name in group:
            if name not in known:
                raise BallotError(f'"{name}" is not a candidate in this election')
            if name in seen:
                raise BallotError(f'"{name}" is ranked more than once on the ballot')
            seen.add(name)


def _positions(ballot: Ballot, candidates: Sequence[str]) -> dict[str, int]:
    """Rank number per candidate (0 is best); unranked candidates share the last place."""
    place = {name: rank for rank, group in enumerate(ballot) for name in group}
    last = len(ballot)
    return {name: place.get(name, last) for name in candidates}


def pairwise(ballots: Iterable[Ballot], candidates: Sequence[str]) -> dict[str, dict[str, int]]:
    d = {a: dict.fromkeys(candidates, 0) for a in candidates}
    for ballot in ballots:
        check_ballot(ballot, candidates)
        rank = _positions(ballot, candidates)
        for a in candidates:
            for b in candidates:
                if rank[a] < rank[b]:
                    d[a][b] += 1
    return d


def strongest_paths(d: Mapping[str, Mapping[str, int]], candidates: Sequence[str],
                    strength: Strength = "winning-votes") -> dict[str, dict[str, int]]:
    if strength not in STRENGTHS:
        raise ValueError(f'unknown strength "{strength}"; use one of {", ".join(STRENGTHS)}')
    p = {a: dict.fromkeys(candidates, 0) for a in candidates}
    for a in candidates:
        for b in candidates:
            if a != b and d[a][b] > d[b][a]:
                p[a][b] = d[a][b] if strength == "winning-votes" else d[a][b] - d[b][a]
    for via in candidates:
        for a in candidates:
            if a == via:
                continue
            for b in candidates:
                if b in (a, via):
                    continue
                through = min(p[a][via], p[via][b])
                if through > p[a][b]:
                    p[a][b] = through
    return p


def tally(ballots: Iterable[Ballot], candidates: Sequence[str],
          tie_break: Sequence[str] | None = None,
          strength: Strength = "winning-votes") -> Tally:
    """Count ``ballots``; ``tie_break`` lists every candidate (default: ``candidates``'s order)."""
    names = tuple(candidates)
    if len(set(names)) != len(names):
        raise ValueError("a candidate is listed twice")
    order = tuple(tie_break) if tie_break is not None else names
    if sorted(order) != sorted(names):
        raise ValueError("the tie-break order must list every candidate exactly once")
    counted = list(ballots)
    d = pairwise(counted, names)
    p = strongest_paths(d, names, strength)
    winners = tuple(a for a in order if all(p[a][b] >= p[b][a] for b in names if b != a))
    return Tally(candidates=names, ballots=len(counted), pairwise=d, strongest_paths=p,
                 winners=winners, ranking=_ranking(p, order))


def _ranking(p: Mapping[str, Mapping[str, int]], order: Sequence[str]) -> tuple[str, ...]:
    """Repeatedly take the unbeaten candidates that remain, earliest in the tie-break first.

    The beat relation of the strongest paths is transitive (Schulze's theorem), so among the
    candidates left there is always at least one that none of the others beats.
    """
    left = list(order)
    ranked: list[str] = []
    while left:
        top = next(a for a in left if not any(p[b][a] > p[a][b] for b in left if b != a))
        ranked.append(top)
        left.remove(top)
    return tuple(ranked)
