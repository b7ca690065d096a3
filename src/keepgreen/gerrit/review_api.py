"""REST: reviewing and acting on changes (votes, comments, submit, abandon, topic, ...)."""

from __future__ import annotations

from typing import Any

from keepgreen.domain.change import as_number
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.changes_api import file_infos, render_one
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, NotFound
from keepgreen.services.review.review import CommentInput, ReviewInput
from keepgreen.store import review as review_store


def _change(call: Call, change: str) -> Any:
    return call.services.changes.resolve(change, call.who)


def _patch_set(call: Call, found: Any, revision: str) -> Any:
    details = call.services.changes.details([found], messages=False)[0]
    return call.services.changes.patch_set(details, revision)


def _str(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _comment(path: str, raw: Any) -> CommentInput:
    if not isinstance(raw, dict):
        raise BadRequest(f"comments on {path} must be objects")
    line = raw.get("line")
    range_ = raw.get("range")
    if line is not None and (not isinstance(line, int) or line < 0):
        raise BadRequest(f"line of a comment on {path} must be a whole number")
    if range_ is not None:
        keys = ("start_line", "start_character", "end_line", "end_character")
        if not isinstance(range_, dict) or not all(isinstance(range_.get(k), int)
                                                   for k in keys):
            raise BadRequest(f"range of a comment on {path} needs {', '.join(keys)}")
        line = line or range_["end_line"]
    side = _str(raw, "side", "REVISION")
    if side not in ("REVISION", "PARENT"):
        raise BadRequest("side must be REVISION or PARENT")
    unresolved = raw.get("unresolved")
    return CommentInput(path=path, message=_str(raw, "message"), line=line, range=range_,
                        side=side, in_reply_to=raw.get("in_reply_to"),
                        unresolved=bool(unresolved) if unresolved is not None else None)


def post_review(call: Call, change: str, revision: str) -> Any:
    data = call.json()
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    labels = data.get("labels") or {}
    if not isinstance(labels, dict):
        raise BadRequest("labels must map label names to votes")
    comments_in = data.get("comments") or {}
    if not isinstance(comments_in, dict):
        raise BadRequest("comments must map file paths to lists of comments")
    files = {f.path for f in call.services.merger.files(found.project, ps.sha)}
    comments = []
    for path, items in comments_in.items():
        if path not in files and path not in ("/PATCHSET_LEVEL", "/COMMIT_MSG", "/MERGE_LIST"):
            raise BadRequest(f"file {path} is not in patch set {ps.number}")
        if not isinstance(items, list):
            raise BadRequest(f"comments on {path} must be a list")
        comments += [_comment(path, item) for item in items]
    drafts = _str(data, "drafts", "KEEP").upper()
    review = ReviewInput(
        message=_str(data, "message"), labels=labels, comments=comments,
        tag=data.get("tag"), strict_labels=data.get("strict_labels", True) is not False,
        drafts=drafts, ready=bool(data.get("ready")),
        work_in_progress=bool(data.get("work_in_progress")))
    votes = call.services.review.review(call.who, found, ps, review)
    return {"labels": votes}


def _comment_info(row: Any, accounts: dict[int, Any]) -> dict[str, Any]:
    info: dict[str, Any] = {"id": row.id, "path": row.path, "patch_set": row.patch_set,
                            "message": row.message, "updated": timestamp(row.updated),
                            "author": account_info(accounts.get(row.author_id)),
                            "unresolved": bool(row.unresolved)}
    if row.side == "PARENT":
        info["side"] = "PARENT"
    if row.line is not None:
        info["line"] = row.line
    if row.range:
        info["range"] = row.range
    if row.in_reply_to:
        info["in_reply_to"] = row.in_reply_to
    if row.tag:
        info["tag"] = row.tag
    return info


def _comments_map(call: Call, number: int, patch_set: int | None,
                  drafts_of: int | None = None) -> dict[str, list[dict[str, Any]]]:
    with call.services.db.read() as conn:
        rows = review_store.comments_of(conn, number, drafts_of, patch_set)
    accounts = call.services.accounts.accounts_by_ids({r.author_id for r in rows})
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.path, []).append(_comment_info(row, accounts))
    return result


