"""REST routes of a project's branches and commits beyond listing them: a branch's files,
mergeability, reflog and reviewer suggestions; a commit's details, the refs holding it, its
files, and cherry-picks of it. Served as part of ``project_details_api``.

A commit answers only when a branch or tag the caller may read contains it, and a branch
only when the caller may read it: everything else is not found.
"""

from __future__ import annotations

import base64
import mimetypes
from datetime import datetime
from typing import Any

from starlette.responses import Response

from keepgreen.domain import acl
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.changes_api import render_one
from keepgreen.gerrit.http import Call, timestamp
from keepgreen.gerrit.request_input import JsonObject, whole_number
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest, Unauthorized
from keepgreen.services.review.commits import CommitDetails, CommitService, Signature
from keepgreen.services.review.project_details import ProjectDetails

COMMIT_MSG = "/COMMIT_MSG"
MAX_REFLOG = 10_000
MAX_SUGGESTIONS = 100
MAX_LISTED = 100  # commits or refs in one commits:in query


def _commits(call: Call) -> CommitService:
    commits: CommitService = call.services.commits
    return commits


def _project(call: Call, project: str) -> Any:
    return call.services.projects.get(project, call.who)


def _base64(data: bytes, path: str) -> Response:
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Response(base64.b64encode(data), media_type="text/plain", headers={
        "X-FYI-Content-Encoding": "base64", "X-FYI-Content-Type": kind,
        "Cache-Control": "no-cache, no-store"})


def _person(who: Signature) -> dict[str, Any]:
    return {"name": who.name, "email": who.email, "date": timestamp(who.date), "tz": who.tz}


def commit_json(details: CommitDetails) -> dict[str, Any]:
    return {"commit": details.sha,
            "parents": [{"commit": sha, "subject": subject} for sha, subject in details.parents],
            "author": _person(details.author), "committer": _person(details.committer),
            "subject": details.subject, "message": details.message}


# -- branches ---------------------------------------------------------------------------------

def branch_content(call: Call, project: str, branch: str, file: str) -> Response:
    found = _project(call, project)
    commits = _commits(call)
    _, tip = commits.branch(call.who, found, branch)
    return _base64(commits.file(found, tip, file), file)


STRATEGIES = ("recursive", "ort")


def branch_mergeable(call: Call, project: str, branch: str) -> Any:
    found = _project(call, project)
    commits = _commits(call)
    _, tip = commits.branch(call.who, found, branch)
    source = (call.query("source") or "").strip()
    if not source:
        raise BadRequest("source is required: a branch, tag or commit to merge")
    strategy = call.query("strategy") or "recursive"
    if strategy not in STRATEGIES:
        raise BadRequest(f"strategy {strategy[:40]!r} is not offered; keepgreen merges with "
                         "git's default strategy (recursive)")
    answer = commits.mergeable(found, tip, commits.source(call.who, found, source))
    info: dict[str, Any] = {"submit_type": answer.submit_type, "strategy": strategy,
                            "mergeable": answer.mergeable,
                            "commit_merged": answer.commit_merged,
                            "content_merged": answer.content_merged}
    if answer.conflicts:
        info["conflicts"] = list(answer.conflicts)
    return info


