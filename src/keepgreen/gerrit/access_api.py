"""REST: a project's review settings (``config``) and access rules (``access``).

``GET/PUT /projects/{name}/config`` carries Gerrit's ``submit_type`` plus keepgreen's
``required_approvals``; ``GET/POST /projects/{name}/access`` uses Gerrit's
ProjectAccessInput shape (``add``/``remove`` maps of ref -> permissions -> rules).
"""

from __future__ import annotations

from typing import Any

from keepgreen.domain import acl, labels
from keepgreen.gerrit.http import Call
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
    data = call.json()
    found = call.services.projects.get(project, call.who)
    approvals = data.get("required_approvals")
    if approvals is not None and (not isinstance(approvals, int) or isinstance(approvals, bool)):
        raise BadRequest("required_approvals must be a whole number")
    submit_type = data.get("submit_type")
    if isinstance(submit_type, dict):  # Gerrit's InheritableBoolean-like form
        submit_type = submit_type.get("value")
    updated = call.services.projects.configure(call.who, found, submit_type, approvals,
                                               data.get("description"))
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


def _parse_rules(data: Any) -> list[acl.Rule]:
    if not isinstance(data, dict):
        raise BadRequest("'add' must map refs to {permissions: {...}}")
    rules = []
    for ref, section in data.items():
        permissions = (section or {}).get("permissions") or {}
        for name, permission in permissions.items():
            if name not in acl.PERMISSIONS and not name.startswith("label-"):
                raise BadRequest(f"unknown permission {name!r} on {ref}")
            for group, rule in ((permission or {}).get("rules") or {}).items():
                rule = rule or {}
                action = str(rule.get("action", "ALLOW")).lower()
                if action not in ("allow", "block"):
                    raise BadRequest(f"action for {group} on {ref} must be ALLOW or BLOCK")
                lo, hi = rule.get("min", 0), rule.get("max", 0)
                if not all(isinstance(v, int) for v in (lo, hi)) or lo > hi:
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
    data = call.json()
    found = call.services.projects.get(project, call.who)
    add = _parse_rules(data.get("add") or {})
    remove = []
    for ref, section in (data.get("remove") or {}).items():
        permissions = (section or {}).get("permissions") or {}
        if not permissions:
            remove.append((ref, None, None))
        for name, permission in permissions.items():
            groups = list(((permission or {}).get("rules") or {}).keys()) or [None]
            remove += [(ref, name, group) for group in groups]
    call.services.projects.change_access(call.who, found, add, remove)
    return get_access(call, project)


ROUTES: list[Route] = [
    ("GET", ("projects", "{project}", "config"), get_config),
    ("PUT", ("projects", "{project}", "config"), put_config),
    ("GET", ("projects", "{project}", "access"), get_access),
    ("POST", ("projects", "{project}", "access"), post_access),
]