def list_comments(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    return _comments_map(call, found.number, _patch_set(call, found, revision).number)


def list_change_comments(call: Call, change: str) -> Any:
    return _comments_map(call, _change(call, change).number, None)


def list_drafts(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    if call.who.account is None:
        return {}
    return _comments_map(call, found.number, _patch_set(call, found, revision).number,
                         call.who.account.id)


def put_draft(call: Call, change: str, revision: str) -> Any:
    data = call.json()
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    path = _str(data, "path")
    if not path:
        raise BadRequest("a draft needs a path")
    row = call.services.review.save_draft(call.who, found, ps, _comment(path, data))
    accounts = call.services.accounts.accounts_by_ids({row["author_id"]})

    class _Row:
        def __init__(self, values: dict[str, Any]) -> None:
            self.__dict__.update(values)

    return Created(_comment_info(_Row(row), accounts))


def list_files(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    base = None
    parent = call.query("parent")
    if parent is not None:
        if not 1 <= (as_number(parent) or 0) <= len(ps.parents):
            raise BadRequest(f"parent={parent} must be between 1 and {len(ps.parents)}")
        base = ps.parents[int(parent) - 1]
    elif call.query("base"):
        base_ps = _patch_set(call, found, call.query("base") or "")
        base = base_ps.sha
    return file_infos(call, found.project, ps, base)


def related(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    _patch_set(call, found, revision)
    return {"changes": call.services.changes.related(found, call.who)}


def cherry_pick(call: Call, change: str, revision: str) -> Any:
    data = call.json()
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    destination = _str(data, "destination")
    if not destination:
        raise BadRequest("cherry-pick needs a destination branch")
    number = call.services.revisions.cherry_pick(call.who, found, ps, destination,
                                                 data.get("message"))
    return render_one(call, str(number))


def abandon(call: Call, change: str) -> Any:
    call.services.review.abandon(call.who, _change(call, change), _str(call.json(), "message"))
    return render_one(call, change)


def restore(call: Call, change: str) -> Any:
    call.services.review.restore(call.who, _change(call, change), _str(call.json(), "message"))
    return render_one(call, change)


def rebase(call: Call, change: str, revision: str = "current") -> Any:
    data = call.json()
    call.services.revisions.rebase(call.who, _change(call, change), data.get("base") or None)
    return render_one(call, change)


def submit(call: Call, change: str, revision: str = "current") -> Any:
    call.json()
    call.services.submit.submit(call.who, _change(call, change))
    return render_one(call, change)


def set_wip(call: Call, change: str) -> Any:
    call.services.review.set_wip(call.who, _change(call, change), True,
                                 _str(call.json(), "message"))
    return no_content()


def set_ready(call: Call, change: str) -> Any:
    call.services.review.set_wip(call.who, _change(call, change), False,
                                 _str(call.json(), "message"))
    return no_content()


def put_topic(call: Call, change: str) -> Any:
    topic = _str(call.json(), "topic")
    call.services.review.set_topic(call.who, _change(call, change), topic or None)
    return topic if topic else no_content()


def delete_topic(call: Call, change: str) -> Any:
    call.services.review.set_topic(call.who, _change(call, change), None)
    return no_content()


def set_private(call: Call, change: str) -> Any:
    call.services.review.set_private(call.who, _change(call, change), True)
    return Created("OK")


def unset_private(call: Call, change: str) -> Any:
    call.services.review.set_private(call.who, _change(call, change), False)
    return no_content()


def get_hashtags(call: Call, change: str) -> Any:
    return list(_change(call, change).hashtags)


def post_hashtags(call: Call, change: str) -> Any:
    data = call.json()
    add, remove = data.get("add") or [], data.get("remove") or []
    if not all(isinstance(t, str) for t in [*add, *remove]):
        raise BadRequest("add and remove must be lists of hashtags")
    return call.services.review.hashtags(call.who, _change(call, change), add, remove)


def get_reviewers(call: Call, change: str) -> Any:
    found = _change(call, change)
    details = call.services.changes.details([found], messages=False)[0]
    result = []
    for account_id, state in details.people:
        info = account_info(details.accounts.get(account_id))
        votes = {v.label: f"{v.value:+d}" if v.value else " 0" for v in details.approvals
                 if v.account_id == account_id and v.patch_set == found.current_patch_set}
        result.append({**info, "approvals": votes, "_state": state})
    return result


def post_reviewer(call: Call, change: str) -> Any:
    data = call.json()
    key = _str(data, "reviewer")
    if not key:
        raise BadRequest("name the reviewer in 'reviewer'")
    account = call.services.review.add_reviewer(call.who, _change(call, change), key,
                                                _str(data, "state", "REVIEWER"))
    info = account_info(account)
    field = "ccs" if _str(data, "state", "REVIEWER") == "CC" else "reviewers"
    return {"input": key, field: [info]}


def get_edit(call: Call, change: str) -> Any:
    edit = call.services.revisions.edit(call.who, _change(call, change))
    return edit if edit else no_content()


def put_edit_message(call: Call, change: str) -> Any:
    message = _str(call.json(), "message")
    call.services.revisions.edit_message(call.who, _change(call, change), message)
    return no_content()


def publish_edit(call: Call, change: str) -> Any:
    call.json()
    call.services.revisions.publish_edit(call.who, _change(call, change))
    return no_content()


def star(call: Call, account: str, change: str) -> Any:
    _self(call, account)
    call.services.review.star(call.who, _change(call, change), True)
    return no_content()


def unstar(call: Call, account: str, change: str) -> Any:
    _self(call, account)
    call.services.review.star(call.who, _change(call, change), False)
    return no_content()


def _self(call: Call, account: str) -> None:
    if account != "self":
        raise NotFound("stars are only reachable as accounts/self/starred.changes")


def create_change(call: Call) -> Any:
    data = call.json()
    number = call.services.revisions.create_change(
        call.who, _str(data, "project"), _str(data, "branch", "main"), _str(data, "subject"),
        data.get("topic"))
    return Created(render_one(call, str(number)))


ROUTES: list[Route] = [
    ("POST", ("changes", ""), create_change),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "review"), post_review),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "comments"), list_comments),
    ("GET", ("changes", "{change}", "comments"), list_change_comments),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "drafts"), list_drafts),
    ("PUT", ("changes", "{change}", "revisions", "{revision}", "drafts"), put_draft),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files"), list_files),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files", ""), list_files),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "related"), related),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "cherrypick"), cherry_pick),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "rebase"), rebase),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "submit"), submit),
    ("POST", ("changes", "{change}", "abandon"), abandon),
    ("POST", ("changes", "{change}", "restore"), restore),
    ("POST", ("changes", "{change}", "rebase"), rebase),
    ("POST", ("changes", "{change}", "submit"), submit),
    ("POST", ("changes", "{change}", "wip"), set_wip),
    ("POST", ("changes", "{change}", "ready"), set_ready),
    ("PUT", ("changes", "{change}", "topic"), put_topic),
    ("DELETE", ("changes", "{change}", "topic"), delete_topic),
    ("POST", ("changes", "{change}", "private"), set_private),
    ("DELETE", ("changes", "{change}", "private"), unset_private),
    ("GET", ("changes", "{change}", "hashtags"), get_hashtags),
    ("POST", ("changes", "{change}", "hashtags"), post_hashtags),
    ("GET", ("changes", "{change}", "reviewers"), get_reviewers),
    ("GET", ("changes", "{change}", "reviewers", ""), get_reviewers),
    ("POST", ("changes", "{change}", "reviewers"), post_reviewer),
    ("GET", ("changes", "{change}", "edit"), get_edit),
    ("PUT", ("changes", "{change}", "edit:message"), put_edit_message),
    ("POST", ("changes", "{change}", "edit:publish"), publish_edit),
    ("PUT", ("accounts", "{account}", "starred.changes", "{change}"), star),
    ("DELETE", ("accounts", "{account}", "starred.changes", "{change}"), unstar),
]
