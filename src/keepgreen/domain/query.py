"""Parser for Gerrit's change query language (``GET /changes/?q=``, ``gerrit query``).

``parse(text)`` turns a query such as ``status:open -is:wip (owner:self OR r:self)``
into an immutable tree of ``Term``, ``Not``, ``And`` and ``Or`` nodes; ``to_text``
renders a tree back so that ``parse(to_text(node)) == node`` for every tree that
``parse`` can return. Bad input raises ``QuerySyntaxError`` (a ``ValueError``)
naming the 0-based position and the problem; no other exception escapes ``parse``.
``parse_label`` and ``parse_age`` decode the values of ``label:`` and ``age:``.
The module is pure: no I/O, no store access, standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, TypeAlias, assert_never

__all__ = [
    "DEFAULT_OPERATOR", "MAX_DEPTH", "MAX_LENGTH", "MAX_TERMS", "OPERATOR_ALIASES", "And",
    "Comparison", "LabelPredicate", "LabelScore", "Node", "Not", "Or", "QuerySyntaxError",
    "Term", "parse", "parse_age", "parse_label", "to_text",
]

DEFAULT_OPERATOR = "default"
"""Operator of a bare word that is not a change number or Change-Id."""

MAX_DEPTH = 24
"""Deepest nesting of parentheses and negations accepted by ``parse``; SQLite's parser
overflows its stack on conditions nested about 50 deep, and some terms nest subqueries
of their own, so the bound leaves room."""

MAX_LENGTH = 8192
"""Longest query text accepted by ``parse``, in characters (about what a URL can carry)."""

MAX_TERMS = 64
"""Most terms one query may hold. Each term becomes SQL conditions with subqueries, and the
cost of planning them grows faster than their number (on PostgreSQL 64 terms plan in about
a second), so a longer query is refused with a sentence instead of exhausting the store."""


# Gerrit documents these as synonyms; folding them here means the store layer
# only ever has to understand the canonical spelling.
OPERATOR_ALIASES: Mapping[str, str] = MappingProxyType(
    {"a": "author", "f": "file", "o": "owner", "p": "project", "r": "reviewer",
     "since": "after", "until": "before"}
)


class QuerySyntaxError(ValueError):
    """A query, label or age value that does not follow Gerrit's syntax."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Term:
    """``operator:value``; ``operator`` is lower case and never an alias."""

    operator: str
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    """Two or more operands, none of which is itself an ``And``."""

    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """Two or more operands, none of which is itself an ``Or``."""

    operands: tuple[Node, ...]


Node: TypeAlias = Term | Not | And | Or

_OPERATOR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:")
_OPERATOR_NAME_RE = re.compile(r"[a-z_][a-z0-9_]*")
_CHANGE_NUMBER_RE = re.compile(r"[0-9]+")
_CHANGE_ID_RE = re.compile(r"I[0-9a-f]{6,40}")
_KEYWORDS = frozenset({"AND", "OR", "NOT"})

_TokenKind = Literal["term", "and", "or", "not", "lparen", "rparen", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    position: int
    text: str
    term: Term | None = None


def parse(text: str) -> Node:
    """Parse a change query into its syntax tree."""
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"query is {len(text)} characters long; the limit is "
                               f"{MAX_LENGTH}", MAX_LENGTH)
    nul = text.find("\x00")
    if nul >= 0:
        raise QuerySyntaxError(f"unexpected NUL character at position {nul}", nul)
    tokens = _tokenize(text)
    terms = [t for t in tokens if t.kind == "term"]
    if len(terms) > MAX_TERMS:
        where = terms[MAX_TERMS].position
        raise QuerySyntaxError(f"query has more than {MAX_TERMS} terms (the next one is at "
                               f"position {where})", where)
    return _Parser(tokens).parse_query()


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Token("lparen" if ch == "(" else "rparen", i, ch))
            i += 1
        elif ch == "-":
            tokens.append(_Token("not", i, ch))
            i += 1
        elif ch in '"{':
            value, end = _read_delimited(text, i)
            tokens.append(_Token("term", i, text[i:end], Term(DEFAULT_OPERATOR, value)))
            i = end
        elif match := _OPERATOR_RE.match(text, i):
            name = match.group()[:-1].lower()
            operator = OPERATOR_ALIASES.get(name, name)
            start = match.end()
            if start < len(text) and text[start] in '"{':
                value, end = _read_delimited(text, start)
            else:
                value, end = _read_word(text, start)
                if not value:
                    raise QuerySyntaxError(f"missing value for '{name}' at position {i}", i)
            tokens.append(_Token("term", i, text[i:end], Term(operator, value)))
            i = end
        else:
            word, end = _read_word(text, i)
            if word in _KEYWORDS:
                kind: _TokenKind = "and" if word == "AND" else "or" if word == "OR" else "not"
                tokens.append(_Token(kind, i, word))
            else:
                tokens.append(_Token("term", i, word, _bare_word_term(word)))
            i = end
    tokens.append(_Token("end", len(text), ""))
    return tokens


