from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keepgreen.domain.query import (
    DEFAULT_OPERATOR,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    OPERATOR_ALIASES,
    And,
    Node,
    Not,
    Or,
    QuerySyntaxError,
    Term,
    parse,
    parse_age,
    parse_label,
    to_text,
)


def word(value: str) -> Term:
    return Term(DEFAULT_OPERATOR, value)


A, B, C, D = word("a"), word("b"), word("c"), word("d")


# --- terms -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status:open", Term("status", "open")),
        ("is:open", Term("is", "open")),
        ("project:org/app", Term("project", "org/app")),
        ("branch:main", Term("branch", "main")),
        ("topic:x", Term("topic", "x")),
        ("change:42", Term("change", "42")),
        ("change:I0123456789abcdef", Term("change", "I0123456789abcdef")),
        ("commit:d81b32ef0a", Term("commit", "d81b32ef0a")),
        ("owner:self", Term("owner", "self")),
        ("reviewer:alice", Term("reviewer", "alice")),
        ("label:Code-Review=+2", Term("label", "Code-Review=+2")),
        ("label:Code-Review>=1", Term("label", "Code-Review>=1")),
        ("label:Code-Review=MAX,user=alice", Term("label", "Code-Review=MAX,user=alice")),
        ("label:Code-Review+2", Term("label", "Code-Review+2")),
        ("label:Code-Review-1", Term("label", "Code-Review-1")),
        ("message:{fix the bug}", Term("message", "fix the bug")),
        ("age:1d", Term("age", "1d")),
        ("limit:10", Term("limit", "10")),
        ("hashtag:release", Term("hashtag", "release")),
        ("file:^src/.*\\.py", Term("file", "^src/.*\\.py")),
        ("is:wip", Term("is", "wip")),
        ("is:private", Term("is", "private")),
        ("is:starred", Term("is", "starred")),
        ("is:owner", Term("is", "owner")),
        ("has:unresolved", Term("has", "unresolved")),
        ("is:true", Term("is", "true")),
        ("is:false", Term("is", "false")),
        (
            'distinctvoters:"[A,B],value=MAX,count>1"',
            Term("distinctvoters", "[A,B],value=MAX,count>1"),
        ),
        ("message:fix:bug", Term("message", "fix:bug")),
        ("topic:a{1,2}", Term("topic", "a{1,2}")),
    ],
)
def test_operator_terms(query: str, expected: Term) -> None:
    assert parse(query) == expected


def test_negated_age() -> None:
    assert parse("-age:30s") == Not(Term("age", "30s"))


@pytest.mark.parametrize("query", ["STATUS:open", "Status:open", "sTaTuS:open"])
def test_operator_names_are_case_insensitive(query: str) -> None:
    assert parse(query) == Term("status", "open")


def test_values_keep_their_case() -> None:
    assert parse("owner:Alice@Example.com") == Term("owner", "Alice@Example.com")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("o:alice", Term("owner", "alice")),
        ("O:alice", Term("owner", "alice")),
        ("r:bob", Term("reviewer", "bob")),
        ("p:org/app", Term("project", "org/app")),
        ("f:README", Term("file", "README")),
        ("a:carol", Term("author", "carol")),
        ("since:2024-01-01", Term("after", "2024-01-01")),
        ("until:2024-01-01", Term("before", "2024-01-01")),
    ],
)
def test_documented_aliases_are_folded(query: str, expected: Term) -> None:
    assert parse(query) == expected


def test_status_and_is_are_not_conflated() -> None:
    assert parse("status:open") == Term("status", "open")
    assert parse("-is:open") == Not(Term("is", "open"))


def test_aliases_map_to_canonical_names_only() -> None:
    assert not set(OPERATOR_ALIASES.values()) & set(OPERATOR_ALIASES)


# --- bare words --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("15183", Term("change", "15183")),
        ("Ic0ff33", Term("change", "Ic0ff33")),
        ("I" + "0123456789" * 4, Term("change", "I" + "0123456789" * 4)),
        ("Ic0ff3", word("Ic0ff3")),  # five hex digits is too short for a Change-Id
        ("I" + "a" * 41, word("I" + "a" * 41)),
        ("IC0FF33", word("IC0FF33")),
        ("12a", word("12a")),
        ("refactor", word("refactor")),
        ("user@example.com", word("user@example.com")),
        ("Code-Review:x", word("Code-Review:x")),
    ],
)
def test_bare_words(query: str, expected: Term) -> None:
    assert parse(query) == expected


def test_quoted_phrases_are_default_searches_even_when_numeric() -> None:
    assert parse('"15183"') == word("15183")
    assert parse('"AND"') == word("AND")


def test_lowercase_keywords_are_plain_words() -> None:
    assert parse("a and b or c not d") == And(
        (A, word("and"), B, word("or"), C, word("not"), D)
    )


