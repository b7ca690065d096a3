"""REST: one published comment (read, removed by an administrator), comments of earlier
patch sets ported onto a revision, and fix suggestions previewed against its files."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from keepgreen.domain.change import Change, PatchSet
from keepgreen.gerrit.diff_json import diff_content, split_lines
from keepgreen.gerrit.files_api import MAX_BYTES
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.review_api import comment_info
from keepgreen.gerrit.revision_lookup import notes, revision_of
from keepgreen.gerrit.router import Route
from keepgreen.git.repos import GitError
from keepgreen.services.errors import BadRequest, NotFound
from keepgreen.services.review.comment_porting import CommentPorter

MAX_REPLACEMENTS = 1000


def _info(call: Call, row: Any) -> dict[str, Any]:
    accounts = call.services.accounts.accounts_by_ids({row.author_id})
    return comment_info(row, accounts)


def get_comment(call: Call, change: str, revision: str, comment: str) -> Any:
    found, _, ps = revision_of(call, change, revision)
    return _info(call, SimpleNamespace(**notes(call).comment(found, ps, comment)))


def delete_comment(call: Call, change: str, revision: str, comment: str) -> Any:
    data = JsonObject.of(call.json())
    found, _, ps = revision_of(call, change, revision)
    row = notes(call).remove_comment(call.who, found, ps, comment, data.text("reason"))
    return _info(call, SimpleNamespace(**row))


def _ported(call: Call, change: str, revision: str, drafts: bool) -> Any:
    found, details, ps = revision_of(call, change, revision)
    porter: CommentPorter = call.services.comment_porter
    rows = porter.ported(
        call.who, found, details.patch_sets, ps, drafts)
    accounts = call.services.accounts.accounts_by_ids({r.author_id for r in rows})
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.path, []).append(comment_info(row, accounts))
    return result


def ported_comments(call: Call, change: str, revision: str) -> Any:
    return _ported(call, change, revision, drafts=False)


def ported_drafts(call: Call, change: str, revision: str) -> Any:
    return _ported(call, change, revision, drafts=True)


def stored_fix(call: Call, change: str, revision: str, fix: str) -> Any:
    """Fix suggestions are not stored (robot comments are folded into comments), so no
    fix id names one."""
    found, _, ps = revision_of(call, change, revision)
    raise NotFound(f"fix {fix} not found on patch set {ps.number} of change {found.number}")


def _offset(lines: list[str], line: int, character: int, where: str) -> int:
    """The position in the text of 1-based ``line`` and 0-based ``character``."""
    if not 1 <= line <= len(lines) + 1:
        raise BadRequest(f"{where} is outside the file (it has {len(lines)} lines)")
    if line == len(lines) + 1:
        if character:
            raise BadRequest(f"{where} is outside the file")
        return sum(len(text) for text in lines)
    if character > len(lines[line - 1]):
        raise BadRequest(f"{where} is beyond the end of line {line}")
    return sum(len(text) for text in lines[:line - 1]) + character


def _needed(bounds: JsonObject, key: str, low: int) -> int:
    value = bounds.whole(key, low=low)
    if value is None:
        raise BadRequest(f"{bounds.name(key)} is required")
    return value


def _apply(text: str, replacements: list[tuple[int, int, str]]) -> str:
    parts, cursor = [], 0
    for start, end, replacement in sorted(replacements):
        if start < cursor:
            raise BadRequest("fix replacements overlap")
        parts += [text[cursor:start], replacement]
        cursor = end
    return "".join(parts) + text[cursor:]


def fixed_files(call: Call, found: Change, ps: PatchSet) -> dict[str, tuple[str, str]]:
    """Each file the request's ``fix_replacement_infos`` touch: its text in patch set
    ``ps`` and the text with the replacements made."""
    data = JsonObject.of(call.json())
    items = data.raw("fix_replacement_infos")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise BadRequest("fix_replacement_infos must be a list")
    if len(items) > MAX_REPLACEMENTS:
        raise BadRequest(f"a fix has at most {MAX_REPLACEMENTS} replacements")
    wanted: dict[str, list[tuple[JsonObject, str]]] = {}
    for i, item in enumerate(items):
        entry = JsonObject.of(item, f"fix_replacement_infos[{i}]")
        path = entry.text("path")
        if not path:
            raise BadRequest(f"fix_replacement_infos[{i}].path is required")
        wanted.setdefault(path, []).append((entry, entry.text("replacement")))
    result = {}
    for path, entries in wanted.items():
        try:
            raw = call.services.repos.read_blob(found.project, ps.sha, path, MAX_BYTES)
        except GitError as exc:
            raise BadRequest(str(exc)) from exc
        if raw is None:
            raise NotFound(f"file {path} not found in revision {ps.number} of change "
                           f"{found.number}")
        try:
            text = raw.decode()
        except UnicodeDecodeError:
            raise BadRequest(f"file {path} is not text; a fix cannot edit it") from None
        lines = text.splitlines(keepends=True)
        edits = []
        for entry, replacement in entries:
            bounds = JsonObject.of(entry.raw("range"), entry.name("range"))
            where = entry.name("range")
            start = _offset(lines, _needed(bounds, "start_line", 1),
                            _needed(bounds, "start_character", 0), where)
            end = _offset(lines, _needed(bounds, "end_line", 1),
                          _needed(bounds, "end_character", 0), where)
            if end < start:
                raise BadRequest(f"{entry.name('range')} ends before it starts")
            edits.append((start, end, replacement))
        result[path] = (text, _apply(text, edits))
    return result


def preview_fix(call: Call, change: str, revision: str) -> Any:
    """Each file the given replacements touch, as a DiffInfo from the revision's version to
    the fixed one."""
    found, _, ps = revision_of(call, change, revision)
    result = {}
    for path, (before, after) in fixed_files(call, found, ps).items():
        old, new = split_lines(before), split_lines(after)
        result[path] = {
            "meta_a": {"name": path, "content_type": "text/plain", "lines": len(old)},
            "meta_b": {"name": path, "content_type": "text/plain", "lines": len(new)},
            "change_type": "MODIFIED",
            "diff_header": [f"diff --git a/{path} b/{path}", f"--- a/{path}",
                            f"+++ b/{path}"],
            "content": diff_content(old, new, None)}
    return result


_R = ("changes", "{change}", "revisions", "{revision}")
ROUTES: list[Route] = [
    ("GET", (*_R, "comments", "{comment}"), get_comment),
    ("DELETE", (*_R, "comments", "{comment}"), delete_comment),
    ("POST", (*_R, "comments", "{comment}", "delete"), delete_comment),
    ("GET", (*_R, "ported_comments"), ported_comments),
    ("GET", (*_R, "ported_comments", ""), ported_comments),
    ("GET", (*_R, "ported_drafts"), ported_drafts),
    ("GET", (*_R, "ported_drafts", ""), ported_drafts),
    ("GET", (*_R, "fixes", "{fix}", "preview"), stored_fix),
    ("POST", (*_R, "fixes", "{fix}", "apply"), stored_fix),
    ("POST", (*_R, "fix:preview"), preview_fix),
]
