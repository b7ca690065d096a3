"""REST: a project's review settings (``config``) and access rules (``access``).

``GET/PUT /projects/{name}/config`` carries Gerrit's ``submit_type`` plus keepgreen's
``required_approvals``; ``GET/POST /projects/{name}/access`` uses Gerrit's
ProjectAccessInput shape (``add``/``remove`` maps of ref -> permissions -> rules).
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import acl, labels
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest


def config_info(project: Any) -> dict[str, Any]:
    return {"description": project.description, "submit_type": project.submit_type,
            "default_submit_type": {"value": project.submit_type,
                                    "configured_value": project.submit_type,
                                    "inherited_value": "MERGE_IF_NECESSARY"},
            "required_approvals": project.required_approvals, "state": project.state}


def get_config(call: Call, project: str) -> Any:
    return config_info(call.services.projects.get(project, call.who))


def put_config(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = call.services.projects.get(project, call.who)
    approvals = data.whole("required_approvals")
    if isinstance(data.raw("submit_type"), dict):  # Gerrit's InheritableBoolean-like form
        submit_type = data.obj("submit_type").optional_text("value")
    else:
        submit_type = data.optional_text("submit_type")
    updated = call.services.projects.configure(call.who, found, submit_type, approvals,
                                               data.optional_text("description"))
    return config_info(updated)


def _sections(rules: list[acl.Rule]) -> dict[str, Any]:
    local: dict[str, Any] = {}
    for r in rules:
        permission = local.setdefault(r.ref, {"permissions": {}})["permissions"].setdefault(
            r.permission, {"rules": {}})
        rule: dict[str, Any] = {"action": r.action.upper()}
        if r.permission.startswith("label-"):
            rule.update(min=r.min_value, max=r.max_value)
        permission["rules"][r.group] = rule
    return local


def get_access(call: Call, project: str) -> Any:
    found = call.services.projects.get(project, call.who)
    return {"revision": "", "inherits_from": {"id": "All-Projects", "name": "All-Projects"},
            "local": _sections(call.services.projects.rules(found)),
            "is_owner": bool(call.services.projects.can(call.who, found, acl.OWNER, "refs/*"))}


def _parse_rules(data: JsonObject) -> list[acl.Rule]:
    rules = []
    for ref, section in data.objects():
        for name, permission in section.obj("permissions").objects():
            if name not in acl.PERMISSIONS and not name.startswith("label-"):
                raise BadRequest(f"unknown permission {name!r} on {ref}")
            for group, rule in permission.obj("rules").objects():
                action = rule.text("action", "ALLOW").lower()
                if action not in ("allow", "block"):
                    raise BadRequest(f"action for {group} on {ref} must be ALLOW or BLOCK")
                lo, hi = rule.whole("min", 0) or 0, rule.whole("max", 0) or 0
                if lo > hi:
                    raise BadRequest(f"range for {group} on {ref} must be min <= max")
                known = labels.find(name.removeprefix("label-"))
                if name.startswith("label-") and (known is None or lo < known.min
                                                  or hi > known.max):
                    span = f"{known.min:+d}..{known.max:+d}" if known else "no values"
                    raise BadRequest(f"{name} on {ref}: {lo:+d}..{hi:+d} is outside the "
                                     f"label's values ({span})")
                rules.append(acl.Rule(ref, name, group, lo, hi, action))
    return rules


def post_access(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = call.services.projects.get(project, call.who)
    add = _parse_rules(data.obj("add"))
    remove: list[tuple[str, str | None, str | None]] = []
    for ref, section in data.obj("remove").objects():
        permissions = list(section.obj("permissions").objects())
        if not permissions:
            remove.append((ref, None, None))
        for name, permission in permissions:
            groups: list[str | None] = [g for g, _ in permission.obj("rules").entries()]
            remove += [(ref, name, group) for group in groups or [None]]
    call.services.projects.change_access(call.who, found, add, remove)
    return get_access(call, project)


ROUTES: list[Route] = [
    ("GET", ("projects", "{project}", "config"), get_config),
    ("PUT", ("projects", "{project}", "config"), put_config),
    ("GET", ("projects", "{project}", "access"), get_access),
    ("POST", ("projects", "{project}", "access"), post_access),
]