# --- quoting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ('message:"fix the bug"', Term("message", "fix the bug")),
        ('after:"2006-01-02 15:04:05"', Term("after", "2006-01-02 15:04:05")),
        ("after:{2006-01-02 15:04:05}", Term("after", "2006-01-02 15:04:05")),
        ('message:"say \\"hi\\" now"', Term("message", 'say "hi" now')),
        ('message:"back\\\\slash"', Term("message", "back\\slash")),
        ('file:"^a\\.b"', Term("file", "^a\\.b")),
        ('message:"(not) a OR b -c"', Term("message", "(not) a OR b -c")),
        ('message:{say "hi"}', Term("message", 'say "hi"')),
        ("message:{a{b}", Term("message", "a{b")),
        ('topic:""', Term("topic", "")),
        ("topic:{}", Term("topic", "")),
        ('"fix the bug"', word("fix the bug")),
        ("{fix the bug}", word("fix the bug")),
    ],
)
def test_quoted_and_braced_values(query: str, expected: Term) -> None:
    assert parse(query) == expected


def test_quoted_value_followed_by_other_terms() -> None:
    assert parse('message:"a b" status:open') == And(
        (Term("message", "a b"), Term("status", "open"))
    )


# --- combinators and precedence ----------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("a b", And((A, B))),
        ("a AND b", And((A, B))),
        ("a  \t\n b", And((A, B))),
        ("a OR b", Or((A, B))),
        ("a OR b c", Or((A, And((B, C))))),
        ("a b OR c", Or((And((A, B)), C))),
        ("a AND b OR c AND d", Or((And((A, B)), And((C, D))))),
        ("a OR b AND c OR d", Or((A, And((B, C)), D))),
        ("(a OR b) c", And((Or((A, B)), C))),
        ("a (b OR c)", And((A, Or((B, C))))),
        ("a(b)", And((A, B))),
        ("a AND b c", And((A, B, C))),
        ("a OR b OR c", Or((A, B, C))),
    ],
)
def test_precedence(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("-a", Not(A)),
        ("NOT a", Not(A)),
        ("NOT(a)", Not(A)),
        ("- a", Not(A)),
        ("-a b", And((Not(A), B))),
        ("NOT a OR b", Or((Not(A), B))),
        ("-a OR -b", Or((Not(A), Not(B)))),
        ("-(a OR b)", Not(Or((A, B)))),
        ("NOT (a b)", Not(And((A, B)))),
        ("--a", Not(Not(A))),
        ("NOT -a", Not(Not(A))),
        ("-15183", Not(Term("change", "15183"))),
        ('-"x y"', Not(word("x y"))),
        ("a -is:wip", And((A, Not(Term("is", "wip"))))),
        ("a AND NOT b", And((A, Not(B)))),
        ("a-b", word("a-b")),
    ],
)
def test_negation(query: str, expected: Node) -> None:
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("(a)", A),
        ("((((a))))", A),
        ("(a (b (c d)))", And((A, B, C, D))),
        ("((a OR b) OR (c OR d))", Or((A, B, C, D))),
        ("(a OR (b (c OR d)))", Or((A, And((B, Or((C, D))))))),
        ("-(a (b OR -(c d)))", Not(And((A, Or((B, Not(And((C, D))))))))),
        ("( a )", A),
    ],
)
def test_nested_parentheses(query: str, expected: Node) -> None:
    assert parse(query) == expected


def test_realistic_query() -> None:
    query = "status:open project:org/app -is:wip (owner:self OR reviewer:self) label:Verified+1"
    assert parse(query) == And(
        (
            Term("status", "open"),
            Term("project", "org/app"),
            Not(Term("is", "wip")),
            Or((Term("owner", "self"), Term("reviewer", "self"))),
            Term("label", "Verified+1"),
        )
    )


def test_nodes_are_immutable() -> None:
    node = parse("a b")
    assert isinstance(node, And)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.operands = ()  # type: ignore[misc]


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("", "empty query", 0),
        ("   \t", "empty query", 0),
        ("is:open (a b))", "unexpected ')' at position 13", 13),
        ("(status:open) )", "unexpected ')' at position 14", 14),
        (")", "unexpected ')' at position 0", 0),
        ("()", "unexpected ')' at position 1", 1),
        ('ab "cd', "unterminated quote starting at position 3", 3),
        ('message:"abc\\"', "unterminated quote starting at position 8", 8),
        ("message:{abc", "unterminated brace starting at position 8", 8),
        ("(a OR b", "unclosed '(' at position 0", 0),
        ("a (", "unclosed '(' at position 2", 2),
        ("a OR", "missing term after 'OR' at position 2", 2),
        ("a AND", "missing term after 'AND' at position 2", 2),
        ("NOT", "missing term after 'NOT' at position 0", 0),
        ("a -", "missing term after '-' at position 2", 2),
        ("OR a", "unexpected 'OR' at position 0", 0),
        ("a OR OR b", "unexpected 'OR' at position 5", 5),
        ("a AND OR b", "unexpected 'OR' at position 6", 6),
        ("a OR )", "unexpected ')' at position 5", 5),
        ("topic:", "missing value for 'topic' at position 0", 0),
        ("a Topic: b", "missing value for 'topic' at position 2", 2),
        ("status:(open)", "missing value for 'status' at position 0", 0),
        ('ab"c"', "unexpected '\"' at position 2", 2),
        ('message:x"y', "unexpected '\"' at position 9", 9),
    ],
)
def test_syntax_errors(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse(query)
    assert str(info.value) == message
    assert info.value.position == position


def test_syntax_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="empty query"):
        parse("")


