"""REST: reviewers and their votes on one revision, one reviewer of a change, and the
blame of a revision's file.

As in Gerrit, reviewers and votes are listed and votes deleted on the current revision
only; an older one answers 405.
"""

from __future__ import annotations

from typing import Any

from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.files_api import COMMIT_MSG
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.revision_lookup import is_current, revision_of
from keepgreen.gerrit.router import Route
from keepgreen.git import revision_reads
from keepgreen.git.repos import GitError
from keepgreen.services.errors import MethodNotAllowed, NotFound
from keepgreen.services.review.changes import ChangeDetails


def _reviewer(details: ChangeDetails, account_id: int, state: str) -> dict[str, Any]:
    change = details.change
    votes = {v.label: f"{v.value:+d}" if v.value else " 0" for v in details.approvals
             if v.account_id == account_id and v.patch_set == change.current_patch_set}
    return {**account_info(details.accounts.get(account_id)), "approvals": votes,
            "_state": state}


def _current_only(change: Any, ps: Any, what: str) -> None:
    if not is_current(change, ps):
        raise MethodNotAllowed(f"cannot {what} on patch set {ps.number}: it is not the "
                               f"current patch set of change {change.number}")


def list_reviewers(call: Call, change: str, revision: str) -> Any:
    found, details, ps = revision_of(call, change, revision)
    _current_only(found, ps, "list reviewers")
    return [_reviewer(details, account_id, state) for account_id, state in details.people]


def get_reviewer(call: Call, change: str, account: str) -> Any:
    """One reviewer (or CC) of the change, with their votes on the current patch set."""
    found = call.services.changes.resolve(change, call.who)
    details = call.services.changes.details([found], messages=False)[0]
    wanted = call.services.accounts.get(account, call.who)
    states = dict(details.people)
    if wanted.id not in states:
        if not any(v.account_id == wanted.id for v in details.approvals):
            raise NotFound(f"{account} is not a reviewer of change {found.number}")
        states[wanted.id] = "REVIEWER"
    return [_reviewer(details, wanted.id, states[wanted.id])]


def list_votes(call: Call, change: str, revision: str, account: str) -> Any:
    found, details, ps = revision_of(call, change, revision)
    _current_only(found, ps, "list votes")
    wanted = call.services.accounts.get(account, call.who)
    return {v.label: v.value for v in details.approvals
            if v.account_id == wanted.id and v.patch_set == ps.number}


def delete_vote(call: Call, change: str, revision: str, account: str, label: str) -> Any:
    JsonObject.of(call.json())
    found, _, ps = revision_of(call, change, revision)
    _current_only(found, ps, "delete a vote")
    voter = call.services.accounts.get(account, call.who)
    call.services.review.delete_vote(call.who, found, voter.username, label)
    return no_content()


def get_blame(call: Call, change: str, revision: str, file: str) -> Any:
    """Who last changed each line of the file, as Gerrit's BlameInfo list: one entry per
    commit with its line ranges. With ``base=true``, the blame of the first parent's
    version."""
    found, _, ps = revision_of(call, change, revision)
    base = (call.query("base") or "false").lower() in ("true", "t", "1")
    rev = (ps.parents[0] if ps.parents else None) if base else ps.sha
    missing = NotFound(f"file {file} not found in revision {ps.number} of change "
                       f"{found.number}")
    if rev is None or file == COMMIT_MSG:
        raise missing
    try:
        lines = revision_reads.blame(call.services.repos, found.project, rev, file)
    except GitError:
        raise missing from None
    by_commit: dict[str, dict[str, Any]] = {}
    for line in lines:
        entry = by_commit.setdefault(line.commit, {
            "author": line.author, "id": line.commit, "time": line.time,
            "commit_msg": line.subject, "ranges": []})
        ranges = entry["ranges"]
        if ranges and ranges[-1]["end"] == line.line - 1:
            ranges[-1]["end"] = line.line
        else:
            ranges.append({"start": line.line, "end": line.line})
    return list(by_commit.values())


_R = ("changes", "{change}", "revisions", "{revision}")
_V = (*_R, "reviewers", "{account}", "votes")
ROUTES: list[Route] = [
    ("GET", (*_R, "reviewers"), list_reviewers),
    ("GET", (*_R, "reviewers", ""), list_reviewers),
    ("GET", ("changes", "{change}", "reviewers", "{account}"), get_reviewer),
    ("GET", _V, list_votes),
    ("GET", (*_V, ""), list_votes),
    ("DELETE", (*_V, "{label}"), delete_vote),
    ("POST", (*_V, "{label}", "delete"), delete_vote),
    ("GET", (*_R, "files", "{file}", "blame"), get_blame),
]
