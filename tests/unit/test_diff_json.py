"""The DiffInfo chunks of ``keepgreen.gerrit.diff_json``: both versions of a file can be read
back from them, and unchanged lines beyond the context are skipped, never lost."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepgreen.gerrit.diff_json import diff_content, parse_context

lines = st.lists(st.sampled_from(["a", "b", "c", "", "d e"]), max_size=40)


def sides(chunks: list[dict[str, object]], old: list[str]) -> tuple[list[str], list[str]]:
    """Both versions rebuilt from the chunks; skipped lines are taken from ``old``."""
    a: list[str] = []
    b: list[str] = []
    for chunk in chunks:
        if "skip" in chunk:
            count = chunk["skip"]
            assert isinstance(count, int) and count > 0
            skipped = old[len(a):len(a) + count]
            a += skipped
            b += skipped
            continue
        same = chunk.get("ab", [])
        assert isinstance(same, list)
        a += same + list(chunk.get("a", []))  # type: ignore[call-overload]
        b += same + list(chunk.get("b", []))  # type: ignore[call-overload]
    return a, b


@given(lines, lines, st.one_of(st.none(), st.integers(min_value=0, max_value=5)))
def test_both_versions_can_be_read_back(old: list[str], new: list[str],
                                        context: int | None) -> None:
    chunks = diff_content(old, new, context)
    assert sides(chunks, old) == (old, new)
    if context is None:
        assert not any("skip" in c for c in chunks)
    for chunk in chunks:
        assert chunk and all(chunk.values())


def test_context_keeps_that_many_lines_around_each_change() -> None:
    old = [str(i) for i in range(20)]
    new = [*old[:10], "ten", *old[11:]]
    assert diff_content(old, new, 2) == [
        {"skip": 8}, {"ab": ["8", "9"]}, {"a": ["10"], "b": ["ten"]},
        {"ab": ["11", "12"]}, {"skip": 7}]
    assert diff_content(old, old, 2) == [{"ab": old}]


@pytest.mark.parametrize(("raw", "context"), [(None, 10), ("ALL", None), ("all", None),
                                               ("-1", None), ("0", 0), ("25", 25)])
def test_context_values(raw: str | None, context: int | None) -> None:
    assert parse_context(raw) == context


@pytest.mark.parametrize("raw", ["lots", "1.5", "", "99999999"])
def test_bad_context_values_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="whole number of lines"):
        parse_context(raw)
