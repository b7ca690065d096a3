"""REST: projects, branches, tags and HEAD."""

from __future__ import annotations

from typing import Any

from keepgreen.domain import acl
from keepgreen.domain.project import SUBMIT_TYPES, Project
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, NotFound
from keepgreen.services.review.refs import TAGS, Tag, full_ref


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
    data = JsonObject.of(call.json())
    branches = data.texts("branches") if "branches" in data else None
    if branches is not None and not branches:
        raise BadRequest("branches must be a non-empty list of branch names")
    description = data.text("description")
    name = data.text("name") or project
    if name != project:
        raise BadRequest(f"name {name!r} in the body differs from {project!r} in the URL")
    anonymous_read = data.flag("anonymous_read") if "anonymous_read" in data else None
    submit_type = data.optional_text("submit_type")
    if submit_type is not None and submit_type not in SUBMIT_TYPES:
        raise BadRequest(f"submit_type must be one of {', '.join(SUBMIT_TYPES)}")
    approvals = data.whole("required_approvals", low=1, high=10)
    created = call.services.projects.create(
        call.who, project, description, data.flag("create_empty_commit"), branches,
        anonymous_read)
    if submit_type is not None or approvals is not None:
        created = call.services.projects.configure(call.who, created, submit_type, approvals,
                                                   None)
    return Created(project_info(created))


def list_branches(call: Call, project: str) -> Any:
    found = call.services.projects.get(project, call.who)
    head = call.services.projects.head(found)
    result: list[dict[str, Any]] = []
    branches = call.services.projects.readable_branches(call.who, found)
    head_rev = next((sha for ref, sha in branches if ref == head), None)
    if head_rev:
        result.append({"ref": "HEAD", "revision": head.removeprefix("refs/heads/")})
    result += [{"ref": ref, "revision": sha} for ref, sha in branches]
    return result


def get_branch(call: Call, project: str, branch: str) -> Any:
    found = call.services.projects.get(project, call.who)
    ref = branch if branch.startswith("refs/") else "refs/heads/" + branch
    for name, sha in call.services.projects.readable_branches(call.who, found):
        if name == ref:
            return {"ref": name, "revision": sha}
    raise NotFound(f"branch {branch} not found in {project}")


def _rights(call: Call, project: Project, permission: str, ref: str) -> bool:
    return bool(call.services.projects.can(call.who, project, permission, ref))


def create_branch(call: Call, project: str, branch: str) -> Any:
    found = call.services.projects.get(project, call.who)
    data = JsonObject.of(call.json())
    ref, sha = call.services.refs.create_branch(call.who, found, branch,
                                                data.optional_text("revision"))
    return Created({"ref": ref, "revision": sha,
                    "can_delete": _rights(call, found, acl.FORCE_PUSH, ref)})


def delete_branch(call: Call, project: str, branch: str) -> Any:
    found = call.services.projects.get(project, call.who)
    call.services.refs.delete_branch(call.who, found, branch)
    return no_content()


def _tag_info(call: Call, project: Project, tag: Tag) -> dict[str, Any]:
    info: dict[str, Any] = {"ref": tag.ref, "revision": tag.revision}
    if tag.revision != tag.commit:
        info["object"] = tag.commit
        info["message"] = tag.message or ""
        if tag.tagger_name:
            info["tagger"] = {"name": tag.tagger_name, "email": tag.tagger_email,
                              "date": timestamp(tag.tagger_date), "tz": 0}
    if _rights(call, project, acl.FORCE_PUSH, tag.ref):
        info["can_delete"] = True
    return info


def list_tags(call: Call, project: str) -> Any:
    found = call.services.projects.get(project, call.who)
    return [_tag_info(call, found, t) for t in call.services.refs.tags(call.who, found)]


def get_tag(call: Call, project: str, tag: str) -> Any:
    found = call.services.projects.get(project, call.who)
    ref = full_ref(tag, TAGS)
    for t in call.services.refs.tags(call.who, found):
        if t.ref == ref:
            return _tag_info(call, found, t)
    raise NotFound(f"tag {tag} not found in {project}")


def create_tag(call: Call, project: str, tag: str) -> Any:
    found = call.services.projects.get(project, call.who)
    data = JsonObject.of(call.json())
    made = call.services.refs.create_tag(call.who, found, tag, data.optional_text("revision"),
                                         data.optional_text("message"))
    return Created(_tag_info(call, found, made))


def delete_tag(call: Call, project: str, tag: str) -> Any:
    found = call.services.projects.get(project, call.who)
    call.services.refs.delete_tag(call.who, found, tag)
    return no_content()


def get_head(call: Call, project: str) -> Any:
    return call.services.projects.head(call.services.projects.get(project, call.who))


ROUTES: list[Route] = [
    ("GET", ("projects", ""), list_projects),
    ("GET", ("projects", "{project}"), get_project),
    ("PUT", ("projects", "{project}"), create_project),
    ("GET", ("projects", "{project}", "branches", ""), list_branches),
    ("GET", ("projects", "{project}", "branches", "{branch}"), get_branch),
    ("PUT", ("projects", "{project}", "branches", "{branch}"), create_branch),
    ("DELETE", ("projects", "{project}", "branches", "{branch}"), delete_branch),
    ("GET", ("projects", "{project}", "tags"), list_tags),
    ("GET", ("projects", "{project}", "tags", ""), list_tags),
    ("GET", ("projects", "{project}", "tags", "{tag}"), get_tag),
    ("PUT", ("projects", "{project}", "tags", "{tag}"), create_tag),
    ("DELETE", ("projects", "{project}", "tags", "{tag}"), delete_tag),
    ("GET", ("projects", "{project}", "HEAD"), get_head),
]
