"""REST: a project's description, parent, children, HEAD, statistics, access check, branch
and commit details.

keepgreen projects form no hierarchy: each has the built-in defaults plus its own rules, and
every project reports ``All-Projects`` as its parent. ``All-Projects`` is therefore answered
as the (virtual) parent whose children are the projects the caller can read. Settings that
live in the site's ``config`` project (description, default branch, access rules) change by
a commit there, or by a change proposed to it (``config:review``, ``access:review``).
Branch files, mergeability, reflogs and commits are in ``project_commits``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from keepgreen.domain import acl
from keepgreen.gerrit.access_api import _parse_rules as parse_rules
from keepgreen.gerrit.changes_api import render_changes, render_one
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.project_commits import ROUTES as COMMIT_ROUTES
from keepgreen.gerrit.projects_api import project_info
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, Conflict, NotFound, ServiceError
from keepgreen.services.review.project_details import (
    MAX_CHECKED_COMMITS,
    ProjectDetails,
    config_values,
)
from keepgreen.siteconf import edits

ROOT = "All-Projects"
MAX_REFS = 1000  # branches or tags deleted in one call


def _details(call: Call) -> ProjectDetails:
    details: ProjectDetails = call.services.project_details
    return details


def _project(call: Call, project: str) -> Any:
    return call.services.projects.get(project, call.who)


# -- description, parent, children, HEAD ------------------------------------------------------

def get_description(call: Call, project: str) -> Any:
    return _project(call, project).description


def put_description(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    text = data.text("description")
    updated = _details(call).set_description(call.who, _project(call, project), text)
    return updated.description if updated.description else no_content()


def delete_description(call: Call, project: str) -> Any:
    _details(call).set_description(call.who, _project(call, project), "")
    return no_content()


def get_parent(call: Call, project: str) -> Any:
    _project(call, project)
    return ROOT


def put_parent(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    _details(call).require_owner(call.who, found, "setting the parent")
    parent = data.text("parent").strip()
    if parent not in ("", ROOT):
        raise Conflict(f"keepgreen projects do not inherit from each other, so {found.name} "
                       f"keeps {ROOT} as its parent; put shared access rules into each "
                       "project's entry in the config project's resources/ instead")
    return ROOT


def _is_root(call: Call, project: str) -> bool:
    return project == ROOT and call.services.projects.exists(ROOT) is None


def list_children(call: Call, project: str) -> Any:
    if _is_root(call, project):
        return [project_info(p) for p in call.services.projects.visible(call.who)]
    _project(call, project)
    return []


def get_child(call: Call, project: str, child: str) -> Any:
    if _is_root(call, project):
        return project_info(_project(call, child))
    _project(call, project)
    raise NotFound(f"project {child!r} is not a child of {project!r}")


def put_head(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    ref = data.text("ref").strip()
    found = _project(call, project)
    if not ref:
        _details(call).require_owner(call.who, found, "setting HEAD")
        raise BadRequest("ref must name the branch HEAD should point at")
    return _details(call).set_head(call.who, found, ref)


# -- the repository ---------------------------------------------------------------------------

def get_statistics(call: Call, project: str) -> Any:
    return _details(call).statistics(call.who, _project(call, project))


def run_gc(call: Call, project: str) -> Response:
    data = JsonObject.of(call.json())
    data.flag("show_progress")
    data.flag("async")  # keepgreen collects while the caller waits, and says so when done
    report = _details(call).gc(call.who, _project(call, project), data.flag("aggressive"))
    return Response(report, media_type="text/plain; charset=UTF-8",
                    headers={"Cache-Control": "no-cache, no-store"})


def ban_commits(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    data.texts("commits")
    found = _project(call, project)
    _details(call).require_owner(call.who, found, "banning commits")
    raise Conflict("keepgreen keeps no list of banned commits: take a commit off the "
                   "branches with a force push (push+force), and keep it out with a block "
                   "on push in the project's access rules in the config project")


# -- checks -----------------------------------------------------------------------------------

def check_access(call: Call, project: str) -> Any:
    found = _project(call, project)
    details = _details(call)
    details.require_owner(call.who, found, "checking access")
    key = (call.query("account") or "").strip()
    if not key:
        raise BadRequest("account is required: give an account id, username or email")
    try:
        account = call.services.accounts.get(key, call.who)
    except NotFound:
        raise BadRequest(f"account {key[:80]!r} not found") from None
    answer = details.check_access(call.who, found, account,
                                  call.services.accounts.principal(account),
                                  call.query("perm") or None, call.query("ref") or None)
    info: dict[str, Any] = {"status": answer.status}
    if answer.message:
        info["message"] = answer.message
    return info


def check_project(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    details = _details(call)
    details.require_admin(call.who, "checking a project's consistency")
    if "auto_closeable_changes_check" not in data:
        return {}
    check = data.obj("auto_closeable_changes_check")
    branch = check.text("branch").strip()
    if not branch:
        raise BadRequest("auto_closeable_changes_check.branch is required")
    skip = check.whole("skip_commits", 0, low=0) or 0
    limit = check.whole("max_commits", MAX_CHECKED_COMMITS, low=1,
                        high=MAX_CHECKED_COMMITS) or MAX_CHECKED_COMMITS
    fix = check.flag("fix")
    ref = branch if branch.startswith("refs/") else "refs/heads/" + branch
    found_changes = details.closeable_changes(call.who, found, ref, skip, limit)
    listed: list[dict[str, Any]] = []
    for number, patch_set, sha in found_changes:
        change = call.services.changes.resolve(str(number), call.who)
        info = render_changes(call, [change], set())[0]
        problem: dict[str, Any] = {
            "message": f"Patch set {patch_set} ({sha}) is merged into destination ref "
                       f"{ref}, but change status is NEW"}
        if fix:
            problem.update(status="FIX_FAILED", outcome="keepgreen does not close changes "
                           "from this check; submit or abandon the change")
        info["problems"] = [problem]
        listed.append(info)
    result: dict[str, Any] = {"auto_closeable_changes": {ref: listed}} if listed else {}
    return {"auto_closeable_changes_check_result": result}


# -- changes made from the project ------------------------------------------------------------

def create_change(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    named = data.text("project")
    if named and named != project:
        raise BadRequest("project must match URL")
    branch = data.text("branch").strip()
    found = _project(call, project)
    if not branch:
        raise BadRequest("branch is required")
    # A change on a branch the caller may not read would show them its tip.
    try:
        call.services.commits.branch(call.who, found, branch)
    except NotFound:
        raise BadRequest(f"branch {branch[:80]} not found in {found.name}") from None
    number = call.services.revisions.create_change(
        call.who, project, branch, data.text("subject"), data.optional_text("topic"))
    return Created(render_one(call, str(number)))


def config_review(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    if isinstance(data.raw("submit_type"), dict):
        submit_type = data.obj("submit_type").optional_text("value")
    else:
        submit_type = data.optional_text("submit_type")
    values = config_values(data.optional_text("description"), submit_type,
                           data.whole("required_approvals"))
    if not values:
        raise BadRequest("nothing to propose: give description, submit_type or "
                         "required_approvals")
    number = _details(call).propose(
        call.who, found, f"Configure project {found.name}", data.text("commit_message"),
        lambda state: edits.configure_project(state, found.name, **values),
        call.services.revisions, call.services.siteconf)
    return render_one(call, str(number))


def access_review(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    parent = data.text("parent").strip()
    if parent not in ("", ROOT):
        raise Conflict(f"keepgreen projects do not inherit from each other; {found.name} "
                       f"keeps {ROOT} as its parent")
    add = parse_rules(data.obj("add"))
    remove: list[tuple[str, str | None, str | None]] = []
    for ref, section in data.obj("remove").objects():
        permissions = list(section.obj("permissions").objects())
        if not permissions:
            remove.append((ref, None, None))
        for name, permission in permissions:
            groups: list[str | None] = [g for g, _ in permission.obj("rules").entries()]
            remove += [(ref, name, group) for group in groups or [None]]
    if not add and not remove:
        raise BadRequest("nothing to propose: give access rules to add or remove")
    number = _details(call).propose(
        call.who, found, f"Change access rules of {found.name}", data.text("message"),
        lambda state: edits.change_access(state, found.name, add, remove),
        call.services.revisions, call.services.siteconf)
    return render_one(call, str(number))


# -- several refs at once ---------------------------------------------------------------------

def _names(data: JsonObject, key: str) -> list[str]:
    names = [n.strip() for n in data.texts(key)]
    if not names or not all(names):
        raise BadRequest(f"{key} must be a non-empty list of names")
    if len(names) > MAX_REFS:
        raise BadRequest(f"{key} may name at most {MAX_REFS} refs at once")
    return list(dict.fromkeys(names))


def delete_branches(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    problems = []
    for name in _names(data, "branches"):
        ref = name if name.startswith("refs/") else "refs/heads/" + name
        if not call.services.projects.can(call.who, found, acl.READ, ref):
            problems.append(f"Cannot delete {name}: branch {name} not found in {found.name}")
            continue
        try:
            call.services.refs.delete_branch(call.who, found, name)
        except ServiceError as exc:
            problems.append(f"Cannot delete {name}: {exc.message}")
    if problems:
        raise Conflict("\n".join(problems))
    return no_content()


def delete_tags(call: Call, project: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    problems = []
    for name in _names(data, "tags"):
        try:
            call.services.refs.delete_tag(call.who, found, name)
        except ServiceError as exc:
            problems.append(f"Cannot delete {name}: {exc.message}")
    if problems:
        raise Conflict("\n".join(problems))
    return no_content()


P = ("projects", "{project}")
ROUTES: list[Route] = [
    ("GET", (*P, "description"), get_description),
    ("PUT", (*P, "description"), put_description),
    ("DELETE", (*P, "description"), delete_description),
    ("GET", (*P, "parent"), get_parent),
    ("PUT", (*P, "parent"), put_parent),
    ("GET", (*P, "children", ""), list_children),
    ("GET", (*P, "children", "{child}"), get_child),
    ("PUT", (*P, "HEAD"), put_head),
    ("GET", (*P, "statistics.git"), get_statistics),
    ("POST", (*P, "gc"), run_gc),
    ("PUT", (*P, "ban"), ban_commits),
    ("GET", (*P, "check.access"), check_access),
    ("POST", (*P, "check"), check_project),
    ("POST", (*P, "create.change"), create_change),
    ("PUT", (*P, "config:review"), config_review),
    ("PUT", (*P, "access:review"), access_review),
    ("POST", (*P, "branches:delete"), delete_branches),
    ("POST", (*P, "tags:delete"), delete_tags),
    *COMMIT_ROUTES,
]
