"""REST: one revision: its details, patch, comments, reviewed files, fixes and votes.

This module holds the revision itself (Get Revision, Get Review, merge list, actions,
submit type, patch, file download, description, reviewed files); comments, votes and
file reads beyond content and diff live in ``revision_comments`` and ``revision_votes``,
whose routes are served from here.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from datetime import UTC
from email.utils import format_datetime
from typing import Any

from starlette.responses import Response

from keepgreen.domain.change import PatchSet
from keepgreen.domain.changeid import subject as subject_of
from keepgreen.gerrit import revision_comments, revision_votes
from keepgreen.gerrit.change_json import person_info
from keepgreen.gerrit.changes_api import render_changes
from keepgreen.gerrit.files_api import COMMIT_MSG, MAX_BYTES, commit_message_file
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject, whole_number
from keepgreen.gerrit.revision_lookup import is_current, notes, options_of, revision_of
from keepgreen.gerrit.router import Created, Route
from keepgreen.git import revision_reads
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest, NotFound

MERGE_LIST = "/MERGE_LIST"


def _one_revision(call: Call, change: str, revision: str, extra: set[str]) -> Any:
    """The change as ChangeInfo, its ``revisions`` holding only the revision asked for."""
    found, _, ps = revision_of(call, change, revision)
    info = render_changes(call, [found], options_of(call) | extra | {"ALL_REVISIONS"})[0]
    shown = info["revisions"][ps.sha]
    description = notes(call).description(found, ps)
    if description:
        shown["description"] = description
    info["revisions"] = {ps.sha: shown}
    return info


def get_revision(call: Call, change: str, revision: str) -> Any:
    return _one_revision(call, change, revision, set())


def get_review(call: Call, change: str, revision: str) -> Any:
    return _one_revision(call, change, revision, {"DETAILED_LABELS", "DETAILED_ACCOUNTS"})


def _parent_number(call: Call, ps: PatchSet) -> int:
    raw = call.query("parent")
    if raw is None:
        return 1
    if not ps.parents:
        raise BadRequest(f"patch set {ps.number} has no parent")
    return whole_number(raw, "parent", 1, len(ps.parents))


def get_merge_list(call: Call, change: str, revision: str) -> Any:
    """The commits a merge patch set brings into its branch (none for other commits)."""
    found, _, ps = revision_of(call, change, revision)
    uninteresting = _parent_number(call, ps)
    shas = revision_reads.merged_commits(call.services.repos, found.project, ps.parents,
                                         uninteresting)
    return [{"commit": c.sha, "parents": [{"commit": p, "subject": ""} for p in c.parents],
             "author": person_info(c.author), "committer": person_info(c.committer),
             "subject": subject_of(c.message), "message": c.message}
            for c in call.services.repos.read_commits(found.project, shas)]


def get_actions(call: Call, change: str, revision: str) -> Any:
    """What the caller may do with this revision, as Gerrit's ActionInfo map."""
    found, _, ps = revision_of(call, change, revision)
    if call.who.account is None:
        return {}
    actions: dict[str, Any] = {}
    if is_current(found, ps):
        info = render_changes(call, [found], {"CURRENT_ACTIONS", "CURRENT_REVISION"})[0]
        actions.update(info["revisions"][ps.sha].get("actions", {}))
    actions.setdefault("cherrypick", {"method": "POST", "label": "Cherry Pick",
                                      "title": "Cherry pick change to a different branch",
                                      "enabled": True})
    if call.who.account.id == found.owner_id:
        actions["description"] = {"method": "PUT", "label": "Edit Description",
                                  "enabled": True}
    return actions


def get_submit_type(call: Call, change: str, revision: str) -> Any:
    found, _, _ = revision_of(call, change, revision)
    project = call.services.projects.exists(found.project)
    if project is None:
        raise NotFound(f"change {change} not found")
    return project.submit_type


