"""REST: change edits file by file, and the other change endpoints.

``/changes/{id}/edit...`` is the caller's own change edit (``ChangeEditService``); the routes
of ``change_extras`` (included in, consistency check, merge and patch patch sets, message
removal, ...) are served from here too.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
from typing import Any

from starlette.responses import Response

from keepgreen.domain.change import Change, PatchSet
from keepgreen.gerrit import change_extras
from keepgreen.gerrit.change_json import commit_info
from keepgreen.gerrit.changes_api import file_infos
from keepgreen.gerrit.http import Call, no_content
from keepgreen.gerrit.request_input import JsonObject, decode_json
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest
from keepgreen.services.review.change_edits import ChangeEditService, Edit

FILE_MODES = {100644: 0o100644, 100755: 0o100755}  # as Gerrit writes them: octal digits
DATA_URL = re.compile(r"data:([^,;]*)(;[^,]*)?;base64,(.*)", re.DOTALL)


def _edits(call: Call) -> ChangeEditService:
    edits: ChangeEditService = call.services.edits
    return edits


def _change(call: Call, change: str) -> Change:
    return call.services.changes.resolve(change, call.who)  # type: ignore[no-any-return]


def _body(call: Call) -> JsonObject:
    return JsonObject.of(call.json())


def _as_patch_set(edit: Edit) -> PatchSet:
    """The edit's commit in the shape file listings take (patch set number 0)."""
    return PatchSet(edit.change.number, 0, edit.sha, edit.parents, edit.account_id,
                    edit.change.updated, edit.message, edit.author, edit.committer)


def get_edit(call: Call, change: str) -> Any:
    """``EditInfo`` of the caller's edit, 204 when they have none."""
    found = _change(call, change)
    edit = _edits(call).edit(call.who, found)
    if edit is None:
        return no_content()
    commit = commit_info(_as_patch_set(edit))
    info: dict[str, Any] = {"commit": commit, "base_patch_set_number": edit.base.number,
                            "base_revision": edit.base.sha, "ref": edit.ref}
    if call.flag("list"):
        base = None
        if call.query("base"):
            details = call.services.changes.details([found], messages=False)[0]
            base = call.services.changes.patch_set(details, call.query("base") or "").sha
        info["files"] = file_infos(call, found.project, _as_patch_set(edit), base)
    return info


def post_edit(call: Call, change: str) -> Any:
    """Create the edit, restore a file in it, or rename one (``ChangeEditInput``)."""
    data = _body(call)
    found = _change(call, change)
    edits = _edits(call)
    restore = data.optional_text("restore_path")
    old, new = data.optional_text("old_path"), data.optional_text("new_path")
    if restore:
        edits.restore_file(call.who, found, restore)
    elif old or new:
        if not (old and new):
            raise BadRequest("renaming a file needs both old_path and new_path")
        edits.rename_file(call.who, found, old, new)
    else:
        edits.create(call.who, found)
    return no_content()


def _content(call: Call) -> tuple[bytes, int | None]:
    """A new file's bytes: a raw ``text/plain`` body, a JSON string, or Gerrit's
    ``FileContentInput`` with ``binary_content`` as a base64 data URL."""
    media = call.request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == "text/plain":
        return call.body, None
    raw = decode_json(call.body) if call.body.strip() else ""
    if isinstance(raw, str):
        return raw.encode(), None
    data = JsonObject.of(raw)
    mode = None
    if "file_mode" in data:
        given = data.whole("file_mode", low=0)
        if given not in FILE_MODES:
            raise BadRequest("file_mode must be 100644 (a plain file) or 100755 (executable)")
        mode = FILE_MODES[given]
    url = data.text("binary_content")
    if not url:
        raise BadRequest("send the file as a raw text/plain body, a JSON string or "
                         "{\"binary_content\": \"data:...;base64,...\"}")
    match = DATA_URL.fullmatch(url)
    if match is None:
        raise BadRequest("binary_content must be a data URL: data:<type>;base64,<content>")
    try:
        return base64.b64decode(match.group(3), validate=True), mode
    except (binascii.Error, ValueError):
        raise BadRequest("binary_content does not hold valid base64") from None


def put_file(call: Call, change: str, file: str) -> Any:
    found = _change(call, change)
    content, mode = _content(call)
    _edits(call).put_file(call.who, found, file, content, mode)
    return no_content()


put_file.plain_text = True  # type: ignore[attr-defined]


def delete_file(call: Call, change: str, file: str) -> Any:
    _edits(call).delete_file(call.who, _change(call, change), file)
    return no_content()


def get_file(call: Call, change: str, file: str) -> Any:
    """The file's bytes in the edit (``?base``: in its base patch set), base64 encoded;
    204 when the edit has no such file."""
    data = _edits(call).file(call.who, _change(call, change), file, base=call.flag("base"))
    if data is None:
        return no_content()
    kind = mimetypes.guess_type(file)[0] or "application/octet-stream"
    return Response(base64.b64encode(data), media_type="text/plain", headers={
        "X-FYI-Content-Encoding": "base64", "X-FYI-Content-Type": kind,
        "Cache-Control": "no-cache, no-store"})


def get_file_meta(call: Call, change: str, file: str) -> Any:
    """What Gerrit says of an edited file beyond its content: web links, of which
    keepgreen has none."""
    _edits(call).require(call.who, _change(call, change))
    return {}


def put_message(call: Call, change: str) -> Any:
    message = _body(call).text("message")
    _edits(call).set_message(call.who, _change(call, change), message)
    return no_content()


def get_message(call: Call, change: str) -> Any:
    """The message of the caller's change edit, else the current patch set's."""
    found = _change(call, change)
    edit = _edits(call).edit(call.who, found)
    if edit is not None:
        return edit.base.message if call.flag("base") else edit.message
    details = call.services.changes.details([found], messages=False)[0]
    return call.services.changes.patch_set(details, "current").message


def put_identity(call: Call, change: str) -> Any:
    data = _body(call)
    found = _change(call, change)
    _edits(call).set_identity(call.who, found, data.optional_text("name"),
                              data.optional_text("email"), data.text("type", "BOTH"))
    return no_content()


def publish(call: Call, change: str) -> Any:
    _body(call)
    _edits(call).publish(call.who, _change(call, change))
    return no_content()


def rebase(call: Call, change: str) -> Any:
    _body(call)
    _edits(call).rebase(call.who, _change(call, change))
    return no_content()


def delete_edit(call: Call, change: str) -> Any:
    _edits(call).delete(call.who, _change(call, change))
    return no_content()


E = ("changes", "{change}")
ROUTES: list[Route] = [
    ("GET", (*E, "edit"), get_edit),
    ("POST", (*E, "edit"), post_edit),
    ("DELETE", (*E, "edit"), delete_edit),
    ("PUT", (*E, "edit:message"), put_message),
    ("GET", (*E, "edit:message"), get_message),
    ("PUT", (*E, "edit:identity"), put_identity),
    ("POST", (*E, "edit:publish"), publish),
    ("POST", (*E, "edit:rebase"), rebase),
    ("PUT", (*E, "edit", "{file}"), put_file),
    ("GET", (*E, "edit", "{file}"), get_file),
    ("DELETE", (*E, "edit", "{file}"), delete_file),
    ("GET", (*E, "edit", "{file}", "meta"), get_file_meta),
    *change_extras.ROUTES,
]
