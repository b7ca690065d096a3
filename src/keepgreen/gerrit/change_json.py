"""ChangeInfo, RevisionInfo and friends in Gerrit's JSON shapes."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.account import Account
from keepgreen.domain.change import PatchSet, Person
from keepgreen.domain.changeid import subject as subject_of
from keepgreen.domain.refs import patch_set_ref
from keepgreen.gerrit.http import timestamp
from keepgreen.services.changes import ChangeDetails

LABEL_VALUES: dict[str, dict[str, str]] = {
    "Code-Review": {"-2": "This shall not be merged", "-1": "This needs changes",
                    " 0": "No score", "+1": "Looks good to me, but someone else must approve",
                    "+2": "Looks good to me, approved"},
    "Verified": {"-2": "Fails", "-1": "Doesn't seem to work", " 0": "No score",
                 "+1": "Works for me", "+2": "Verified"},
    "Workflow": {"-1": "Work in progress", " 0": "Ready for reviews", "+1": "Approved"},
}


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


def change_info(d: ChangeDetails, base_url: str, opts: set[str],
                permitted: dict[str, list[str]] | None = None) -> dict[str, Any]:
    c = d.change
    detailed = "DETAILED_ACCOUNTS" in opts
    info: dict[str, Any] = {
        "id": f"{c.project}~{c.number}",
        "triplet_id": c.triplet,
        "project": c.project,
        "branch": c.branch,
        "hashtags": list(c.hashtags),
        "change_id": c.change_id,
        "subject": c.subject,
        "status": c.status,
        "created": timestamp(c.created),
        "updated": timestamp(c.updated),
        "submit_type": "MERGE_IF_NECESSARY",
        "insertions": 0,
        "deletions": 0,
        "total_comment_count": 0,
        "unresolved_comment_count": 0,
        "has_review_started": not c.wip,
        "meta_rev_id": f"{c.number:040x}",
        "_number": c.number,
        "owner": account_info(d.accounts.get(c.owner_id), detailed),
        "current_revision_number": c.current_patch_set,
        "requirements": [],
    }
    if c.topic:
        info["topic"] = c.topic
    if c.submitted:
        info["submitted"] = timestamp(c.submitted)
    if c.wip:
        info["work_in_progress"] = True
    if c.private:
        info["is_private"] = True
    if "LABELS" in opts or "DETAILED_LABELS" in opts:
        info["labels"] = label_info(d, "DETAILED_LABELS" in opts)
        if permitted is not None and c.is_open:
            info["permitted_labels"] = permitted
    if "DETAILED_LABELS" in opts or "DETAILED_ACCOUNTS" in opts or "LABELS" in opts:
        reviewers: dict[str, list[dict[str, Any]]] = {}
        voters = {a.account_id for a in d.approvals}
        for account_id, state in d.people:
            reviewers.setdefault(state, []).append(account_info(d.accounts.get(account_id)))
        for account_id in sorted(voters - {a for a, _ in d.people}):
            reviewers.setdefault("REVIEWER", []).append(account_info(d.accounts.get(account_id)))
        info["reviewers"] = reviewers
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
        info["revisions"] = {
            ps.sha: revision_info(d, ps, base_url, opts, ps.number == c.current_patch_set)
            for ps in shown}
    return info
