"""REST: a revision's files as Gerrit serves them, ``…/files/{file}/content`` (base64 text)
and ``…/files/{file}/diff`` (DiffInfo), for clients that show a change without a clone.

``/COMMIT_MSG`` is the commit message with Gerrit's header of parent, author and committer.
Files are read from the change's repository at the patch set's commit and compared with the
first parent, or with ``base`` (a patch set) or ``parent`` (a parent's number) when given.
"""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

from starlette.responses import Response

from keepgreen.domain.change import Change, PatchSet, as_number
from keepgreen.gerrit.diff_json import diff_content, parse_context, split_lines
from keepgreen.gerrit.http import Call, timestamp
from keepgreen.gerrit.router import Route
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest, NotFound

COMMIT_MSG = "/COMMIT_MSG"
MAX_BYTES = 8 * 1024 * 1024  # larger files are refused, not read into memory


def _revision(call: Call, change: str, revision: str) -> tuple[Change, PatchSet]:
    found = call.services.changes.resolve(change, call.who)
    details = call.services.changes.details([found], messages=False)[0]
    return found, call.services.changes.patch_set(details, revision)


def _base(call: Call, change: Change, ps: PatchSet) -> tuple[str | None, PatchSet | None]:
    """The commit the revision is compared with, and the patch set when ``base`` names one."""
    parent = call.query("parent")
    if parent is not None:
        number = as_number(parent) or 0
        if not 1 <= number <= len(ps.parents):
            raise BadRequest(f"parent={parent} must be between 1 and {len(ps.parents)}")
        return ps.parents[number - 1], None
    base = call.query("base")
    if base:
        _, base_ps = _revision(call, str(change.number), base)
        return base_ps.sha, base_ps
    return (ps.parents[0] if ps.parents else None), None


def commit_message_file(ps: PatchSet) -> str:
    """``/COMMIT_MSG`` as Gerrit shows it: parent, author and committer, then the message."""
    lines = [f"Parent:     {p[:8]} ()" for p in ps.parents[:1]]
    lines += [f"Merge Of:   {p[:8]} ()" for p in ps.parents[1:]]
    lines += [f"Author:     {ps.author.name} <{ps.author.email}>",
              f"AuthorDate: {timestamp(ps.author.date)}",
              f"Commit:     {ps.committer.name} <{ps.committer.email}>",
              f"CommitDate: {timestamp(ps.committer.date)}", "", ps.message]
    return "\n".join(lines)


def _bytes_at(call: Call, project: str, rev: str | None, path: str) -> bytes | None:
    if rev is None:
        return None
    try:
        return call.services.repos.read_blob(project, rev, path, MAX_BYTES)  # type: ignore[no-any-return]
    except GitError as exc:
        raise BadRequest(str(exc)) from exc


def get_content(call: Call, change: str, revision: str, file: str) -> Response:
    found, ps = _revision(call, change, revision)
    if file == COMMIT_MSG:
        data: bytes | None = commit_message_file(ps).encode()
    else:
        data = _bytes_at(call, found.project, ps.sha, file)
    if data is None:
        raise NotFound(f"file {file} not found in revision {ps.number} of change "
                       f"{found.number}")
    kind = mimetypes.guess_type(file)[0] or "application/octet-stream"
    return Response(base64.b64encode(data), media_type="text/plain", headers={
        "X-FYI-Content-Encoding": "base64", "X-FYI-Content-Type": kind,
        "Cache-Control": "no-cache, no-store"})


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def _meta(name: str, lines: list[str]) -> dict[str, Any]:
    kind = ("text/x-gerrit-commit-message" if name == COMMIT_MSG
            else mimetypes.guess_type(name)[0] or "text/plain")
    return {"name": name, "content_type": kind, "lines": len(lines)}


def get_diff(call: Call, change: str, revision: str, file: str) -> Any:
    found, ps = _revision(call, change, revision)
    try:
        context = parse_context(call.query("context"))
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    base, base_ps = _base(call, found, ps)
    old_path: str | None = file
    if file == COMMIT_MSG:
        old_raw = commit_message_file(base_ps).encode() if base_ps is not None else None
        new_raw: bytes | None = commit_message_file(ps).encode()
        kind = "MODIFIED" if old_raw is not None else "ADDED"
        header: list[str] = []
    else:
        changed = {f.path: f for f in call.services.merger.files(found.project, ps.sha, base)}
        entry = changed.get(file)
        if entry is not None and entry.old_path:
            old_path = entry.old_path
        old_raw = _bytes_at(call, found.project, base, old_path)
        new_raw = _bytes_at(call, found.project, ps.sha, file)
        if old_raw is None and new_raw is None:
            raise NotFound(f"file {file} not found in revision {ps.number} of change "
                           f"{found.number}")
        kind = ("ADDED" if old_raw is None else "DELETED" if new_raw is None
                else "RENAMED" if entry is not None and entry.status == "R"
                else "COPIED" if entry is not None and entry.status == "C" else "MODIFIED")
        header = [f"diff --git a/{old_path} b/{file}", f"--- a/{old_path}"
                  if old_raw is not None else "--- /dev/null",
                  f"+++ b/{file}" if new_raw is not None else "+++ /dev/null"]
    old_text, new_text = _text(old_raw), _text(new_raw)
    info: dict[str, Any] = {"change_type": kind, "diff_header": header}
    if (old_raw is not None and old_text is None) or (new_raw is not None and new_text is None):
        info["binary"] = True
        info["content"] = []
        old_lines: list[str] = []
        new_lines: list[str] = []
    else:
        old_lines, new_lines = split_lines(old_text or ""), split_lines(new_text or "")
        info["content"] = diff_content(old_lines, new_lines, context)
    if old_raw is not None:
        info["meta_a"] = _meta(old_path or file, old_lines)
    if new_raw is not None:
        info["meta_b"] = _meta(file, new_lines)
    return info


ROUTES: list[Route] = [
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files", "{file}", "content"),
     get_content),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files", "{file}", "diff"),
     get_diff),
]
