"""REST: the change endpoints beyond reviewing and editing, served through
``change_edit_api``: where a change was included, its consistency check and fix, change
message removal, reverting a whole submission, new patch sets made from a merge, a patch or
a provided fix, and the answers Gerrit gives when no plugin adds validation options or
custom keyed values."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.change import Change, PatchSet, Person
from keepgreen.gerrit.change_json import commit_info
from keepgreen.gerrit.changes_api import get_message, render_one
from keepgreen.gerrit.http import Call
from keepgreen.gerrit.request_input import JsonObject
from keepgreen.gerrit.revision_comments import fixed_files
from keepgreen.gerrit.revision_lookup import revision_of
from keepgreen.gerrit.router import Route
from keepgreen.services.errors import BadRequest, MethodNotAllowed, NotFound
from keepgreen.services.review.change_edits import ChangeEditService
from keepgreen.services.review.change_upkeep import ChangeUpkeep, Problem
from keepgreen.services.review.merge_patch_sets import MergePatchSets, MergeRequest
from keepgreen.store.clock import utcnow


def _upkeep(call: Call) -> ChangeUpkeep:
    upkeep: ChangeUpkeep = call.services.upkeep
    return upkeep


def _change(call: Call, change: str) -> Change:
    return call.services.changes.resolve(change, call.who)  # type: ignore[no-any-return]


def _body(call: Call) -> JsonObject:
    return JsonObject.of(call.json())


def included_in(call: Call, change: str) -> Any:
    """``IncludedInInfo``: the branches and tags (that the caller may read) holding the
    change's current commit."""
    branches, tags = _upkeep(call).included_in(call.who, _change(call, change))
    return {"branches": branches, "tags": tags}


def pure_revert(call: Call, change: str) -> Any:
    """``PureRevertInfo``: whether the change undoes its original (``revert_of``, or the
    commit given as ``o``) exactly."""
    return {"is_pure_revert": _upkeep(call).pure_revert(call.who, _change(call, change),
                                                        call.query("o"))}


def commit_message(call: Call, change: str) -> Any:
    """``CommitMessageInfo`` of the current patch set: subject, full message, footers."""
    found = _change(call, change)
    details = call.services.changes.details([found], messages=False)[0]
    message = call.services.changes.patch_set(details, "current").message
    return {"subject": message.split("\n", 1)[0], "full_message": message,
            "footers": footers(message)}


def footers(message: str) -> dict[str, str]:
    """The ``Key: value`` lines of the message's last paragraph (the first of each key)."""
    found: dict[str, str] = {}
    last = message.rstrip("\n").rsplit("\n\n", 1)[-1]
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and all(c.isalnum() or c == "-" for c in key):
            found.setdefault(key, value.strip())
    return found


def _problem(problem: Problem) -> dict[str, Any]:
    info: dict[str, Any] = {"message": problem.message}
    if problem.status:
        info["status"] = problem.status
    if problem.outcome:
        info["outcome"] = problem.outcome
    return info


def _checked(call: Call, found: Change, fix: bool) -> Any:
    problems = _upkeep(call).check(call.who, found, fix)
    info = render_one(call, str(found.number))
    info["problems"] = [_problem(p) for p in problems]
    return info


def check(call: Call, change: str) -> Any:
    """``ChangeInfo`` with ``problems``: every disagreement between the change's rows and
    its repository (an empty list when there is none)."""
    return _checked(call, _change(call, change), fix=False)


def fix(call: Call, change: str) -> Any:
    data = _body(call)
    data.flag("delete_patch_set_if_commit_missing")
    data.optional_text("expect_merged_as")
    return _checked(call, _change(call, change), fix=True)


def validation_options(call: Call, change: str) -> Any:
    """The push validation options plugins offer: none, as keepgreen has no plugins."""
    _change(call, change)
    return {"validation_options": []}


def get_custom_keyed_values(call: Call, change: str) -> Any:
    _change(call, change)
    return {}


def set_custom_keyed_values(call: Call, change: str) -> Any:
    _body(call)
    _change(call, change)
    raise MethodNotAllowed("keepgreen keeps no custom keyed values on changes; use "
                           "hashtags to label a change")


def delete_message(call: Call, change: str, message: str) -> Any:
    """Take down a change message (administrators): its text becomes a note of who removed
    it and why; the updated ``ChangeMessageInfo``."""
    reason = _body(call).text("reason")
    found = _change(call, change)
    _upkeep(call).remove_message(call.who, found, message, reason)
    return get_message(call, str(found.number), message)


