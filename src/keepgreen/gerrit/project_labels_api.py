"""REST: a project's labels, submit requirements and dashboards.

Labels and submit requirements are built into keepgreen and read as defined in
``All-Projects`` (``services/review/project_labels.py``); edits are checked as Gerrit
checks them (project visible, owner, well-formed input) and then refused with 405 naming
where the setting lives. Dashboards are kept per project and changed by its owners.
"""

from __future__ import annotations

import re
from typing import Any

from keepgreen.domain import dashboards as boards
from keepgreen.domain import labels
from keepgreen.domain.query import QuerySyntaxError, parse
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, MethodNotAllowed, NotFound
from keepgreen.services.review.dashboards import DashboardService, parse_id
from keepgreen.services.review.project_labels import (
    LABEL_FUNCTION,
    LabelDefinition,
    ProjectLabels,
    RequirementDefinition,
    copy_condition,
)

FUNCTIONS = ("MaxWithBlock", "AnyWithBlock", "MaxNoBlock", "NoBlock", "NoOp", "PatchSetLock")
_LABEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")
_VALUE = re.compile(r"\s*[+-]?\d{1,5}\s*")
MAX_BATCH = 100


def _labels(call: Call) -> ProjectLabels:
    labels: ProjectLabels = call.services.labels
    return labels


def _dashboards(call: Call) -> DashboardService:
    dashboards: DashboardService = call.services.dashboards
    return dashboards


# -- labels -------------------------------------------------------------------------------

def label_info(found: LabelDefinition) -> dict[str, Any]:
    label = found.label
    return {"name": label.name, "project": found.project, "function": LABEL_FUNCTION,
            "values": label.value_strings(), "default_value": 0, "can_override": True,
            "copy_condition": copy_condition(label)}


def list_labels(call: Call, project: str) -> Any:
    return [label_info(d) for d in _labels(call).labels(call.who, project,
                                                         call.flag("inherited"))]


def get_label(call: Call, project: str, label: str) -> Any:
    return label_info(_labels(call).label(call.who, project, label))


def _query_text(data: JsonObject, key: str) -> None:
    text = data.optional_text(key)
    if text is None or not text.strip():
        return
    try:
        parse(text)
    except QuerySyntaxError as error:
        raise BadRequest(f"{data.name(key)} is not a valid query: {error}") from None


def _check_label_input(data: JsonObject, creating: bool) -> None:
    """LabelDefinitionInput, field by field."""
    for key in ("name", "description", "commit_message"):
        data.text(key)
    if "function" in data and data.text("function") not in FUNCTIONS:
        raise BadRequest(f"{data.name('function')} must be one of {', '.join(FUNCTIONS)}")
    values = data.obj("values")
    for key, text in values.entries():
        if not _VALUE.fullmatch(key):
            raise BadRequest(f"{values.name(key)}: {key!r} is not a label value like -1, "
                             "' 0' or +1")
        if not isinstance(text, str):
            raise BadRequest(f"{values.name(key)} must be a string describing the value")
    if creating and not values.data:
        raise BadRequest(f"{data.name('values')} is needed to create a label")
    data.whole("default_value", low=-32768, high=32767)
    data.texts("branches")
    for key in ("can_override", "unset_copy_condition", "allow_post_submit",
                "ignore_self_approval", "unset_description"):
        data.flag(key)
    _query_text(data, "copy_condition")


def put_label(call: Call, project: str, label: str) -> Any:
    service = _labels(call)
    found = service.check_owner(call.who, project, "labels")
    data = JsonObject.of(call.json())
    known = labels.find(label)
    if known is None and not _LABEL_NAME.fullmatch(label):
        raise BadRequest(f"{label[:80]!r} is not a label name: letters, digits and '-'")
    _check_label_input(data, creating=known is None)
    raise service.refuse_label_edit(found)


def delete_label(call: Call, project: str, label: str) -> Any:
    service = _labels(call)
    found = service.check_owner(call.who, project, "labels")
    JsonObject.of(call.json()).text("commit_message")
    service.label(call.who, project, label)  # 404 for a label that is not there
    raise service.refuse_label_edit(found)


