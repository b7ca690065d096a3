"""``Depends-On:`` footers: URL forms, numbers, Change-Ids, and values that name nothing."""

from __future__ import annotations

import pytest

from keepgreen.domain.depends import DependsOn, depends_on, junk, parse_value

CID = "I" + "0123456789abcdef" * 2 + "01234567"


@pytest.mark.parametrize(("text", "number", "project"), [
    ("https://review.example.org/c/org/project/+/123", 123, "org/project"),
    ("http://review.example.org/c/org/project/+/123/", 123, "org/project"),
    ("https://review.example.org/c/org/project/+/123/4", 123, "org/project"),
    ("https://review.example.org/c/org/project/+/123/4/README.md", 123, "org/project"),
    ("https://host:8080/gerrit/c/org%2Fproject/+/7", 7, "org/project"),
    ("https://review.example.org/c/123", 123, None),
    ("https://review.example.org/c/123/", 123, None),
    ("https://review.example.org/123", 123, None),
    ("https://review.example.org/123/", 123, None),
    ("https://review.example.org/#/c/123/", 123, None),
    ("http://localhost:8080/c/p/+/5", 5, "p"),
])
def test_change_urls_on_any_host(text: str, number: int, project: str | None) -> None:
    assert parse_value(text) == DependsOn(text, number=number, project=project)


def test_numbers_and_change_ids() -> None:
    assert parse_value("42") == DependsOn("42", number=42)
    assert parse_value(CID) == DependsOn(CID, change_id=CID)


@pytest.mark.parametrize("text", [
    "", "soon", "0", "-3", "99999999999", "I1234", CID.upper(), CID + "0",
    "ftp://host/c/p/+/3", "https://host/", "https://host/c/p/+/x", "https:///123",
    "https://host/c/p/+/", "see change 12", "https://host/c/ 12",
])
def test_values_that_name_no_change(text: str) -> None:
    assert parse_value(text) is None


def test_footers_of_the_last_paragraph_several_allowed_junk_ignored() -> None:
    message = (
        "Use the new API\n\n"
        "Depends-On: https://elsewhere.example.org/c/lib/+/99 is mentioned in the body,\n"
        "which is not a footer paragraph.\n\n"
        "Depends-On: https://review.example.org/c/org/lib/+/12\n"
        "depends-on: 13\n"
        "Reviewed-By: someone\n"
        "DEPENDS-ON:   " + CID + "  \n"
        "Depends-On: not a change\n"
        "Depends-On: 13\n"
        "Change-Id: I" + "f" * 40 + "\n")
    assert depends_on(message) == [
        DependsOn("https://review.example.org/c/org/lib/+/12", number=12, project="org/lib"),
        DependsOn("13", number=13),
        DependsOn(CID, change_id=CID),
    ]
    assert junk(message) == ["not a change"]


def test_subject_only_or_no_footers() -> None:
    assert depends_on("Depends-On: 12") == []
    assert depends_on("Subject\n\nBody only.\n") == []
    assert depends_on("Subject\n\nDepends-On:\n") == []
