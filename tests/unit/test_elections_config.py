"""Elections as written in config: what a good file gives, what a bad one is told (file,
line, field), and the phases, electorate and outcome the domain derives from them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from keepgreen.domain import election as elect
from keepgreen.domain.election import Contribution
from keepgreen.jobconf.source import ConfigError, Located
from keepgreen.jobconf.yaml_loader import load
from keepgreen.siteconf.elections import parse

GOOD = """\
team: org-app
office: PTL
projects: [org/app, org/lib]
nomination: {opens: 2027-03-01T00:00:00Z, closes: 2027-03-08T00:00:00Z}
voting:
  opens: 2027-03-10T00:00:00Z
  closes: 2027-03-17T00:00:00+02:00
electorate: {merged-within-months: 6, reviewers: true}
extra-voters: [carol]
officials: election-officials
"""


def read(files: dict[str, str], candidates: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    trees: dict[str, Located | ConfigError | None] = {}
    for path, text in files.items():
        try:
            trees[path] = load(path, text)
        except ConfigError as exc:
            trees[path] = exc
    return parse(trees, candidates or {})


def test_a_good_election_file_gives_its_values_in_utc() -> None:
    specs, candidacies, problems = read({"elections/app-2027.yaml": GOOD},
                                        {"candidates/app-2027/ana.txt": "I stand.\n"})
    assert problems == []
    spec = specs["app-2027"]
    assert spec.team == "org-app" and spec.group == "org-app-ptl"
    assert spec.projects == ("org/app", "org/lib")
    assert spec.voting.closes == datetime(2027, 3, 16, 22, 0)
    assert spec.electorate == elect.ElectorateRule(6, True)
    assert spec.extra_voters == ("carol",) and spec.officials == "election-officials"
    assert [(c.election, c.username) for c in candidacies] == [("app-2027", "ana")]


@pytest.mark.parametrize(("text", "line", "words"), [
    (GOOD.replace("officials: election-officials\n", ""), 1, "needs `officials`"),
    (GOOD.replace("2027-03-08T00:00:00Z", "next week"), 4, "`nomination.closes`"),
    (GOOD.replace("opens: 2027-03-10", "opens: 2027-03-05"), 5, "must open at or after"),
    (GOOD.replace("reviewers: true", "reviewers: maybe"), 8, "`electorate.reviewers`"),
    (GOOD.replace("merged-within-months: 6", "merged-within-months: 0"), 8,
     "merged-within-months"),
    (GOOD + "method: plurality\n", 11, "method of election 'app-2027' must be one of schulze"),
    (GOOD + "ballot-box: paper\n", 11, "unknown key 'ballot-box'"),
    (GOOD.replace("projects: [org/app, org/lib]", "projects: []"), 3, "at least one"),
    (GOOD.replace("extra-voters: [carol]", "extra-voters: [carol, carol]"), 9, "twice"),
    ("- team: x\n", 1, "must be a mapping"),
])
def test_a_bad_election_file_is_told_file_line_and_field(text: str, line: int,
                                                         words: str) -> None:
    specs, _, problems = read({"elections/app-2027.yaml": text})
    assert "app-2027" not in specs
    assert any(p.path == "elections/app-2027.yaml" and p.line == line and words in p.message
               for p in problems), [str(p) for p in problems]


def test_bad_candidacies_name_their_file() -> None:
    _, candidacies, problems = read({"elections/app-2027.yaml": GOOD}, {
        "candidates/app-2027/ana.txt": "   \n",
        "candidates/nowhere/bo.txt": "Me.",
        "candidates/app-2027/-x.txt": "Me.",
        "candidates/app-2027/cy.md": "Me.",
    })
    assert candidacies == []
    told = {p.path: p.message for p in problems}
    assert "needs a statement" in told["candidates/app-2027/ana.txt"]
    assert "no election 'nowhere'" in told["candidates/nowhere/bo.txt"]
    assert "not a username" in told["candidates/app-2027/-x.txt"]
    assert "<username>.txt" in told["candidates/app-2027/cy.md"]


def test_a_yaml_error_and_a_bad_file_name_are_reported() -> None:
    _, _, problems = read({"elections/app.yaml": "team: [\n", "elections/Big Name.yaml": GOOD})
    assert any(p.path == "elections/app.yaml" and "YAML syntax error" in p.message
               for p in problems)
    assert any(p.path == "elections/Big Name.yaml" for p in problems)


def spec() -> elect.ElectionSpec:
    return read({"elections/app-2027.yaml": GOOD})[0]["app-2027"]


def test_phases_follow_the_windows() -> None:
    s = spec()
    days = [datetime(2027, 2, 1), datetime(2027, 3, 2), datetime(2027, 3, 9),
            datetime(2027, 3, 12), datetime(2027, 3, 20)]
    assert [s.phase(d) for d in days] == [elect.UPCOMING, elect.NOMINATING, elect.WAITING,
                                          elect.VOTING, elect.CLOSED]


def test_the_electorate_counts_recent_merges_reviews_and_extra_voters_only() -> None:
    s = spec()
    recent = s.voting.opens - timedelta(days=30)
    old = s.voting.opens - timedelta(days=200)  # beyond six months
    found = elect.electorate(s, [
        Contribution("ana", "org/app", "merged", recent),
        Contribution("bo", "org/lib", "Code-Review", recent, -2),
        Contribution("cy", "org/app", "Code-Review", recent, 1),  # +1 does not count
        Contribution("dee", "org/other", "merged", recent),  # not the team's project
        Contribution("eve", "org/app", "merged", old),
        Contribution("fay", "org/app", "Workflow", recent, 1),
        Contribution("gus", "org/app", "merged", s.voting.opens),  # once voting is open
    ])
    assert found == {"ana", "bo", "fay", "carol"}
    without_reviewers = elect.ElectionSpec(**{**s.__dict__, "electorate":
                                              elect.ElectorateRule(12, False)})
    assert elect.electorate(without_reviewers, [
        Contribution("bo", "org/lib", "Code-Review", recent, 2),
        Contribution("eve", "org/app", "merged", old)]) == {"eve", "carol"}


def test_standing_needs_open_nominations_and_a_place_in_the_electorate() -> None:
    s = spec()
    during = datetime(2027, 3, 2)
    assert elect.candidacy_problem(s, "ana", frozenset({"ana"}), during) is None
    assert "not in the electorate" in (elect.candidacy_problem(s, "bo", frozenset({"ana"}),
                                                               during) or "")
    assert "closed" in (elect.candidacy_problem(s, "ana", frozenset({"ana"}),
                                                datetime(2027, 3, 9)) or "")


def test_outcome_waits_for_close_and_an_uncontested_election_ends_at_nomination_close() -> None:
    s = spec()
    assert not elect.outcome(s, ["ana"], [], datetime(2027, 3, 2)).decided
    alone = elect.outcome(s, ["ana"], [], datetime(2027, 3, 9))
    assert (alone.decided, alone.winner, alone.uncontested) == (True, "ana", True)
    assert not elect.outcome(s, ["ana", "bo"], [], datetime(2027, 3, 12)).decided
    # A tie is broken by acceptance order: bo was accepted first here.
    level = elect.outcome(s, ["bo", "ana"], [[["ana"]], [["bo"]]], datetime(2027, 3, 20))
    assert level.winner == "bo" and level.tally is not None
    assert level.tally.pairwise["ana"]["bo"] == 1
    nobody = elect.outcome(s, [], [], datetime(2027, 3, 20))
    assert nobody.decided and nobody.winner is None


def test_a_running_election_must_name_the_sites_projects_and_a_closed_one_need_not() -> None:
    trees = {"elections/app-2027.yaml": load("elections/app-2027.yaml", GOOD)}
    _, _, problems = parse(trees, {}, {"org/app"}, {"election-officials"},
                           datetime(2027, 3, 12))
    assert [(p.line, "org/lib" in p.message) for p in problems] == [(3, True)]
    _, _, problems = parse(trees, {}, {"org/app", "org/lib"}, set(), datetime(2027, 3, 12))
    assert [(p.line, "'election-officials', which does not exist" in p.message)
            for p in problems] == [(10, True)]
    specs, _, problems = parse(trees, {}, set(), set(), datetime(2027, 4, 1))
    assert problems == [] and "app-2027" in specs