@pytest.mark.parametrize("opener", ["(", "-", "NOT "])
def test_deep_nesting_is_rejected_not_crashing(opener: str) -> None:
    allowed = opener * MAX_DEPTH + "a" + (")" * MAX_DEPTH if opener == "(" else "")
    assert parse(allowed) is not None
    too_deep = opener * (MAX_DEPTH + 1) + "a" + (")" * (MAX_DEPTH + 1) if opener == "(" else "")
    with pytest.raises(QuerySyntaxError, match="nests deeper than"):
        parse(too_deep)
    hostile = opener * 5000 + "a" + (")" * 5000 if opener == "(" else "")
    with pytest.raises(QuerySyntaxError):
        parse(hostile)


def test_overlong_queries_are_rejected_with_the_limit() -> None:
    with pytest.raises(QuerySyntaxError, match=f"the limit is {MAX_LENGTH}"):
        parse("x" * (MAX_LENGTH + 1))
    assert parse(" ".join(["a"] * MAX_TERMS)) is not None
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_TERMS} terms"):
        parse(" ".join(["a"] * (MAX_TERMS + 1)))
    with pytest.raises(QuerySyntaxError, match="NUL character at position 6"):
        parse("topic:\x00")


# --- rendering ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (Term("status", "open"), "status:open"),
        (Term("message", "fix the bug"), 'message:"fix the bug"'),
        (Term("message", 'say "hi" \\o/'), 'message:"say \\"hi\\" \\\\o/"'),
        (Term("topic", ""), 'topic:""'),
        (word("42"), '"42"'),
        (word("AND"), '"AND"'),
        (word("-x"), '"-x"'),
        (word("a:b"), '"a:b"'),
        (Term("change", "42"), "change:42"),
        (Not(Term("is", "open")), "-is:open"),
        (Not(Or((A, B))), "-(a OR b)"),
        (Or((A, And((B, C)))), "a OR b c"),
        (And((A, Or((B, C)))), "a (b OR c)"),
    ],
)
def test_to_text(node: Node, text: str) -> None:
    assert to_text(node) == text
    assert parse(text) == node


@pytest.mark.parametrize(
    "node", [And(()), Or(()), Term("Bad Operator", "x"), Term("", "x")]
)
def test_to_text_rejects_unrenderable_nodes(node: Node) -> None:
    with pytest.raises(ValueError):
        to_text(node)


# --- properties --------------------------------------------------------------

_OPERATORS = st.sampled_from(
    [DEFAULT_OPERATOR, "status", "is", "label", "message", "change", "owner", "age", "file"]
) | st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in OPERATOR_ALIASES
)
# NUL is refused by the parser (no client sends it, PostgreSQL cannot store it).
_VALUES = (st.text(st.characters(exclude_characters="\x00"), max_size=12)
           | st.text(alphabet='ab1I\\"{}()- :\t', max_size=8))
_TERMS = st.builds(Term, _OPERATORS, _VALUES)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    # Only generate normal-form trees: And/Or never directly nest in themselves.
    def combined(kind: type[And] | type[Or]) -> st.SearchStrategy[Node]:
        operand = children.filter(lambda node: not isinstance(node, kind))
        return st.lists(operand, min_size=2, max_size=4).map(lambda ops: kind(tuple(ops)))

    return st.builds(Not, children) | combined(And) | combined(Or)


_TREES = st.recursive(_TERMS, _extend, max_leaves=12)


@given(_TREES)
def test_round_trip_property(node: Node) -> None:
    assert parse(to_text(node)) == node


_QUERY_ALPHABET = st.sampled_from(list('ab1I:"{}()-\\ \t') + ["AND", "OR", "NOT", "is:"])


@given(st.text() | st.lists(_QUERY_ALPHABET, max_size=30).map("".join))
def test_parse_only_raises_query_syntax_error(text: str) -> None:
    try:
        node = parse(text)
    except QuerySyntaxError as error:
        assert error.position is not None and 0 <= error.position <= len(text)
        assert "position" in str(error) or str(error) == "empty query"
    else:
        assert parse(to_text(node)) == node


@given(st.text(max_size=40))
def test_label_and_age_only_raise_query_syntax_error(text: str) -> None:
    for helper in (parse_label, parse_age):
        try:
            helper(text)
        except QuerySyntaxError:
            pass