def _read_delimited(text: str, start: int) -> tuple[str, int]:
    """Read a quoted or braced value at ``start``; return it and the index after it."""
    if text[start] == "{":
        close = text.find("}", start + 1)
        if close < 0:
            raise QuerySyntaxError(f"unterminated brace starting at position {start}", start)
        return text[start + 1 : close], close + 1
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return "".join(chars), i + 1
        # Only \" and \\ are escapes, so regex values like "^a\.b" survive quoting.
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in '"\\':
            chars.append(text[i + 1])
            i += 2
        else:
            chars.append(ch)
            i += 1
    raise QuerySyntaxError(f"unterminated quote starting at position {start}", start)


def _read_word(text: str, start: int) -> tuple[str, int]:
    i = start
    while i < len(text) and not text[i].isspace() and text[i] not in "()":
        # A quote inside a word is almost always a typo for a quoted value;
        # guessing what was meant would silently change the query.
        if text[i] == '"':
            raise QuerySyntaxError(f"unexpected '\"' at position {i}", i)
        i += 1
    return text[start:i], i


def _bare_word_term(word: str) -> Term:
    if _CHANGE_NUMBER_RE.fullmatch(word) or _CHANGE_ID_RE.fullmatch(word):
        return Term("change", word)
    return Term(DEFAULT_OPERATOR, word)


