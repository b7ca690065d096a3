"""Label and age values of the query language: ``label:Code-Review+2,user=x``, ``age:2d``."""

from __future__ import annotations

import pytest

from keepgreen.domain.query import (
    And,
    LabelPredicate,
    Not,
    QuerySyntaxError,
    Term,
    parse,
    parse_age,
    parse_label,
)

# --- label values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Code-Review=+2", LabelPredicate("Code-Review", "=", 2)),
        ("Code-Review=2", LabelPredicate("Code-Review", "=", 2)),
        ("Code-Review+2", LabelPredicate("Code-Review", "=", 2)),
        ("Code-Review-1", LabelPredicate("Code-Review", "=", -1)),
        ("Code-Review=-1", LabelPredicate("Code-Review", "=", -1)),
        ("Code-Review=0", LabelPredicate("Code-Review", "=", 0)),
        ("Code-Review>=1", LabelPredicate("Code-Review", ">=", 1)),
        ("Code-Review<=-1", LabelPredicate("Code-Review", "<=", -1)),
        ("Code-Review>0", LabelPredicate("Code-Review", ">", 0)),
        ("Code-Review<+1", LabelPredicate("Code-Review", "<", 1)),
        ("Verified=MAX", LabelPredicate("Verified", "=", "MAX")),
        ("Verified=min", LabelPredicate("Verified", "=", "MIN")),
        ("Verified=ANY", LabelPredicate("Verified", "=", "ANY")),
        (
            "Code-Review=MAX,user=alice",
            LabelPredicate("Code-Review", "=", "MAX", user="alice"),
        ),
        (
            "Code-Review=+1,group=ldap/linux.workflow",
            LabelPredicate("Code-Review", "=", 1, group="ldap/linux.workflow"),
        ),
        (
            "Code-Review>=1,group=CN=Developers, DC=example",
            LabelPredicate("Code-Review", ">=", 1, group="CN=Developers, DC=example"),
        ),
        ("My_Label2+1", LabelPredicate("My_Label2", "=", 1)),
    ],
)
def test_parse_label(value: str, expected: LabelPredicate) -> None:
    assert parse_label(value) == expected


def test_label_spellings_are_equal() -> None:
    spellings = ["Code-Review+2", "Code-Review=+2", "Code-Review=2"]
    assert len({parse_label(spelling) for spelling in spellings}) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Code-Review", "label 'Code-Review' needs a score, for example 'Code-Review=+1'"),
        ("Code-Review2", "label 'Code-Review2' needs a score"),
        ("", "invalid label name in ''"),
        ("=+1", "invalid label name in '=+1'"),
        ("-Code-Review=1", "invalid label name"),
        ("Code-Review=--1", "invalid label score '--1'"),
        ("Code Review=1", "invalid label name"),
        ("Code-Review=ok", "invalid label score 'ok'"),
        ("Code-Review=", "invalid label score ''"),
        ("Code-Review=+-1", "invalid label score '+-1'"),
        ("Code-Review=123456", "invalid label score '123456'"),
        ("Code-Review>=MAX", "label score MAX only works with '='"),
        ("Code-Review=+1,alice", "expected 'user=NAME' or 'group=NAME' after ','"),
        ("Code-Review=+1,user=", "expected 'user=NAME' or 'group=NAME' after ','"),
        ("Code-Review=+1,team=x", "expected 'user=NAME' or 'group=NAME' after ','"),
    ],
)
def test_parse_label_errors(value: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_label(value)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "Code-Review=MAX,count>=2",
            LabelPredicate("Code-Review", "=", "MAX", count=(">=", 2)),
        ),
        ("Code-Review=+2,count=1", LabelPredicate("Code-Review", "=", 2, count=("=", 1))),
        ("Code-Review>0,count>1", LabelPredicate("Code-Review", ">", 0, count=(">", 1))),
        ("Code-Review=ANY,count<=3", LabelPredicate("Code-Review", "=", "ANY", count=("<=", 3))),
        ("Code-Review-2,COUNT<1", LabelPredicate("Code-Review", "=", -2, count=("<", 1))),
        ("Code-Review=MAX,count=0", LabelPredicate("Code-Review", "=", "MAX", count=("=", 0))),
        (
            "Verified=MAX,user=ci,count>=1",
            LabelPredicate("Verified", "=", "MAX", user="ci", count=(">=", 1)),
        ),
        (
            "Verified=MAX,count>=1,group=ci",
            LabelPredicate("Verified", "=", "MAX", group="ci", count=(">=", 1)),
        ),
        (
            "Code-Review=+2,user=alice,group=core",
            LabelPredicate("Code-Review", "=", 2, user="alice", group="core"),
        ),
        (
            "Code-Review>=1,group=CN=Developers, DC=example,count>=2",
            LabelPredicate(
                "Code-Review", ">=", 1, group="CN=Developers, DC=example", count=(">=", 2)
            ),
        ),
    ],
)
def test_parse_label_qualifiers(value: str, expected: LabelPredicate) -> None:
    assert parse_label(value) == expected


