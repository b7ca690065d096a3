"""The Schulze count: worked examples, bad ballots, and agreement with pref-voting."""

from __future__ import annotations

import random

import pytest

from keepgreen.domain.schulze import BallotError, tally


def ballots(*spec: tuple[int, str]) -> list[tuple[tuple[str, ...], ...]]:
    """``(5, "a>c>b")`` is five ballots ranking a, then c, then b; ``=`` ties."""
    out = []
    for count, text in spec:
        ballot = tuple(tuple(group.split("=")) for group in text.split(">"))
        out.extend([ballot] * count)
    return out


def test_schulze_wikipedia_example_picks_e_and_ranks_everyone() -> None:
    # The 45-voter example from the method's description: e wins, then a, c, b, d.
    votes = ballots((5, "a>c>b>e>d"), (5, "a>d>e>c>b"), (8, "b>e>d>a>c"), (3, "c>a>b>e>d"),
                    (7, "c>a>e>b>d"), (2, "c>b>a>d>e"), (7, "d>c>e>b>a"), (8, "e>b>a>d>c"))
    result = tally(votes, "abcde")
    assert result.ballots == 45
    assert result.pairwise["a"]["b"] == 20 and result.pairwise["b"]["a"] == 25
    assert result.strongest_paths["e"]["a"] == 25 and result.strongest_paths["a"]["e"] == 24
    assert result.winners == ("e",)
    assert result.ranking == ("e", "a", "c", "b", "d")


def test_a_cycle_left_level_is_broken_by_the_published_order() -> None:
    votes = ballots((1, "a>b>c"), (1, "b>c>a"), (1, "c>a>b"))
    assert tally(votes, "abc").winners == ("a", "b", "c")
    result = tally(votes, "abc", tie_break="cab")
    assert result.winners == ("c", "a", "b") and result.winner == "c"


def test_unranked_candidates_rank_below_the_ranked_ones() -> None:
    result = tally(ballots((3, "b"), (2, "a>c")), "abc")
    assert result.pairwise["b"]["c"] == 3 and result.pairwise["c"]["b"] == 2
    assert result.pairwise["a"]["c"] == 2 and result.pairwise["c"]["a"] == 0
    assert result.winner == "b"


def test_no_ballots_leaves_the_tie_break_order() -> None:
    result = tally([], ["x", "y"], tie_break=["y", "x"])
    assert result.ballots == 0 and result.ranking == ("y", "x")


@pytest.mark.parametrize("ballot, message", [
    ((("a",), ("zed",)), '"zed" is not a candidate'),
    ((("a", "b"), ("a",)), '"a" is ranked more than once'),
])
def test_a_bad_ballot_is_refused_with_the_name(ballot, message) -> None:
    with pytest.raises(BallotError, match=message):
        tally([ballot], "abc")


def test_the_tie_break_order_must_name_every_candidate() -> None:
    with pytest.raises(ValueError, match="tie-break"):
        tally([], "abc", tie_break="ab")


def random_ballot(rng: random.Random, candidates: str) -> tuple[tuple[str, ...], ...]:
    """A complete weak order: shuffle, then cut into groups (ties) at random."""
    order = list(candidates)
    rng.shuffle(order)
    groups: list[list[str]] = [[order[0]]]
    for name in order[1:]:
        if rng.random() < 0.25:
            groups[-1].append(name)
        else:
            groups.append([name])
    return tuple(tuple(group) for group in groups)


@pytest.mark.parametrize("strength", ["winning-votes", "margins"])
def test_winners_agree_with_pref_voting_on_random_profiles(strength: str) -> None:
    from pref_voting.margin_based_methods import beat_path
    from pref_voting.profiles_with_ties import ProfileWithTies

    rng = random.Random(20261205)
    checked = 0
    for _ in range(2500):
        candidates = "abcdefg"[: rng.randint(2, 7)]
        votes = [random_ballot(rng, candidates) for _ in range(rng.randint(1, 25))]
        ours = tally(votes, candidates, strength=strength)  # type: ignore[arg-type]
        index = {name: i for i, name in enumerate(candidates)}
        profile = ProfileWithTies(
            [{index[name]: rank for rank, group in enumerate(ballot) for name in group}
             for ballot in votes],
            candidates=list(range(len(candidates))))
        support = profile.support if strength == "winning-votes" else None
        theirs = beat_path(profile, strength_function=support)
        assert sorted(index[name] for name in ours.winners) == sorted(theirs), votes
        checked += 1
    assert checked == 2500