def get_patch(call: Call, change: str, revision: str) -> Response:
    """The revision as a mail-style patch: base64 text, or a zip with ``zip``."""
    found, _, ps = revision_of(call, change, revision)
    path = call.query("path")
    try:
        body = revision_reads.diff(call.services.repos, found.project,
                                   ps.parents[0] if ps.parents else None, ps.sha, path or None)
    except GitError as exc:
        raise BadRequest(str(exc)) from exc
    if path and not body:
        raise NotFound(f"file {path} is not changed in revision {ps.number} of change "
                       f"{found.number}")
    subject, _, rest = ps.message.partition("\n")
    rest = rest.lstrip("\n")
    header = (f"From {ps.sha} Mon Sep 17 00:00:00 2001\n"
              f"From: {ps.author.name} <{ps.author.email}>\n"
              f"Date: {format_datetime(ps.author.date.replace(tzinfo=UTC))}\n"
              f"Subject: [PATCH] {subject}\n\n"
              + (rest if rest.endswith("\n") or not rest else rest + "\n") + "---\n\n")
    patch = header.encode() + body
    name = ps.sha[:8] + ".diff"
    if call.flag("zip"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, patch)
        return Response(buffer.getvalue(), media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{name}.zip"'})
    headers = {"X-FYI-Content-Encoding": "base64", "X-FYI-Content-Type": "application/mbox"}
    if call.flag("download"):
        headers["Content-Disposition"] = f'attachment; filename="{name}.base64"'
    return Response(base64.b64encode(patch), media_type="text/plain", headers=headers)


def download_content(call: Call, change: str, revision: str, file: str) -> Response:
    """The file's bytes as an attachment, never shown inline by a browser."""
    found, _, ps = revision_of(call, change, revision)
    raw = call.query("parent")
    rev: str | None = ps.sha
    if raw is not None:
        rev = ps.parents[_parent_number(call, ps) - 1]
    if file == COMMIT_MSG:
        data: bytes | None = commit_message_file(ps).encode() if raw is None else None
    else:
        try:
            data = call.services.repos.read_blob(found.project, rev, file, MAX_BYTES)
        except GitError as exc:
            raise BadRequest(str(exc)) from exc
    if data is None:
        raise NotFound(f"file {file} not found in revision {ps.number} of change "
                       f"{found.number}")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", file.rsplit("/", 1)[-1]) or "file"
    return Response(data, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, no-store"})


def get_description(call: Call, change: str, revision: str) -> Any:
    found, _, ps = revision_of(call, change, revision)
    return notes(call).description(found, ps) or ""


def put_description(call: Call, change: str, revision: str) -> Any:
    data = JsonObject.of(call.json())
    found, _, ps = revision_of(call, change, revision)
    notes(call).set_description(call.who, found, ps, data.text("description"))
    text = notes(call).description(found, ps)
    return text if text else no_content()


def _changed_file(call: Call, found: Any, ps: PatchSet, file: str) -> None:
    if file in (COMMIT_MSG, MERGE_LIST):
        return
    if not any(f.path == file for f in call.services.merger.files(found.project, ps.sha)):
        raise NotFound(f"file {file} is not in revision {ps.number} of change "
                       f"{found.number}")


def put_reviewed(call: Call, change: str, revision: str, file: str) -> Any:
    found, _, ps = revision_of(call, change, revision)
    _changed_file(call, found, ps, file)
    if notes(call).set_reviewed(call.who, found, ps, file, True):
        return Created("")
    return ""


def delete_reviewed(call: Call, change: str, revision: str, file: str) -> Any:
    found, _, ps = revision_of(call, change, revision)
    notes(call).set_reviewed(call.who, found, ps, file, False)
    return no_content()


_R = ("changes", "{change}", "revisions", "{revision}")
_F = (*_R, "files", "{file}")
ROUTES: list[Route] = [
    ("GET", _R, get_revision),
    ("GET", (*_R, "review"), get_review),
    ("GET", (*_R, "mergelist"), get_merge_list),
    ("GET", (*_R, "actions"), get_actions),
    ("GET", (*_R, "submit_type"), get_submit_type),
    ("GET", (*_R, "patch"), get_patch),
    ("GET", (*_R, "description"), get_description),
    ("PUT", (*_R, "description"), put_description),
    ("GET", (*_F, "download"), download_content),
    ("PUT", (*_F, "reviewed"), put_reviewed),
    ("DELETE", (*_F, "reviewed"), delete_reviewed),
    *revision_comments.ROUTES,
    *revision_votes.ROUTES,
]
