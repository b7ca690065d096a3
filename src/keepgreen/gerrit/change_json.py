"""ChangeInfo, RevisionInfo and friends in Gerrit's JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from keepgreen.domain.account import Account
from keepgreen.domain.change import PatchSet, Person
from keepgreen.domain.changeid import subject as subject_of
from keepgreen.domain.labels import DEFAULT_LABELS
from keepgreen.domain.refs import patch_set_ref
from keepgreen.domain.requirements import RequirementResult
from keepgreen.gerrit.http import timestamp
from keepgreen.services.review.changes import ChangeDetails

LABEL_VALUES: dict[str, dict[str, str]] = {
    label.name: label.value_strings() for label in DEFAULT_LABELS}


def account_info(account: Account | None, detailed: bool = True) -> dict[str, Any]:
    if account is None:
        return {}
    info: dict[str, Any] = {"_account_id": account.id}
    if detailed:
        info.update(name=account.name, username=account.username, display_name=account.name)
        if account.email:
            info["email"] = account.email
    return info


def person_info(person: Person) -> dict[str, Any]:
    return {"name": person.name, "email": person.email, "date": timestamp(person.date),
            "tz": 0}


def commit_info(ps: PatchSet) -> dict[str, Any]:
    return {
        "commit": ps.sha,
        "parents": [{"commit": p, "subject": ""} for p in ps.parents],
        "author": person_info(ps.author),
        "committer": person_info(ps.committer),
        "subject": subject_of(ps.message),
        "message": ps.message,
    }


def revision_info(d: ChangeDetails, ps: PatchSet, base_url: str, opts: set[str],
                  current: bool) -> dict[str, Any]:
    ref = patch_set_ref(ps.change_number, ps.number)
    git_url = f"{base_url}{d.change.project}"
    info: dict[str, Any] = {
        "kind": ps.kind, "_number": ps.number, "created": timestamp(ps.created),
        "uploader": account_info(d.accounts.get(ps.uploader_id), True), "ref": ref,
        "fetch": {
            "http": {"url": git_url, "ref": ref, "commands": {
                "Checkout": f"git fetch {git_url} {ref} && git checkout FETCH_HEAD",
                "Pull": f"git pull {git_url} {ref}"}},
            "anonymous http": {"url": git_url, "ref": ref},
        },
    }
    if "ALL_COMMITS" in opts or ("CURRENT_COMMIT" in opts and current):
        info["commit"] = commit_info(ps)
    return info


def label_info(d: ChangeDetails, detailed: bool) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    current = [a for a in d.approvals if a.patch_set == d.change.current_patch_set]
    for name, values in LABEL_VALUES.items():
        votes = [a for a in current if a.label == name]
        info: dict[str, Any] = {}
        if detailed:
            info["all"] = [dict(account_info(d.accounts.get(a.account_id)), value=a.value,
                                date=timestamp(a.granted)) for a in votes]
            info["values"] = values
            info["default_value"] = 0
        lo = min(int(v) for v in values)
        hi = max(int(v) for v in values)
        for vote in votes:
            who = account_info(d.accounts.get(vote.account_id))
            if vote.value == lo:
                info["rejected"] = who
            elif vote.value == hi:
                info.setdefault("approved", who)
            elif vote.value < 0:
                info.setdefault("disliked", who)
            elif vote.value > 0:
                info.setdefault("recommended", who)
        labels[name] = info
    return labels


@dataclass
class Extras:
    """What a change's JSON needs beyond its stored details, worked out by the caller."""

    permitted: dict[str, tuple[int, int]] = field(default_factory=dict)
    requirements: list[RequirementResult] | None = None
    submittable: bool | None = None
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # sha -> FileInfo map
    comments: tuple[int, int] = (0, 0)
    starred: bool = False
    submit_type: str = "MERGE_IF_NECESSARY"
    sizes: dict[int, tuple[int, int]] = field(default_factory=dict)
    # ``ssh://[user@]host:port/`` of the SSH port, for ``fetch.ssh``; None when it is off.
    ssh_url: str | None = None
    reviewed: bool = False  # the caller reviewed the current patch set (o=REVIEWED)
    reviewer_updates: list[dict[str, Any]] | None = None  # o=REVIEWER_UPDATES


def requirement_info(result: RequirementResult) -> dict[str, Any]:
    def expression(e: Any) -> dict[str, Any] | None:
        if e is None:
            return None
        return {"expression": e.expression, "fulfilled": e.fulfilled, "status": e.status,
                "passing_atoms": list(e.passing_atoms), "failing_atoms": list(e.failing_atoms),
                **({"error_message": e.error} if e.error else {})}

    info: dict[str, Any] = {"name": result.requirement.name,
                            "description": result.requirement.description,
                            "status": result.status, "is_legacy": False,
                            "submittability_expression_result": expression(
                                result.submittability)}
    if result.applicability is not None:
        info["applicability_expression_result"] = expression(result.applicability)
    if result.override is not None:
        info["override_expression_result"] = expression(result.override)
    if result.reason:
        info["reason"] = result.reason
    return info


