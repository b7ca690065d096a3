"""Event payloads in the shape of Gerrit's stream-events, built from plain values."""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Any

from keepgreen.domain.account import Account
from keepgreen.domain.change import Change, PatchSet
from keepgreen.domain.refs import patch_set_ref


def epoch(when: datetime) -> int:
    return calendar.timegm(when.timetuple())


def account_attr(account: Account | None) -> dict[str, Any]:
    if account is None:
        return {}
    attr: dict[str, Any] = {"name": account.name, "username": account.username}
    if account.email:
        attr["email"] = account.email
    return attr


def change_url(base_url: str, change: Change) -> str:
    return f"{base_url}c/{change.project}/+/{change.number}"


def change_attr(change: Change, owner: Account | None, base_url: str,
                message: str) -> dict[str, Any]:
    attr: dict[str, Any] = {
        "project": change.project, "branch": change.branch, "id": change.change_id,
        "number": change.number, "subject": change.subject, "owner": account_attr(owner),
        "url": change_url(base_url, change), "commitMessage": message,
        "createdOn": epoch(change.created), "status": change.status,
    }
    if change.topic:
        attr["topic"] = change.topic
    if change.wip:
        attr["wip"] = True
    if change.private:
        attr["private"] = True
    if change.hashtags:
        attr["hashtags"] = list(change.hashtags)
    return attr


def patch_set_attr(ps: PatchSet, uploader: Account | None) -> dict[str, Any]:
    return {
        "number": ps.number, "revision": ps.sha, "parents": list(ps.parents),
        "ref": patch_set_ref(ps.change_number, ps.number), "uploader": account_attr(uploader),
        "createdOn": epoch(ps.created),
        "author": {"name": ps.author.name, "email": ps.author.email},
        "kind": ps.kind,
    }


def patchset_created(change: Change, ps: PatchSet, owner: Account | None,
                     uploader: Account | None, base_url: str) -> dict[str, Any]:
    return {
        "type": "patchset-created",
        "uploader": account_attr(uploader),
        "patchSet": patch_set_attr(ps, uploader),
        "change": change_attr(change, owner, base_url, ps.message),
        "project": change.project,
        "refName": "refs/heads/" + change.branch,
        "changeKey": {"id": change.change_id},
        "eventCreatedOn": epoch(ps.created),
    }


def ref_updated(project: str, ref: str, old: str, new: str, submitter: Account | None,
                when: datetime) -> dict[str, Any]:
    return {
        "type": "ref-updated",
        "submitter": account_attr(submitter),
        "refUpdate": {"oldRev": old, "newRev": new, "refName": ref, "project": project},
        "eventCreatedOn": epoch(when),
    }


def project_created(project: str, head: str, when: datetime) -> dict[str, Any]:
    return {"type": "project-created", "projectName": project, "projectHead": head,
            "eventCreatedOn": epoch(when)}


def drift_report(project: str, branch: str, job: str, build: str, result: str,
                 changes: str, when: datetime) -> dict[str, Any]:
    """keepgreen's own event: what a periodic dry run of ``job`` found on the hosts against
    ``branch``. ``state`` is ``in-sync`` (nothing would change), ``drifted`` (``changes``
    lists what would, per host) or ``failed`` (the dry run itself did not succeed)."""
    state = "failed" if result != "SUCCESS" else "drifted" if changes else "in-sync"
    hosts = sorted({line.split(":", 1)[0] for line in changes.splitlines()
                    if line and not line.startswith(" ") and ":" in line})
    return {"type": "drift-report", "project": project, "branch": branch, "job": job,
            "build": build, "result": result, "state": state, "hosts": hosts,
            "changes": changes, "eventCreatedOn": epoch(when)}


def change_event(type_: str, change: Change, owner: Account | None, ps: PatchSet,
                 base_url: str, when: datetime, **extra: Any) -> dict[str, Any]:
    """Any change event: the common change/patchSet part plus the type's own fields."""
    payload: dict[str, Any] = {
        "type": type_,
        "change": change_attr(change, owner, base_url, ps.message),
        "patchSet": patch_set_attr(ps, None),
        "project": change.project,
        "refName": "refs/heads/" + change.branch,
        "changeKey": {"id": change.change_id},
        "eventCreatedOn": epoch(when),
    }
    payload["patchSet"].pop("uploader", None)
    payload.update(extra)
    return payload


def approvals_attr(new: dict[str, int], old: dict[str, int],
                   descriptions: dict[str, str]) -> list[dict[str, Any]]:
    """``comment-added`` approvals: values are strings; oldValue only where it changed."""
    result = []
    for label, value in new.items():
        item: dict[str, Any] = {"type": label, "description": descriptions.get(label, label),
                                "value": str(value)}
        if label in old and old[label] != value:
            item["oldValue"] = str(old[label])
        result.append(item)
    return result