def revert_submission(call: Call, change: str) -> Any:
    data = _body(call)
    numbers = _upkeep(call).revert_submission(
        call.who, _change(call, change), data.optional_text("message"),
        data.optional_text("topic"), data.flag("work_in_progress"))
    return {"revert_changes": [render_one(call, str(n)) for n in numbers]}


def apply_fix(call: Call, change: str, revision: str) -> Any:
    """The provided fix written into the caller's change edit (made on the revision when
    they have none); the edit's ``EditInfo``."""
    found, _, ps = revision_of(call, change, revision)
    edits: ChangeEditService = call.services.edits
    fixed = {path: after.encode() for path, (_, after) in
             fixed_files(call, found, ps).items()}
    edit = edits.apply_fix(call.who, found, ps, fixed)
    shown = PatchSet(found.number, 0, edit.sha, edit.parents, edit.account_id, found.updated,
                     edit.message, edit.author, edit.committer)
    return {"commit": commit_info(shown), "base_patch_set_number": edit.base.number,
            "base_revision": edit.base.sha, "ref": edit.ref}


def _merges(call: Call) -> MergePatchSets:
    merges: MergePatchSets = call.services.patch_set_merges
    return merges


def merge_patch_set(call: Call, change: str) -> Any:
    """``MergePatchSetInput``: a merge commit of the source as the next patch set; the
    change's ``ChangeInfo``."""
    data = _body(call)
    merge = JsonObject.of(data.raw("merge"), "merge")
    source = merge.text("source")
    wanted_base = data.optional_text("base_change")
    found = _change(call, change)
    base = None
    if wanted_base:
        try:
            other = _change(call, wanted_base)
        except NotFound:
            raise BadRequest(f"base change {wanted_base} not found") from None
        if (other.project, other.branch) != (found.project, found.branch):
            raise BadRequest(f"base change {wanted_base} is not on {found.branch} of "
                             f"{found.project}")
        details = call.services.changes.details([other], messages=False)[0]
        base = call.services.changes.patch_set(details, "current").sha
    _merges(call).merge(call.who, found, MergeRequest(
        source=source, source_branch=merge.optional_text("source_branch"),
        subject=data.optional_text("subject"), strategy=merge.optional_text("strategy"),
        allow_conflicts=merge.flag("allow_conflicts"),
        inherit_parent=data.flag("inherit_parent"), base=base))
    return render_one(call, str(found.number))


def apply_patch(call: Call, change: str) -> Any:
    """``ApplyPatchPatchSetInput``: the patch applied as the next patch set; the change's
    ``ChangeInfo``."""
    data = _body(call)
    patch = JsonObject.of(data.raw("patch"), "patch")
    text = patch.text("patch")
    if patch.flag("allow_conflicts"):
        raise BadRequest("keepgreen does not commit conflict markers; a patch must apply "
                         "cleanly")
    author = None
    if data.raw("author") is not None:
        given = JsonObject.of(data.raw("author"), "author")
        name, email = given.text("name").strip(), given.text("email").strip()
        bad = any(c in name + email for c in "<>\n\r")
        if not name or not email or bad or len(name) > 255 or len(email) > 255:
            raise BadRequest("author needs a name and an email of 1-255 characters "
                             "without <, > or newlines")
        author = Person(name, email, utcnow())
    found = _change(call, change)
    _merges(call).apply_patch(call.who, found, text, data.optional_text("commit_message"),
                              data.optional_text("base"), author)
    return render_one(call, str(found.number))


C = ("changes", "{change}")
ROUTES: list[Route] = [
    ("POST", (*C, "revisions", "{revision}", "fix:apply"), apply_fix),
    ("POST", (*C, "merge"), merge_patch_set),
    ("POST", (*C, "patch:apply"), apply_patch),
    ("GET", (*C, "in"), included_in),
    ("GET", (*C, "pure_revert"), pure_revert),
    ("GET", (*C, "message"), commit_message),
    ("GET", (*C, "check"), check),
    ("POST", (*C, "check"), fix),
    ("GET", (*C, "validation-options"), validation_options),
    ("GET", (*C, "custom_keyed_values"), get_custom_keyed_values),
    ("POST", (*C, "custom_keyed_values"), set_custom_keyed_values),
    ("DELETE", (*C, "messages", "{message}"), delete_message),
    ("POST", (*C, "messages", "{message}", "delete"), delete_message),
    ("POST", (*C, "revert_submission"), revert_submission),
]