def _stamp(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.strptime(raw, "%Y%m%d_%H%M")
    except ValueError:
        raise BadRequest(f"{name} must be a UTC time as yyyyMMdd_HHmm, not "
                         f"{raw[:40]!r}") from None


def branch_reflog(call: Call, project: str, branch: str) -> Any:
    found = _project(call, project)
    ref, _ = _commits(call).branch(call.who, found, branch)
    limit = whole_number(call.query("n") or str(MAX_REFLOG), "n", 1, MAX_REFLOG)
    details: ProjectDetails = call.services.project_details
    moves = details.reflog(
        call.who, found, ref, limit, _stamp(call.query("from"), "from"),
        _stamp(call.query("to"), "to"))
    return [{"old_id": m.old, "new_id": m.new,
             "who": {"name": m.name, "email": m.email, "date": timestamp(m.when), "tz": 0},
             "comment": ""} for m in moves]


def branch_reviewers(call: Call, project: str, branch: str) -> Any:
    """Accounts whose username, name or email starts with ``q`` and who may read the
    branch; for signed-in callers only, so the account list cannot be scraped."""
    if call.who.account is None:
        raise Unauthorized("suggesting reviewers needs you to sign in")
    found = _project(call, project)
    ref, _ = _commits(call).branch(call.who, found, branch)
    query = (call.query("q") or "").strip()
    if len(query) > 255:
        raise BadRequest("q must be at most 255 characters")
    limit = whole_number(call.query("n") or call.query("limit") or "10", "n", 1,
                         MAX_SUGGESTIONS)
    if not query:
        return []
    suggestions = []
    for account in call.services.accounts.matching(query, limit * 2):
        principal = call.services.accounts.principal(account)
        if call.services.projects.can(principal, found, acl.READ, ref):
            suggestions.append({"account": account_info(account), "count": 1})
        if len(suggestions) == limit:
            break
    return suggestions


# -- commits ----------------------------------------------------------------------------------

def get_commit(call: Call, project: str, commit: str) -> Any:
    found = _project(call, project)
    commits = _commits(call)
    return commit_json(commits.details(found, commits.commit(call.who, found, commit)))


def included_in(call: Call, project: str, commit: str) -> Any:
    found = _project(call, project)
    commits = _commits(call)
    branches, tags = commits.included_in(call.who, found,
                                         commits.commit(call.who, found, commit))
    return {"branches": branches, "tags": tags}


def commit_files(call: Call, project: str, commit: str) -> Any:
    found = _project(call, project)
    commits = _commits(call)
    sha = commits.commit(call.who, found, commit)
    raw = call.query("parent")
    parent = whole_number(raw, "parent", 1, 64) if raw is not None else None
    details, changed = commits.files(found, sha, parent)
    message = details.message
    result: dict[str, Any] = {COMMIT_MSG: {"status": "A",
                                           "lines_inserted": len(message.splitlines()),
                                           "size_delta": len(message.encode()),
                                           "size": len(message.encode())}}
    for f in changed:
        info: dict[str, Any] = {"lines_inserted": f.lines_inserted,
                                "lines_deleted": f.lines_deleted,
                                "size_delta": f.size_delta, "size": f.size}
        if f.status != "M":
            info["status"] = f.status
        if f.old_path:
            info["old_path"] = f.old_path
        if f.binary:
            info["binary"] = True
        result[f.path] = {k: v for k, v in info.items() if v or k in ("size", "size_delta")}
    return result


def commit_content(call: Call, project: str, commit: str, file: str) -> Response:
    found = _project(call, project)
    commits = _commits(call)
    sha = commits.commit(call.who, found, commit)
    return _base64(commits.file(found, sha, file), file)


def cherry_pick(call: Call, project: str, commit: str) -> Any:
    data = JsonObject.of(call.json())
    found = _project(call, project)
    commits = _commits(call)
    sha = commits.commit(call.who, found, commit)
    number = commits.cherry_pick(call.who, found, sha, data.text("destination").strip(),
                                 data.optional_text("message"),
                                 data.whole("parent", low=1, high=64),
                                 data.optional_text("topic"), call.services.revisions)
    return render_one(call, str(number))


def commits_in(call: Call, project: str) -> Any:
    found = _project(call, project)
    wanted, refs = call.query_all("commit"), call.query_all("ref")
    if not wanted or not refs:
        raise BadRequest("give at least one commit= and one ref=")
    if len(wanted) > MAX_LISTED or len(refs) > MAX_LISTED:
        raise BadRequest(f"give at most {MAX_LISTED} commits and {MAX_LISTED} refs")
    return _commits(call).commits_in(call.who, found, wanted, refs)


P = ("projects", "{project}")
B = (*P, "branches", "{branch}")
C = (*P, "commits", "{commit}")
ROUTES: list[Route] = [
    ("GET", (*B, "files", "{file}", "content"), branch_content),
    ("GET", (*B, "mergeable"), branch_mergeable),
    ("GET", (*B, "reflog"), branch_reflog),
    ("GET", (*B, "suggest_reviewers"), branch_reviewers),
    ("GET", C, get_commit),
    ("GET", (*C, "in"), included_in),
    ("GET", (*C, "files", ""), commit_files),
    ("GET", (*C, "files", "{file}", "content"), commit_content),
    ("POST", (*C, "cherrypick"), cherry_pick),
    ("GET", (*P, "commits:in"), commits_in),
]
