"""REST: reviewing and acting on changes (votes, comments, submit, abandon, topic, ...)."""

from __future__ import annotations

import dataclasses
from typing import Any

from keepgreen.domain import acl
from keepgreen.domain.change import as_number
from keepgreen.gerrit.attention_api import review_attention
from keepgreen.gerrit.change_json import account_info
from keepgreen.gerrit.changes_api import file_infos, render_one
from keepgreen.gerrit.http import Call, no_content, timestamp
from keepgreen.gerrit.request_input import MAX_INT, JsonObject, number_in, whole_number
from keepgreen.gerrit.router import Created, Route
from keepgreen.services.errors import BadRequest, Forbidden, NotFound, Unauthorized
from keepgreen.services.review.review import CommentInput, ReviewInput
from keepgreen.store import review as review_store


def _change(call: Call, change: str) -> Any:
    return call.services.changes.resolve(change, call.who)


def _patch_set(call: Call, found: Any, revision: str) -> Any:
    details = call.services.changes.details([found], messages=False)[0]
    return call.services.changes.patch_set(details, revision)


def _body(call: Call) -> JsonObject:
    return JsonObject.of(call.json())


def comment_input(path: str, raw: JsonObject) -> CommentInput:
    line = raw.whole("line", low=0)
    range_ = raw.raw("range")
    if range_ is not None:
        bounds = JsonObject.of(range_, raw.name("range"))
        keys = ("start_line", "start_character", "end_line", "end_character")
        if not all(k in bounds for k in keys):
            raise BadRequest(f"{raw.name('range')} needs {', '.join(keys)}")
        for key in keys:
            bounds.whole(key, low=0)
        line = line or bounds.whole("end_line")
    side = raw.choice("side", ("REVISION", "PARENT"), "REVISION")
    unresolved = raw.flag("unresolved") if "unresolved" in raw else None
    return CommentInput(path=path, message=raw.text("message"), line=line, range=range_,
                        side=side, in_reply_to=raw.optional_text("in_reply_to"),
                        unresolved=unresolved)


def post_review(call: Call, change: str, revision: str) -> Any:
    data = _body(call)
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    labels: dict[str, int] = {}
    for name, value in data.obj("labels").entries():
        # Out-of-range votes are the review service's to refuse (or clamp, when not strict).
        labels[name] = number_in(value, f"labels.{name}", -MAX_INT, MAX_INT)
    files = {f.path for f in call.services.merger.files(found.project, ps.sha)}
    comments = []
    # Robot comments (what Zuul posts for its file comments) are folded into comments, as
    # Gerrit 3.13 does: the robot's link goes into the message, the rest is dropped.
    for field in ("comments", "robot_comments"):
        for path, items in data.obj(field).entries():
            if path not in files and path not in ("/PATCHSET_LEVEL", "/COMMIT_MSG",
                                                  "/MERGE_LIST"):
                raise BadRequest(f"file {path} is not in patch set {ps.number}")
            if not isinstance(items, list):
                raise BadRequest(f"{field}.{path} must be a list")
            for i, item in enumerate(items):
                raw = JsonObject.of(item, f"{field}.{path}[{i}]")
                comment = comment_input(path, raw)
                if field == "robot_comments":
                    comment = _folded(comment, raw)
                comments.append(comment)
    review = ReviewInput(
        message=data.text("message"), labels=labels, comments=comments,
        tag=data.optional_text("tag"), strict_labels=data.flag("strict_labels", True),
        drafts=data.choice("drafts", ("KEEP", "PUBLISH", "PUBLISH_ALL_REVISIONS"), "KEEP"),
        ready=data.flag("ready"), work_in_progress=data.flag("work_in_progress"),
        add_to_attention_set=review_attention(data, "add_to_attention_set"),
        remove_from_attention_set=review_attention(data, "remove_from_attention_set"),
        ignore_automatic_attention_set_rules=data.flag(
            "ignore_automatic_attention_set_rules"))
    votes = call.services.review.review(call.who, found, ps, review)
    return {"labels": votes}


def _folded(comment: CommentInput, raw: JsonObject) -> CommentInput:
    """A robot comment as a comment: ``robot_id`` must be given; ``url`` is appended."""
    if not raw.text("robot_id"):
        raise BadRequest(f"{raw.name('robot_id')} is required for a robot comment")
    raw.text("robot_run_id")
    url = raw.optional_text("url")
    if url:
        comment = dataclasses.replace(comment, message=f"{comment.message}\n\n{url}")
    return comment