def change_info(d: ChangeDetails, base_url: str, opts: set[str],
                extras: Extras | None = None) -> dict[str, Any]:
    extras = extras or Extras()
    c = d.change
    detailed = "DETAILED_ACCOUNTS" in opts
    info: dict[str, Any] = {
        # Gerrit encodes the project (and branch) so the id can go straight into a URL.
        "id": f"{quote(c.project, safe='')}~{c.number}",
        "triplet_id": f"{quote(c.project, safe='')}~{quote(c.branch, safe='')}~{c.change_id}",
        "project": c.project,
        "branch": c.branch,
        "hashtags": list(c.hashtags),
        "change_id": c.change_id,
        "subject": c.subject,
        "status": c.status,
        "created": timestamp(c.created),
        "updated": timestamp(c.updated),
        "submit_type": extras.submit_type,
        "insertions": extras.sizes.get(c.current_patch_set, (0, 0))[0],
        "deletions": extras.sizes.get(c.current_patch_set, (0, 0))[1],
        "total_comment_count": extras.comments[0],
        "unresolved_comment_count": extras.comments[1],
        "has_review_started": not c.wip,
        "meta_rev_id": f"{c.number:040x}",
        "_number": c.number,
        "owner": account_info(d.accounts.get(c.owner_id), detailed),
        "current_revision_number": c.current_patch_set,
        "requirements": [],
    }
    if c.submitted:
        submitter = d.accounts.get(c.submitter_id) if c.submitter_id else None
        if submitter is not None:
            info["submitter"] = account_info(submitter, detailed)
    if c.topic:
        info["topic"] = c.topic
    if c.revert_of is not None:
        info["revert_of"] = c.revert_of
    if extras.starred:
        info["starred"] = True
    if extras.submittable is not None:
        info["submittable"] = extras.submittable
    if extras.requirements is not None and "SUBMIT_REQUIREMENTS" in opts:
        info["submit_requirements"] = [requirement_info(r) for r in extras.requirements]
    if "CURRENT_ACTIONS" in opts or "CHANGE_ACTIONS" in opts:
        info["actions"] = extras.actions
    if c.submitted:
        info["submitted"] = timestamp(c.submitted)
    if c.wip:
        info["work_in_progress"] = True
    if c.private:
        info["is_private"] = True
    if "LABELS" in opts or "DETAILED_LABELS" in opts:
        info["labels"] = label_info(d, "DETAILED_LABELS" in opts)
        if c.is_open:
            info["permitted_labels"] = {
                name: [v for v in LABEL_VALUES[name] if lo <= int(v) <= hi]
                for name, (lo, hi) in extras.permitted.items()}
    if "DETAILED_LABELS" in opts or "DETAILED_ACCOUNTS" in opts or "LABELS" in opts:
        reviewers: dict[str, list[dict[str, Any]]] = {}
        voters = {a.account_id for a in d.approvals}
        for account_id, state in d.people:
            reviewers.setdefault(state, []).append(account_info(d.accounts.get(account_id)))
        for account_id in sorted(voters - {a for a, _ in d.people}):
            reviewers.setdefault("REVIEWER", []).append(account_info(d.accounts.get(account_id)))
        info["reviewers"] = reviewers
    if "REVIEWED" in opts and extras.reviewed:
        info["reviewed"] = True
    if "TRACKING_IDS" in opts:
        info["tracking_ids"] = []  # no tracking-id patterns are configured on a site
    if "REVIEWER_UPDATES" in opts:
        info["reviewer_updates"] = extras.reviewer_updates or []
    if "MESSAGES" in opts:
        info["messages"] = [
            {"id": str(m.id), "author": account_info(d.accounts.get(m.author_id)),
             "real_author": account_info(d.accounts.get(m.author_id)),
             "date": timestamp(m.date), "message": m.message, "_revision_number": m.patch_set,
             **({"tag": m.tag} if m.tag else {})}
            for m in d.messages]
    all_revisions = "ALL_REVISIONS" in opts
    if all_revisions or "CURRENT_REVISION" in opts or "CURRENT_COMMIT" in opts:
        info["current_revision"] = d.current.sha
        shown = d.patch_sets if all_revisions else [d.current]
        info["revisions"] = {}
        for ps in shown:
            current = ps.number == c.current_patch_set
            revision = revision_info(d, ps, base_url, opts, current)
            if extras.ssh_url:
                url, ref = extras.ssh_url + c.project, revision["ref"]
                revision["fetch"]["ssh"] = {"url": url, "ref": ref, "commands": {
                    "Checkout": f"git fetch {url} {ref} && git checkout FETCH_HEAD",
                    "Pull": f"git pull {url} {ref}"}}
            if ps.sha in extras.files:
                revision["files"] = extras.files[ps.sha]
            if current and ("CURRENT_ACTIONS" in opts or "CHANGE_ACTIONS" in opts):
                revision["actions"] = {k: v for k, v in extras.actions.items()
                                       if k in ("submit", "rebase", "cherrypick")}
            info["revisions"][ps.sha] = revision
    return info
