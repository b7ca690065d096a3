"""REST: projects, branches and HEAD."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.project import SUBMIT_TYPES, Project
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, NotFound


def project_info(project: Project) -> dict[str, Any]:
    info: dict[str, Any] = {"id": project.name.replace("/", "%2F"), "name": project.name,
                            "parent": "All-Projects", "state": project.state}
    if project.description:
        info["description"] = project.description
    return info


def list_projects(call: Call) -> Any:
    projects = call.services.projects.visible(call.who)
    prefix = call.query("p") or ""
    result = {}
    for p in projects:
        if not p.name.startswith(prefix):
            continue
        info = project_info(p)
        del info["name"]
        if not call.flag("d"):
            info.pop("description", None)
        result[p.name] = info
    return result


def get_project(call: Call, project: str) -> Any:
    return project_info(call.services.projects.get(project, call.who))


def create_project(call: Call, project: str) -> Any:
    data = call.json()
    branches = data.get("branches")
    if branches is not None and (not isinstance(branches, list) or not branches
                                 or not all(isinstance(b, str) for b in branches)):
        raise BadRequest("branches must be a non-empty list of branch names")
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise BadRequest("description must be a string")
    name = data.get("name") or project
    if name != project:
        raise BadRequest(f"name {name!r} in the body differs from {project!r} in the URL")
    anonymous_read = data.get("anonymous_read")
    if anonymous_read is not None and not isinstance(anonymous_read, bool):
        raise BadRequest("anonymous_read must be true or false")
    submit_type = data.get("submit_type")
    approvals = data.get("required_approvals")
    if submit_type is not None and submit_type not in SUBMIT_TYPES:
        raise BadRequest(f"submit_type must be one of {', '.join(SUBMIT_TYPES)}")
    if approvals is not None and (not isinstance(approvals, int) or not 1 <= approvals <= 10):
        raise BadRequest("required_approvals must be a whole number from 1 to 10")
    created = call.services.projects.create(
        call.who, project, description, bool(data.get("create_empty_commit")), branches,
        anonymous_read)
    if submit_type is not None or approvals is not None:
        created = call.services.projects.configure(call.who, created, submit_type, approvals,
                                                   None)
    return Created(project_info(created))


def list_branches(call: Call, project: str) -> Any:
    found = call.services.projects.get(project, call.who)
    head = call.services.projects.head(found)
    result: list[dict[str, Any]] = []
    branches = call.services.projects.branches(found)
    head_rev = next((sha for ref, sha in branches if ref == head), None)
    if head_rev:
        result.append({"ref": "HEAD", "revision": head.removeprefix("refs/heads/")})
    result += [{"ref": ref, "revision": sha} for ref, sha in branches]
    return result


def get_branch(call: Call, project: str, branch: str) -> Any:
    found = call.services.projects.get(project, call.who)
    ref = branch if branch.startswith("refs/") else "refs/heads/" + branch
    for name, sha in call.services.projects.branches(found):
        if name == ref:
            return {"ref": name, "revision": sha}
    raise NotFound(f"branch {branch} not found in {project}")


def get_head(call: Call, project: str) -> Any:
    return call.services.projects.head(call.services.projects.get(project, call.who))


ROUTES: list[Route] = [
    ("GET", ("projects", ""), list_projects),
    ("GET", ("projects", "{project}"), get_project),
    ("PUT", ("projects", "{project}"), create_project),
    ("GET", ("projects", "{project}", "branches", ""), list_branches),
    ("GET", ("projects", "{project}", "branches", "{branch}"), get_branch),
    ("GET", ("projects", "{project}", "HEAD"), get_head),
]
