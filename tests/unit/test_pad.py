"""Pads as plain rules: titles, the changes a text mentions, and history grouping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from keepgreen.domain.pad import (
    MAX_MENTIONS,
    MAX_TITLE,
    Edit,
    history,
    mentions,
    title_problem,
)


@pytest.mark.parametrize("text,expected", [
    ("Change 12 and change #7, then CHANGE 12 again", [12, 7]),
    ("see http://review.example.org/c/org/app/+/42 and /c/99", [42, 99]),
    ("http://host/c/org/app/+/5/3 is patch set 3 of change 5", [5]),
    ("changes 12 and exchange 3 and change12 and /c/org/app", []),
    ("change 0 is no change", []),
])
def test_mentions_find_change_numbers_in_order(text: str, expected: list[int]) -> None:
    assert mentions(text) == expected


def test_mentions_are_bounded() -> None:
    text = " ".join(f"change {n}" for n in range(1, 200))
    assert mentions(text) == list(range(1, MAX_MENTIONS + 1))


@pytest.mark.parametrize("title,problem", [
    ("", "a pad needs a title"),
    ("   ", "a pad needs a title"),
    ("x" * (MAX_TITLE + 1), f"at most {MAX_TITLE} characters"),
    ("two\nlines", "one line"),
])
def test_bad_titles_are_named(title: str, problem: str) -> None:
    found = title_problem(title)
    assert found is not None and problem in found


def test_a_good_title_passes() -> None:
    assert title_problem("Meeting notes 2027-01-12") is None


def test_history_groups_edits_by_author_and_time() -> None:
    t0 = datetime(2027, 1, 1, 12, 0)
    edits = [Edit(1, t0, 5, 0), Edit(1, t0 + timedelta(minutes=2), 3, 1),
             Edit(2, t0 + timedelta(minutes=3), 4, 0),
             Edit(1, t0 + timedelta(minutes=4), 1, 0),
             Edit(1, t0 + timedelta(minutes=30), 0, 2)]
    entries = history(edits)
    assert [(e.author_id, e.inserted, e.deleted, e.edits) for e in entries] == [
        (1, 8, 1, 2), (2, 4, 0, 1), (1, 1, 0, 1), (1, 0, 2, 1)]
    assert entries[0].first == t0 and entries[0].last == t0 + timedelta(minutes=2)