class _Parser:
    """Recursive descent: query := or; or := and ('OR' and)*; and := unary (['AND'] unary)*."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def parse_query(self) -> Node:
        if self._peek().kind == "end":
            raise QuerySyntaxError("empty query", 0)
        node = self._or(None)
        token = self._peek()
        if token.kind != "end":
            raise _unexpected(token)
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _or(self, after: _Token | None) -> Node:
        operands = [self._and(after)]
        while self._peek().kind == "or":
            keyword = self._advance()
            operands.append(self._and(keyword))
        return _combine(Or, operands)

    def _and(self, after: _Token | None) -> Node:
        operands = [self._unary(after)]
        while True:
            token = self._peek()
            if token.kind == "and":
                self._advance()
                operands.append(self._unary(token))
            elif token.kind in ("term", "not", "lparen"):
                operands.append(self._unary(None))
            else:
                return _combine(And, operands)

    def _unary(self, after: _Token | None) -> Node:
        token = self._advance()
        if token.kind == "term" and token.term is not None:
            return token.term
        if token.kind == "not":
            self._enter(token)
            node = Not(self._unary(token))
            self._depth -= 1
            return node
        if token.kind == "lparen":
            self._enter(token)
            inner = self._or(token)
            if self._advance().kind != "rparen":
                raise _unclosed(token)
            self._depth -= 1
            return inner
        if token.kind == "end" and after is not None:
            if after.kind == "lparen":
                raise _unclosed(after)
            raise QuerySyntaxError(
                f"missing term after '{after.text}' at position {after.position}", after.position
            )
        raise _unexpected(token)

    def _enter(self, token: _Token) -> None:
        # Bounded so that hostile input cannot exhaust the interpreter's stack.
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"query nests deeper than {MAX_DEPTH} levels at position {token.position}",
                token.position,
            )


def _unexpected(token: _Token) -> QuerySyntaxError:
    what = "end of query" if token.kind == "end" else f"'{token.text}'"
    return QuerySyntaxError(f"unexpected {what} at position {token.position}", token.position)


def _unclosed(token: _Token) -> QuerySyntaxError:
    return QuerySyntaxError(f"unclosed '(' at position {token.position}", token.position)


def _combine(kind: type[And] | type[Or], operands: list[Node]) -> Node:
    if len(operands) == 1:
        return operands[0]
    flat: list[Node] = []
    for operand in operands:
        if isinstance(operand, kind):
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return kind(tuple(flat))


def to_text(node: Node) -> str:
    """Render ``node`` as query text that ``parse`` maps back to ``node``."""
    if isinstance(node, Term):
        return _term_text(node)
    if isinstance(node, Not):
        body = to_text(node.operand)
        return f"-({body})" if isinstance(node.operand, (And, Or)) else f"-{body}"
    if isinstance(node, And):
        return _join(node, " ", (And, Or))
    if isinstance(node, Or):
        # AND binds tighter than OR, so only a nested Or needs parentheses.
        return _join(node, " OR ", (Or,))
    assert_never(node)


def _join(node: And | Or, separator: str, grouped: tuple[type[And] | type[Or], ...]) -> str:
    if not node.operands:
        raise ValueError(f"cannot render {type(node).__name__} without operands")
    return separator.join(
        f"({to_text(op)})" if isinstance(op, grouped) else to_text(op) for op in node.operands
    )


def _term_text(term: Term) -> str:
    if term.operator == DEFAULT_OPERATOR:
        return term.value if _is_plain_word(term.value) else _quote(term.value)
    if not _OPERATOR_NAME_RE.fullmatch(term.operator):
        raise ValueError(f"cannot render operator {term.operator!r}")
    value = term.value if _is_plain_value(term.value) else _quote(term.value)
    return f"{term.operator}:{value}"


def _is_plain_value(value: str) -> bool:
    """Whether ``value`` reads back unchanged when written unquoted after ``op:``."""
    return value[:1] not in ("", "{") and not any(ch.isspace() or ch in '()"' for ch in value)


def _is_plain_word(value: str) -> bool:
    """Whether ``value`` reads back as a default term when written bare."""
    return (
        _is_plain_value(value)
        and value[0] != "-"
        and value not in _KEYWORDS
        and _OPERATOR_RE.match(value) is None
        and _bare_word_term(value).operator == DEFAULT_OPERATOR
    )


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- label: values -------------------------------------------------------------

Comparison: TypeAlias = Literal["=", ">=", "<=", ">", "<"]
LabelScore: TypeAlias = int | Literal["MAX", "MIN", "ANY"]

_COMPARISONS: Mapping[str, Comparison] = {"=": "=", ">=": ">=", "<=": "<=", ">": ">", "<": "<"}
_SCORE_SYMBOLS: Mapping[str, LabelScore] = {"MAX": "MAX", "MIN": "MIN", "ANY": "ANY"}
# Label names may contain '-', but a trailing one would swallow the sign of a
# score written without '=' (Code-Review-1).
_LABEL_NAME = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_LABEL_COMPARED_RE = re.compile(rf"(?P<name>{_LABEL_NAME})(?P<cmp>>=|<=|=|>|<)(?P<score>.*)", re.S)
_LABEL_SIGNED_RE = re.compile(rf"(?P<name>{_LABEL_NAME})(?P<score>[+-][0-9]+)")
_LABEL_NAME_RE = re.compile(_LABEL_NAME)
_SCORE_RE = re.compile(r"[+-]?[0-9]{1,5}")
_COUNT_RE = re.compile(r"count(?P<cmp>>=|<=|=|>|<)(?P<n>[0-9]{1,5})", re.I)


@dataclass(frozen=True, slots=True)
class LabelPredicate:
    """A decoded ``label:`` value, e.g. ``Code-Review>=1,user=alice`` or ``Verified=MAX,count>=2``.

    ``count`` is ``(comparison, n)``: the number of distinct voters whose vote matches
    must compare so with ``n``; ``None`` means "at least one".
    """

    name: str
    comparison: Comparison
    value: LabelScore
    user: str | None = None
    group: str | None = None
    count: tuple[str, int] | None = None


def parse_label(value: str) -> LabelPredicate:
    """Decode a ``label:`` value; ``Code-Review+2`` means ``Code-Review=+2``."""
    head, comma, qualifier = value.partition(",")
    if match := _LABEL_COMPARED_RE.fullmatch(head):
        comparison = _COMPARISONS[match["cmp"]]
    elif match := _LABEL_SIGNED_RE.fullmatch(head):
        comparison = "="
    elif _LABEL_NAME_RE.fullmatch(head):
        raise QuerySyntaxError(f"label '{head}' needs a score, for example '{head}=+1'")
    else:
        raise QuerySyntaxError(f"invalid label name in '{value}'")
    name, raw_score = match["name"], match["score"]
    score: LabelScore
    if _SCORE_RE.fullmatch(raw_score):
        score = int(raw_score)
    elif raw_score.upper() in _SCORE_SYMBOLS:
        score = _SCORE_SYMBOLS[raw_score.upper()]
        if comparison != "=":
            raise QuerySyntaxError(f"label score {score} only works with '=' in '{value}'")
    else:
        raise QuerySyntaxError(
            f"invalid label score '{raw_score}' in '{value}', expected a number, MAX, MIN or ANY"
        )
    if not comma:
        return LabelPredicate(name, comparison, score)
    return LabelPredicate(name, comparison, score, *_label_qualifiers(value, qualifier))


def _label_qualifiers(
    value: str, text: str
) -> tuple[str | None, str | None, tuple[str, int] | None]:
    """Decode the ``user=``, ``group=`` and ``count<op>N`` qualifiers, in any order."""
    found: dict[str, str] = {}
    count: tuple[str, int] | None = None
    last = ""
    for segment in text.split(","):
        key, equals, who = segment.partition("=")
        key = key.lower()
        if match := _COUNT_RE.fullmatch(segment):
            key = "count"
            if count is None:
                count = (_COMPARISONS[match["cmp"]], int(match["n"]))
                last = key
                continue
        elif segment[:5].lower() == "count":
            raise QuerySyntaxError(
                f"invalid count '{segment}' in '{value}', expected for example 'count>=2'"
            )
        elif equals and who and key in ("user", "group"):
            if key not in found:
                found[key] = who
                last = key
                continue
        elif last == "group":
            # Group names such as LDAP's 'CN=Developers, DC=example' contain commas.
            found["group"] += "," + segment
            continue
        else:
            raise QuerySyntaxError(
                f"expected 'user=NAME' or 'group=NAME' after ',' in '{value}'"
                " (or a count such as 'count>=2')"
            )
        raise QuerySyntaxError(f"'{key}' is given twice in '{value}'")
    return found.get("user"), found.get("group"), count


# --- age: values ---------------------------------------------------------------

_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_AGE_UNITS: Mapping[str, int] = MappingProxyType(
    {
        unit: seconds
        for units, seconds in (
            ("s sec second seconds", 1),
            ("m min minute minutes", _MINUTE),
            ("h hr hour hours", _HOUR),
            ("d day days", _DAY),
            ("w week weeks", 7 * _DAY),
            ("mon month months", 30 * _DAY),
            ("y year years", 365 * _DAY),
        )
        for unit in units.split()
    }
)
_AGE_RE = re.compile(r"\s*(?P<amount>[0-9]+)\s*(?P<unit>[A-Za-z]*)\s*")
_MAX_AGE_DIGITS = 12


def parse_age(value: str) -> int:
    """Convert an ``age:`` value such as ``2d`` or ``3 weeks`` to seconds."""
    match = _AGE_RE.fullmatch(value)
    if match is None:
        raise QuerySyntaxError(f"invalid age '{value}', expected a number and a unit like '2d'")
    amount, unit = match["amount"], match["unit"]
    if not unit:
        raise QuerySyntaxError(f"age '{value}' needs a unit such as 's', 'h', 'd' or 'w'")
    seconds = _AGE_UNITS.get(unit.lower())
    if seconds is None:
        raise QuerySyntaxError(f"unknown age unit '{unit}' in '{value}'")
    if len(amount) > _MAX_AGE_DIGITS:
        raise QuerySyntaxError(f"age '{value}' is too large")
    return int(amount) * seconds
