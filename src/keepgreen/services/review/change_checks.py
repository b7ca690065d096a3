"""Checking one change against a change query expression: whether it matches, and which of
the expression's leaf atoms it passes and fails (Gerrit's "Evaluate Change Query
Expression")."""

from __future__ import annotations

from dataclasses import dataclass

from keepgreen.domain import query as q
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.changes import ChangeService


@dataclass(frozen=True)
class QueryMatch:
    matches: bool
    passing_atoms: tuple[str, ...]
    failing_atoms: tuple[str, ...]


def atoms_of(node: q.Node) -> list[q.Term]:
    """The distinct leaf terms of ``node``, in the order they are written."""
    if isinstance(node, q.Term):
        return [node]
    operands = (node.operand,) if isinstance(node, q.Not) else node.operands
    seen: dict[q.Term, None] = {}
    for operand in operands:
        seen.update(dict.fromkeys(atoms_of(operand)))
    return list(seen)


def _value(node: q.Node, results: dict[q.Term, bool]) -> bool:
    if isinstance(node, q.Term):
        return results[node]
    if isinstance(node, q.Not):
        return not _value(node.operand, results)
    values = [_value(operand, results) for operand in node.operands]
    return all(values) if isinstance(node, q.And) else any(values)


def evaluate_query(changes: ChangeService, change: Change, text: str,
                   who: Principal) -> QueryMatch:
    """Evaluate ``text`` against ``change`` (which ``who`` may see), atom by atom, with the
    same query language and the same caller-relative meaning (``self``, stars) as
    ``GET /changes/?q=``."""
    if not text.strip():
        raise BadRequest("expression is required")
    try:
        node = q.parse(text)
    except q.QuerySyntaxError as error:
        raise BadRequest(f"invalid query expression {text[:200]!r}: {error}") from None
    atoms = atoms_of(node)
    nodes: list[q.Node] = [*atoms]
    results = dict(zip(atoms, changes.matches(change, nodes, who), strict=True))
    return QueryMatch(
        _value(node, results),
        tuple(q.to_text(atom) for atom in atoms if results[atom]),
        tuple(q.to_text(atom) for atom in atoms if not results[atom]),
    )
