"""REST: evaluating a submit requirement or a query expression against one change, and
the access rights of several projects at once.

``POST /changes/{id}/check.submit_requirement`` evaluates a SubmitRequirementInput given
in the body against the change, without saving it; ``GET /changes/{id}/query`` tells
whether the change matches a change query expression and which atoms pass or fail; both
need only that the caller may see the change. ``GET /access/?project=...`` gives
ProjectAccessInfo for each named project, keyed and sorted by name; a project the caller
may not see answers 404 for the whole request, exactly like an unknown one.
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import requirements
from keepgreen.domain.query import QuerySyntaxError, parse
from keepgreen.gerrit.access_api import get_access
from keepgreen.gerrit.change_json import requirement_info
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.change_checks import evaluate_query

MAX_PROJECTS = 100
MAX_EXPRESSION = 8192

# SubmitRequirementInput field -> what it is called in a 400 for an expression.
_EXPRESSIONS = {"applicability_expression": "applicability expression",
                "submittability_expression": "submittability expression",
                "override_expression": "override expression"}


def _expression(data: JsonObject, key: str) -> str | None:
    """One expression of the input, checked to parse; empty or absent is None."""
    text = data.optional_text(key)
    if text is None or not text.strip():
        return None
    if len(text) > MAX_EXPRESSION:
        raise BadRequest(f"{data.name(key)} is longer than {MAX_EXPRESSION} characters")
    try:
        parse(text)
    except QuerySyntaxError as error:
        raise BadRequest(f"invalid {_EXPRESSIONS[key]} {text[:200]!r}: {error}") from None
    return text


def check_requirement(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    if call.query("sr-name") is not None or call.query("refs-config-change-id") is not None:
        raise BadRequest("sr-name and refs-config-change-id are not supported; give the "
                         "submit requirement in the request body")
    data = JsonObject.of(call.json())
    name = data.text("name").strip()
    if not name:
        raise BadRequest(f"{data.name('name')} is required")
    description = data.text("description")
    data.flag("allow_override_in_child_projects")
    submittable_if = _expression(data, "submittability_expression")
    if submittable_if is None:
        raise BadRequest(f"{data.name('submittability_expression')} is required")
    requirement = requirements.Requirement(
        name, submittable_if, description,
        applicable_if=_expression(data, "applicability_expression"),
        override_if=_expression(data, "override_expression"))
    result = requirements.evaluate(requirement, call.services.submit.facts(found))
    return {key: value for key, value in requirement_info(result).items() if value is not None}


def evaluate_expression(call: Call, change: str) -> Any:
    found = call.services.changes.resolve(change, call.who)
    match = evaluate_query(call.services.changes, found, call.query("expression") or "",
                           call.who)
    return {"status": match.matches, "passing_atoms": list(match.passing_atoms),
            "failing_atoms": list(match.failing_atoms)}


def list_access(call: Call) -> Any:
    names = sorted({name.strip() for name in [*call.query_all("project"), *call.query_all("p")]
                    if name.strip()})
    if len(names) > MAX_PROJECTS:
        raise BadRequest(f"ask for at most {MAX_PROJECTS} projects at once")
    return {name: get_access(call, name) for name in names}


ROUTES: list[Route] = [
    ("POST", ("changes", "{change}", "check.submit_requirement"), check_requirement),
    ("GET", ("changes", "{change}", "query"), evaluate_expression),
    ("GET", ("access", ""), list_access),
]