def test_label_count_survives_the_query_parser() -> None:
    node = parse("label:Code-Review=MAX,count>=2 -label:Code-Review=MIN")
    assert node == And(
        (Term("label", "Code-Review=MAX,count>=2"), Not(Term("label", "Code-Review=MIN")))
    )
    assert isinstance(node, And) and isinstance(node.operands[0], Term)
    assert parse_label(node.operands[0].value).count == (">=", 2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Code-Review=+2,count>=x", "invalid count 'count>=x'"),
        ("Code-Review=+2,count", "invalid count 'count'"),
        ("Code-Review=+2,count=>2", "invalid count 'count=>2'"),
        ("Code-Review=+2,count>=-1", "invalid count 'count>=-1'"),
        ("Code-Review=+2,count>=123456", "invalid count 'count>=123456'"),
        ("Code-Review=+2,count>=2,count>=3", "'count' is given twice"),
        ("Code-Review=+2,user=a,user=b", "'user' is given twice"),
        ("Code-Review=+2,group=a,group=b", "'group' is given twice"),
        ("Code-Review=+2,user=a,alice", "expected 'user=NAME' or 'group=NAME' after ','"),
        ("Code-Review=+2,count>=1,", "expected 'user=NAME' or 'group=NAME' after ','"),
    ],
)
def test_parse_label_qualifier_errors(value: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_label(value)
    assert str(info.value).startswith(message)


# --- age values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("1sec", 1),
        ("1second", 1),
        ("2seconds", 2),
        ("5m", 300),
        ("5min", 300),
        ("1minute", 60),
        ("2minutes", 120),
        ("2h", 7200),
        ("1hr", 3600),
        ("1hour", 3600),
        ("3hours", 10800),
        ("1d", 86400),
        ("1day", 86400),
        ("2days", 172800),
        ("1w", 604800),
        ("1week", 604800),
        ("2weeks", 1209600),
        ("1mon", 2592000),
        ("1month", 2592000),
        ("2months", 5184000),
        ("1y", 31536000),
        ("1year", 31536000),
        ("2years", 63072000),
        ("0d", 0),
        ("1 week", 604800),
        ("3D", 259200),
    ],
)
def test_parse_age(value: str, seconds: int) -> None:
    assert parse_age(value) == seconds


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30", "age '30' needs a unit"),
        ("", "invalid age ''"),
        ("d", "invalid age 'd'"),
        ("-1d", "invalid age '-1d'"),
        ("1.5d", "invalid age '1.5d'"),
        ("1q", "unknown age unit 'q' in '1q'"),
        ("1mo", "unknown age unit 'mo' in '1mo'"),
        ("9" * 5000 + "d", "age '"),
    ],
)
def test_parse_age_errors(value: str, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_age(value)
    assert str(info.value).startswith(message)
