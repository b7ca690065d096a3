"""Draft comments: a reviewer's own unpublished comments, which only they see, edit and
delete until a review publishes them."""

from __future__ import annotations

import uuid
from typing import Any

from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change, PatchSet
from keepgreen.services.errors import BadRequest, NotFound, Unauthorized
from keepgreen.services.review.review import CommentInput
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

MAX_MESSAGE = 16 * 1024  # characters in one draft, as a published comment may hold


class DraftService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, who: Principal, change: Change, ps: PatchSet,
             comment: CommentInput) -> dict[str, Any]:
        """A new draft on ``ps``; the stored row as a mapping."""
        account_id = _signed_in(who)
        _check(comment)
        comment_id = uuid.uuid4().hex
        with self.db.write() as conn:
            review_store.add_comment(
                conn, id=comment_id, change_number=change.number, patch_set=ps.number,
                path=comment.path, side=comment.side, line=comment.line, range=comment.range,
                message=comment.message, author_id=account_id,
                in_reply_to=comment.in_reply_to, unresolved=bool(comment.unresolved),
                draft=True, updated=utcnow(), tag=None)
            row = review_store.comment_by_id(conn, comment_id)
        return dict(row._mapping) if row is not None else {}

    def get(self, who: Principal, change: Change, ps: PatchSet,
            draft_id: str) -> dict[str, Any]:
        """``who``'s draft ``draft_id`` on ``ps``; anyone else's is not found."""
        account_id = _signed_in(who)
        with self.db.read() as conn:
            row = review_store.comment_by_id(conn, draft_id)
        if (row is None or not row.draft or row.author_id != account_id
                or row.change_number != change.number or row.patch_set != ps.number):
            raise NotFound(f"no draft {draft_id} of yours on patch set {ps.number} of change "
                           f"{change.number}")
        return dict(row._mapping)

    def update(self, who: Principal, change: Change, ps: PatchSet, draft_id: str,
               comment: CommentInput) -> dict[str, Any]:
        self.get(who, change, ps, draft_id)
        _check(comment)
        with self.db.write() as conn:
            review_store.update_comment(
                conn, draft_id, path=comment.path, side=comment.side, line=comment.line,
                range=comment.range, message=comment.message,
                in_reply_to=comment.in_reply_to, unresolved=bool(comment.unresolved),
                updated=utcnow())
        return self.get(who, change, ps, draft_id)

    def delete(self, who: Principal, change: Change, ps: PatchSet, draft_id: str) -> None:
        self.get(who, change, ps, draft_id)
        with self.db.write() as conn:
            review_store.delete_comment(conn, draft_id)


def _signed_in(who: Principal) -> int:
    if who.account is None:
        raise Unauthorized("drafts need you to sign in")
    return who.account.id


def _check(comment: CommentInput) -> None:
    if not comment.path:
        raise BadRequest("a draft needs a path")
    if len(comment.message) > MAX_MESSAGE:
        raise BadRequest(f"a draft is at most {MAX_MESSAGE} characters")