def _check_batch(data: JsonObject, check_one: Any) -> bool:
    """A batch input (``delete``, ``create``, ``update``); whether it asks for anything."""
    data.text("commit_message")
    deleted = data.texts("delete")
    created = data.items("create")
    updated = data.obj("update")
    if len(deleted) + len(created) + len(updated.data) > MAX_BATCH:
        raise BadRequest(f"a batch changes at most {MAX_BATCH} definitions")
    for index, item in enumerate(created):
        check_one(JsonObject.of(item, f"create[{index}]"), True)
    for _, item in updated.objects():
        check_one(item, False)
    return bool(deleted or created or updated.data)


def _edit_batch(call: Call, project: str, what: str,
                check_one: Any) -> MethodNotAllowed | None:
    """Check a batch input for ``what`` (labels or submit requirements) from a caller who
    may change the project: the refusal to give when it asks for anything, else None."""
    found = _labels(call).check_owner(call.who, project, what)
    if not _check_batch(JsonObject.of(call.json()), check_one):
        return None
    if what == "labels":
        return ProjectLabels.refuse_label_edit(found)
    return ProjectLabels.refuse_requirement_edit(found)


def _batch(call: Call, project: str, what: str, check_one: Any, listed: Any) -> Any:
    refusal = _edit_batch(call, project, what, check_one)
    if refusal is not None:
        raise refusal
    return listed(call, project)  # nothing asked, nothing changed


def _review(call: Call, project: str, what: str, check_one: Any) -> Any:
    refusal = _edit_batch(call, project, what, check_one)
    if refusal is not None:
        raise refusal
    raise BadRequest(f"the input changes no {what}, so there is nothing to review")


def batch_labels(call: Call, project: str) -> Any:
    return _batch(call, project, "labels", _check_label_input, list_labels)


def review_labels(call: Call, project: str) -> Any:
    return _review(call, project, "labels", _check_label_input)


# -- submit requirements ------------------------------------------------------------------

def requirement_info(found: RequirementDefinition) -> dict[str, Any]:
    requirement = found.requirement
    info: dict[str, Any] = {"name": requirement.name, "project": found.project,
                            "description": requirement.description,
                            "submittability_expression": requirement.submittable_if,
                            "allow_override_in_child_projects": True}
    if requirement.applicable_if is not None:
        info["applicability_expression"] = requirement.applicable_if
    if requirement.override_if is not None:
        info["override_expression"] = requirement.override_if
    return info


def list_requirements(call: Call, project: str) -> Any:
    return [requirement_info(d) for d in _labels(call).requirements(
        call.who, project, call.flag("inherited"))]


def get_requirement(call: Call, project: str, name: str) -> Any:
    return requirement_info(_labels(call).requirement(call.who, project, name))


def _check_requirement_input(data: JsonObject, creating: bool) -> None:
    """SubmitRequirementInput, field by field."""
    for key in ("name", "description", "commit_message"):
        data.text(key)
    data.flag("allow_override_in_child_projects")
    if creating and not data.text("submittability_expression").strip():
        raise BadRequest(f"{data.name('submittability_expression')} is needed to create a "
                         "submit requirement")
    for key in ("applicability_expression", "submittability_expression",
                "override_expression"):
        _query_text(data, key)


def put_requirement(call: Call, project: str, name: str) -> Any:
    service = _labels(call)
    found = service.check_owner(call.who, project, "submit requirements")
    data = JsonObject.of(call.json())
    if data.text("name", name) != name:
        raise BadRequest(f"name {data.text('name')[:80]!r} in the body differs from {name!r} "
                         "in the URL")
    try:
        service.requirement(call.who, project, name)
        creating = False
    except NotFound:
        creating = True
    _check_requirement_input(data, creating)
    raise service.refuse_requirement_edit(found)


def delete_requirement(call: Call, project: str, name: str) -> Any:
    service = _labels(call)
    found = service.check_owner(call.who, project, "submit requirements")
    JsonObject.of(call.json()).text("commit_message")
    service.requirement(call.who, project, name)  # 404 for one that is not there
    raise service.refuse_requirement_edit(found)


