"""Elections as values: what an election is, which phase it is in, who may stand and vote,
and what its outcome is. Pure: the standard library and the Schulze count only.

An election fills one office (the PTL) of one team, whose work lives in one or more
projects. It runs in two windows: nominations (candidacies are accepted), then voting
(ballots are cast and may be replaced). Times are naive UTC, as the store keeps them. The
electorate is computed from the site's own change data (``Contribution`` values) by the
election's ``ElectorateRule``, plus the extra voters its definition lists.

Outcome. With no accepted candidate there is no result. With one, the election is
uncontested and ends at nomination close with that candidate, no vote held. With more, the
ballots are counted by the Schulze method once voting closes; ties the method leaves are
broken by the order in which candidacies were accepted (published on the election's page
before voting opens).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from keepgreen.domain import schulze

METHODS = ("schulze",)
UPCOMING, NOMINATING, WAITING, VOTING, CLOSED = (
    "upcoming", "nominating", "waiting", "voting", "closed")
# Reviews that count when an election's rule includes reviewers: Code-Review +2 or -2, or
# Workflow +1 (what core reviewers give).
REVIEW_VOTES = (("Code-Review", 2), ("Code-Review", -2), ("Workflow", 1))


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime

    def holds(self, when: datetime) -> bool:
        return self.opens <= when < self.closes


@dataclass(frozen=True)
class ElectorateRule:
    """Who may vote: owners of changes merged in the team's projects in the last ``months``
    months before voting opens; with ``reviewers``, also accounts that voted Code-Review
    +2/-2 or Workflow +1 on the team's changes in that time."""

    months: int = 12
    reviewers: bool = False

    def since(self, until: datetime) -> datetime:
        return until - timedelta(days=round(self.months * 365 / 12))


@dataclass(frozen=True)
class ElectionSpec:
    name: str
    team: str
    projects: tuple[str, ...]
    nomination: Window
    voting: Window
    officials: str
    office: str = "PTL"
    electorate: ElectorateRule = field(default_factory=ElectorateRule)
    extra_voters: tuple[str, ...] = ()
    method: str = "schulze"
    description: str = ""

    @property
    def group(self) -> str:
        """The group the winner joins."""
        return f"{self.team}-ptl"

    def phase(self, now: datetime) -> str:
        if now < self.nomination.opens:
            return UPCOMING
        if self.nomination.holds(now):
            return NOMINATING
        if now < self.voting.opens:
            return WAITING
        if self.voting.holds(now):
            return VOTING
        return CLOSED


@dataclass(frozen=True)
class Contribution:
    """One thing an account did in a project that an electorate rule may count: a change it
    owns merged (``kind`` "merged"), or a review vote (``kind`` the label, with ``value``)."""

    username: str
    project: str
    kind: str
    when: datetime
    value: int = 0


def electorate(spec: ElectionSpec, contributions: Iterable[Contribution]) -> frozenset[str]:
    """The usernames that may vote in ``spec``."""
    rule = spec.electorate
    since = rule.since(spec.voting.opens)
    projects = set(spec.projects)
    voters = set(spec.extra_voters)
    for c in contributions:
        if c.project not in projects or not since <= c.when < spec.voting.opens:
            continue
        if c.kind == "merged" or (rule.reviewers and (c.kind, c.value) in REVIEW_VOTES):
            voters.add(c.username)
    return frozenset(voters)


def candidacy_problem(spec: ElectionSpec, username: str, voters: frozenset[str],
                      now: datetime) -> str | None:
    """Why ``username`` cannot stand in ``spec`` at ``now``, or None."""
    if not spec.nomination.holds(now):
        when = "not open yet" if now < spec.nomination.opens else "closed"
        return (f"nominations for election {spec.name!r} are {when} (they run from "
                f"{stamp(spec.nomination.opens)} to {stamp(spec.nomination.closes)})")
    if username not in voters:
        return (f"{username} is not in the electorate of election {spec.name!r}, so cannot "
                f"stand: {describe_rule(spec)}")
    return None


def describe_rule(spec: ElectionSpec) -> str:
    rule = spec.electorate
    text = (f"voters are the owners of changes merged in {', '.join(spec.projects)} in the "
            f"{rule.months} months before voting opens")
    if rule.reviewers:
        text += ", and those who voted Code-Review +2/-2 or Workflow +1 on them"
    if spec.extra_voters:
        text += f", and {', '.join(spec.extra_voters)}"
    return text


def stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Outcome:
    """What an election has decided so far. ``winner`` is None while undecided or when no
    one stood; ``tally`` is None when no vote was needed."""

    decided: bool
    winner: str | None
    uncontested: bool = False
    tally: schulze.Tally | None = None
    reason: str = ""


def outcome(spec: ElectionSpec, candidates: Sequence[str], ballots: Iterable[schulze.Ballot],
            now: datetime) -> Outcome:
    """The election's outcome at ``now``; ``candidates`` in the order they were accepted
    (the tie-break order)."""
    phase = spec.phase(now)
    if phase in (UPCOMING, NOMINATING):
        return Outcome(False, None, reason="nominations are still open")
    if not candidates:
        return Outcome(True, None, reason="no candidacy was accepted")
    if len(candidates) == 1:
        return Outcome(True, candidates[0], uncontested=True,
                       reason="uncontested: the only candidate is elected at nomination close")
    if phase != CLOSED:
        return Outcome(False, None, reason="voting has not closed yet")
    counted = schulze.tally(list(ballots), candidates, tie_break=candidates)
    return Outcome(True, counted.winner, tally=counted,
                   reason="Schulze winner; ties broken by the order candidacies were accepted")