def robot_comments(call: Call, change: str, revision: str | None = None) -> Any:
    """Robot comments are stored as comments, so none are left to list here."""
    found = _change(call, change)
    if revision is not None:
        _patch_set(call, found, revision)
    return {}


def comment_info(row: Any, accounts: dict[int, Any]) -> dict[str, Any]:
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


def comments_map(call: Call, number: int, patch_set: int | None,
                  drafts_of: int | None = None) -> dict[str, list[dict[str, Any]]]:
    with call.services.db.read() as conn:
        rows = review_store.comments_of(conn, number, drafts_of, patch_set)
    accounts = call.services.accounts.accounts_by_ids({r.author_id for r in rows})
    result: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        result.setdefault(row.path, []).append(comment_info(row, accounts))
    return result


def list_comments(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    return comments_map(call, found.number, _patch_set(call, found, revision).number)


def list_change_comments(call: Call, change: str) -> Any:
    return comments_map(call, _change(call, change).number, None)


def list_files(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    if call.flag("reviewed"):  # the paths the caller marked reviewed, as Gerrit lists them
        return call.services.revision_notes.reviewed(call.who, found, ps)
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
    data = _body(call)
    found = _change(call, change)
    ps = _patch_set(call, found, revision)
    destination = data.text("destination")
    if not destination:
        raise BadRequest("cherry-pick needs a destination branch")
    number = call.services.revisions.cherry_pick(call.who, found, ps, destination,
                                                 data.optional_text("message"))
    return render_one(call, str(number))


def delete_change(call: Call, change: str) -> Any:
    call.services.deletion.delete(call.who, _change(call, change))
    return no_content()


def revert(call: Call, change: str) -> Any:
    data = _body(call)
    number = call.services.revisions.revert(call.who, _change(call, change),
                                            data.optional_text("message"),
                                            data.optional_text("topic"),
                                            data.flag("work_in_progress"))
    return render_one(call, str(number))


def move(call: Call, change: str) -> Any:
    data = _body(call)
    found = _change(call, change)
    call.services.revisions.move(call.who, found, data.text("destination_branch"),
                                 data.optional_text("message"), data.flag("keep_all_votes"))
    return render_one(call, str(found.number))


def mergeable(call: Call, change: str, revision: str) -> Any:
    found = _change(call, change)
    result = call.services.mergeability.check(found, _patch_set(call, found, revision))
    info: dict[str, Any] = {"submit_type": result.submit_type, "mergeable": result.mergeable}
    if result.submit_type != "FAST_FORWARD_ONLY":
        info["strategy"] = "recursive"
    if result.commit_merged:
        info["commit_merged"] = True
    if result.conflicts:
        info["conflicts"] = list(result.conflicts)
    return info


def abandon(call: Call, change: str) -> Any:
    call.services.review.abandon(call.who, _change(call, change), _body(call).text("message"))
    return render_one(call, change)


def restore(call: Call, change: str) -> Any:
    call.services.review.restore(call.who, _change(call, change), _body(call).text("message"))
    return render_one(call, change)


def rebase(call: Call, change: str, revision: str = "current") -> Any:
    base = _body(call).text("base")
    call.services.revisions.rebase(call.who, _change(call, change), base or None)
    return render_one(call, change)


def rebase_chain(call: Call, change: str) -> Any:
    """Gerrit's ``rebase:chain``: the chain ending at ``change`` onto its branch tip."""
    _body(call)
    found = _change(call, change)
    chain = call.services.submit.chain(found)
    if not all(call.services.changes.can_see(c, call.who) for c in chain):
        raise Forbidden(f"change {found.number} depends on changes you cannot see; their "
                        "owners must rebase them")
    call.services.revisions.rebase_chain(call.who, chain)
    return {"rebased_changes": [render_one(call, str(c.number)) for c in chain]}


def submit(call: Call, change: str, revision: str = "current") -> Any:
    _body(call)
    call.services.submit.submit(call.who, _change(call, change))
    return render_one(call, change)


def set_wip(call: Call, change: str) -> Any:
    call.services.review.set_wip(call.who, _change(call, change), True,
                                 _body(call).text("message"))
    return no_content()


def set_ready(call: Call, change: str) -> Any:
    call.services.review.set_wip(call.who, _change(call, change), False,
                                 _body(call).text("message"))
    return no_content()


def put_topic(call: Call, change: str) -> Any:
    topic = _body(call).text("topic")
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
    data = _body(call)
    add, remove = data.texts("add"), data.texts("remove")
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
    data = _body(call)
    key = data.text("reviewer")
    if not key:
        raise BadRequest("name the reviewer in 'reviewer'")
    state = data.text("state", "REVIEWER")
    account = call.services.review.add_reviewer(call.who, _change(call, change), key, state)
    info = account_info(account)
    field = "ccs" if state == "CC" else "reviewers"
    return {"input": key, field: [info]}


def delete_reviewer(call: Call, change: str, account: str) -> Any:
    call.services.review.remove_reviewer(call.who, _change(call, change), account)
    return no_content()


def list_votes(call: Call, change: str, account: str) -> Any:
    """The votes ``account`` gave on the current patch set, label to value."""
    found = _change(call, change)
    details = call.services.changes.details([found], messages=False)[0]
    wanted = call.services.accounts.get(account, call.who)
    return {v.label: v.value for v in details.approvals
            if v.account_id == wanted.id and v.patch_set == found.current_patch_set}


def delete_vote(call: Call, change: str, account: str, label: str) -> Any:
    found = _change(call, change)
    voter = call.services.accounts.get(account, call.who)
    call.services.review.delete_vote(call.who, found, voter.username, label)
    return no_content()


MAX_SUGGESTIONS = 100


def suggest_reviewers(call: Call, change: str) -> Any:
    """Accounts whose username, name or email starts with ``q`` and who may read the
    change's branch; for signed-in callers only, so the account list cannot be scraped."""
    if call.who.account is None:
        raise Unauthorized("suggesting reviewers needs you to sign in")
    found = _change(call, change)
    project = call.services.projects.exists(found.project)
    query = (call.query("q") or "").strip()
    if len(query) > 255:
        raise BadRequest("q must be at most 255 characters")
    limit = whole_number(call.query("n") or call.query("limit") or "10", "n", 1,
                         MAX_SUGGESTIONS)
    if not query:
        return []
    suggestions = []
    for account in call.services.accounts.matching(query, limit * 2):
        if account.id == found.owner_id:
            continue
        principal = call.services.accounts.principal(account)
        if call.services.projects.can(principal, project, acl.READ, f"refs/heads/{found.branch}"):
            suggestions.append({"account": account_info(account), "count": 1})
        if len(suggestions) == limit:
            break
    return suggestions


def put_message(call: Call, change: str) -> Any:
    call.services.revisions.set_message(call.who, _change(call, change),
                                        _body(call).text("message"))
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
    data = _body(call)
    number = call.services.revisions.create_change(
        call.who, data.text("project"), data.text("branch", "main"), data.text("subject"),
        data.optional_text("topic"))
    return Created(render_one(call, str(number)))


ROUTES: list[Route] = [
    ("POST", ("changes", ""), create_change),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "review"), post_review),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "comments"), list_comments),
    ("GET", ("changes", "{change}", "comments"), list_change_comments),
    ("GET", ("changes", "{change}", "robotcomments"), robot_comments),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "robotcomments"),
     robot_comments),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files"), list_files),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "files", ""), list_files),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "related"), related),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "cherrypick"), cherry_pick),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "rebase"), rebase),
    ("POST", ("changes", "{change}", "revisions", "{revision}", "submit"), submit),
    ("POST", ("changes", "{change}", "abandon"), abandon),
    ("POST", ("changes", "{change}", "revert"), revert),
    ("DELETE", ("changes", "{change}"), delete_change),
    ("POST", ("changes", "{change}", "move"), move),
    ("GET", ("changes", "{change}", "revisions", "{revision}", "mergeable"), mergeable),
    ("POST", ("changes", "{change}", "restore"), restore),
    ("POST", ("changes", "{change}", "rebase"), rebase),
    ("POST", ("changes", "{change}", "rebase:chain"), rebase_chain),
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
    ("DELETE", ("changes", "{change}", "reviewers", "{account}"), delete_reviewer),
    ("POST", ("changes", "{change}", "reviewers", "{account}", "delete"), delete_reviewer),
    ("GET", ("changes", "{change}", "suggest_reviewers"), suggest_reviewers),
    ("GET", ("changes", "{change}", "reviewers", "{account}", "votes"), list_votes),
    ("GET", ("changes", "{change}", "reviewers", "{account}", "votes", ""), list_votes),
    ("DELETE", ("changes", "{change}", "reviewers", "{account}", "votes", "{label}"),
     delete_vote),
    ("POST", ("changes", "{change}", "reviewers", "{account}", "votes", "{label}", "delete"),
     delete_vote),
    ("PUT", ("changes", "{change}", "message"), put_message),
    ("PUT", ("accounts", "{account}", "starred.changes", "{change}"), star),
    ("DELETE", ("accounts", "{account}", "starred.changes", "{change}"), unstar),
]