def batch_requirements(call: Call, project: str) -> Any:
    return _batch(call, project, "submit requirements", _check_requirement_input,
                  list_requirements)


def review_requirements(call: Call, project: str) -> Any:
    return _review(call, project, "submit requirements", _check_requirement_input)


# -- dashboards ---------------------------------------------------------------------------

def dashboard_info(dashboard: boards.Dashboard) -> dict[str, Any]:
    project = dashboard.project
    info: dict[str, Any] = {
        "id": dashboard.id, "project": project, "defining_project": project,
        "ref": dashboard.ref, "path": dashboard.path,
        "title": boards.expand(dashboard.title or dashboard.path, project)}
    if dashboard.description is not None:
        info["description"] = boards.expand(dashboard.description, project)
    if dashboard.foreach is not None:
        info["foreach"] = dashboard.foreach
    info["url"] = boards.url(dashboard)
    if dashboard.is_default:
        info["is_default"] = True
    info["sections"] = [{"name": s.name, "query": s.query} for s in dashboard.sections]
    return info


def list_dashboards(call: Call, project: str) -> Any:
    return [dashboard_info(d) for d in _dashboards(call).of_project(call.who, project)]


def get_dashboard(call: Call, project: str, dashboard: str) -> Any:
    return dashboard_info(_dashboards(call).get(call.who, project, dashboard))


def _sections(data: JsonObject) -> tuple[boards.Section, ...]:
    items = data.items("sections")
    if len(items) > boards.MAX_SECTIONS:
        raise BadRequest(f"a dashboard has at most {boards.MAX_SECTIONS} sections")
    sections = []
    for index, item in enumerate(items):
        section = JsonObject.of(item, f"sections[{index}]")
        sections.append(boards.Section(section.text("name"), section.text("query")))
    return tuple(sections)


def put_dashboard(call: Call, project: str, dashboard: str) -> Any:
    service = _dashboards(call)
    found = service.owned(call.who, project)
    data = JsonObject.of(call.json())
    data.text("commit_message")
    if dashboard == boards.DEFAULT_ID:
        chosen = service.set_default(found, data.text("id").strip() or None)
        return dashboard_info(chosen) if chosen is not None else no_content()
    ref, path = parse_id(dashboard)
    named = data.text("id")
    if named and named != dashboard:
        raise BadRequest(f"id {named[:80]!r} in the body differs from {dashboard!r} in the URL")
    saved, created = service.save(found, boards.Dashboard(
        found.name, ref, path, data.optional_text("title"), data.optional_text("description"),
        data.optional_text("foreach"), _sections(data)))
    return Created(dashboard_info(saved)) if created else dashboard_info(saved)


def delete_dashboard(call: Call, project: str, dashboard: str) -> Any:
    service = _dashboards(call)
    found = service.owned(call.who, project)
    JsonObject.of(call.json()).text("commit_message")
    service.delete(found, dashboard)
    return no_content()


P = ("projects", "{project}")
ROUTES: list[Route] = [
    ("GET", (*P, "labels", ""), list_labels),
    ("POST", (*P, "labels", ""), batch_labels),
    ("POST", (*P, "labels:review"), review_labels),
    ("GET", (*P, "labels", "{label}"), get_label),
    ("PUT", (*P, "labels", "{label}"), put_label),
    ("DELETE", (*P, "labels", "{label}"), delete_label),
    ("GET", (*P, "submit_requirements", ""), list_requirements),
    ("POST", (*P, "submit_requirements", ""), batch_requirements),
    ("POST", (*P, "submit_requirements:review"), review_requirements),
    ("GET", (*P, "submit_requirements", "{name}"), get_requirement),
    ("PUT", (*P, "submit_requirements", "{name}"), put_requirement),
    ("DELETE", (*P, "submit_requirements", "{name}"), delete_requirement),
    ("GET", (*P, "dashboards", ""), list_dashboards),
    ("GET", (*P, "dashboards", "{dashboard}"), get_dashboard),
    ("PUT", (*P, "dashboards", "{dashboard}"), put_dashboard),
    ("DELETE", (*P, "dashboards", "{dashboard}"), delete_dashboard),
]
