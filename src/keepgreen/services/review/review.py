"""Reviewing a change: votes, comments, and the owner's and reviewers' other actions.

Every action checks the caller's permission here, in one place, so REST, SSH and the web
UI share the decision; every refusal names what is missing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from keepgreen.domain import acl, events, labels
from keepgreen.domain import attention as attention_rules
from keepgreen.domain.account import Account, Principal
from keepgreen.domain.change import (
    ABANDONED,
    NEW,
    Change,
    PatchSet,
    clean_hashtag,
    hashtag_problem,
    topic_problem,
)
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review import attention
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as store
from keepgreen.store import events as event_store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

PATCHSET_LEVEL = "/PATCHSET_LEVEL"
SPECIAL_PATHS = (PATCHSET_LEVEL, "/COMMIT_MSG", "/MERGE_LIST")


@dataclass
class CommentInput:
    path: str
    message: str
    line: int | None = None
    range: dict[str, int] | None = None
    side: str = "REVISION"
    in_reply_to: str | None = None
    unresolved: bool | None = None


@dataclass
class ReviewInput:
    message: str = ""
    labels: dict[str, int] = field(default_factory=dict)
    comments: list[CommentInput] = field(default_factory=list)
    tag: str | None = None
    strict_labels: bool = True
    drafts: str = "KEEP"  # KEEP, PUBLISH or PUBLISH_ALL_REVISIONS
    ready: bool = False
    work_in_progress: bool = False
    # The attention set: (user, reason) pairs to add and remove, and whether to skip the
    # automatic rules for this reply.
    add_to_attention_set: list[tuple[str, str]] = field(default_factory=list)
    remove_from_attention_set: list[tuple[str, str]] = field(default_factory=list)
    ignore_automatic_attention_set_rules: bool = False


class ReviewService:
    def __init__(self, db: Database, projects: ProjectService, changes: ChangeService,
                 base_url: Any) -> None:
        self.db = db
        self.projects = projects
        self.changes = changes
        self._base_url = base_url

    # -- permissions -------------------------------------------------------------------
    def _rules(self, change: Change) -> list[acl.Rule]:
        project = self.projects.exists(change.project)
        if project is None:
            raise NotFound(f"project {change.project} not found")
        return self.projects.rules(project)

    def can(self, who: Principal, change: Change, permission: str,
            rules: list[acl.Rule] | None = None) -> acl.Decision:
        """May ``who`` do ``permission`` on ``change``? ``rules`` saves reading them again
        when the caller already has the project's rules."""
        return acl.check(self._rules(change) if rules is None else rules,
                         who.as_owner_of(change.owner_id), permission,
                         "refs/heads/" + change.branch)

    def permitted(self, who: Principal, change: Change,
                  rules: list[acl.Rule] | None = None) -> dict[str, tuple[int, int]]:
        """The range the caller may vote on each label of ``change``."""
        if who.account is None:
            return {}
        rules = self._rules(change) if rules is None else rules
        owner_view = who.as_owner_of(change.owner_id)
        ranges = {}
        for label in labels.DEFAULT_LABELS:
            lo, hi = acl.label_range(rules, owner_view, label.name,
                                     "refs/heads/" + change.branch, (label.min, label.max))
            if (lo, hi) != (0, 0):
                ranges[label.name] = (lo, hi)
        return ranges

    def _require(self, who: Principal, change: Change, permission: str, action: str) -> None:
        if who.account is None:
            raise Unauthorized(f"{action} needs you to sign in")
        decision = self.can(who, change, permission)
        if not decision:
            raise Forbidden(f"{action} is not permitted: {decision.reason}")

    # -- votes and comments ------------------------------------------------------------
    def review(self, who: Principal, change: Change, ps: PatchSet,
               review: ReviewInput) -> dict[str, int]:
        """Apply a review; returns the votes as recorded (after any clamping)."""
        if who.account is None:
            raise Unauthorized("reviewing needs you to sign in")
        votes = self._checked_votes(who, change, ps, review)
        now = utcnow()
        with self.db.write() as conn:
            old = {v.label: v.value for v in store.approvals_of(conn, [change.number])
                   [change.number]
                   if v.patch_set == ps.number and v.account_id == who.account.id}
            for label, value in votes.items():
                if value == 0:
                    store.remove_approval(conn, change.number, ps.number, label, who.account.id)
                else:
                    store.set_approval(conn, change.number, ps.number, label, who.account.id,
                                       value, now, review.tag)
            if votes:
                store.set_person(conn, change.number, who.account.id, "REVIEWER")
            count = self._store_comments(conn, change, ps, who.account, review, now)
            if review.drafts in ("PUBLISH", "PUBLISH_ALL_REVISIONS"):
                count += review_store.publish_drafts(
                    conn, change.number, who.account.id,
                    ps.number if review.drafts == "PUBLISH" else None, now)
            text = _review_message(ps.number, votes, count, review.message)
            store.add_message(conn, change.number, ps.number, who.account.id, text, now,
                              review.tag)
            updates: dict[str, object] = {"updated": now}
            if review.ready or review.work_in_progress:
                updates["wip"] = review.work_in_progress
            store.update_change(conn, change.number, **updates)
            self._reply_attention(conn, who, change, review, votes, now)
            current = {**old, **votes}
            descriptions = {lt.name: lt.name for lt in labels.DEFAULT_LABELS}
            self._event(conn, "comment-added", change, ps, now,
                        author=events.account_attr(who.account), comment=text,
                        approvals=events.approvals_attr(current, old, descriptions))
        return votes

    def _reply_attention(self, conn: Connection, who: Principal, change: Change,
                         review: ReviewInput, votes: dict[str, int], now: datetime) -> None:
        assert who.account is not None
        fresh = store.change_by_number(conn, change.number) or change
        if fresh.status != NEW:
            return
        if review.work_in_progress:
            attention.clear(conn, fresh, "the change was set to work in progress",
                            who.account.id, now)
            return
        people = attention.party(conn, fresh)
        turns = ([] if review.ignore_automatic_attention_set_rules else
                 attention_rules.after_reply(people, who.account.id,
                                             any(v < 0 for v in votes.values()))
                 + _thread_turns(conn, people, fresh, who.account.id, now))
        for wanted, add in ((review.add_to_attention_set, True),
                            (review.remove_from_attention_set, False)):
            for user, reason in wanted:
                account = account_store.find_account(conn, user)
                if account is None:
                    raise BadRequest(f"{user!r} in the attention set input is not a "
                                     "registered account")
                if add and not people.may_hold(account.id):
                    raise BadRequest(f"{account.username} cannot be in the attention set of "
                                     f"change {change.number}: not its owner, uploader, a "
                                     "reviewer or a CC, or a service user")
                turns = [t for t in turns if t.account_id != account.id]
                turns.append(attention_rules.Turn(account.id, add, reason or "replied"))
        attention.apply(conn, fresh, turns, who.account.id, now)

    def _checked_votes(self, who: Principal, change: Change, ps: PatchSet,
                       review: ReviewInput) -> dict[str, int]:
        if not review.labels:
            return {}
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}; "
                           "votes can no longer change")
        if ps.number != change.current_patch_set:
            raise Conflict(f"patch set {ps.number} is not current; vote on patch set "
                           f"{change.current_patch_set}")
        permitted = self.permitted(who, change)
        votes: dict[str, int] = {}
        for name, value in review.labels.items():
            label = labels.find(name)
            if label is None:
                raise BadRequest(f"label {name!r} does not exist; labels are "
                                 + ", ".join(lt.name for lt in labels.DEFAULT_LABELS))
            if not isinstance(value, int) or isinstance(value, bool):
                raise BadRequest(f"the vote for {label.name} must be a whole number")
            lo, hi = permitted.get(label.name, (0, 0))
            if not lo <= value <= hi:
                if review.strict_labels:
                    allowed = (f"from {_prose(lo)} to {_prose(hi)}"
                               if (lo, hi) != (0, 0) else "not at all")
                    raise Forbidden(f"you may vote {label.name} {allowed}, not {_prose(value)}")
                value = max(lo, min(hi, value))
            votes[label.name] = value
        return votes

    def _store_comments(self, conn: Connection, change: Change, ps: PatchSet,
                        author: Account, review: ReviewInput, now: datetime) -> int:
        for comment in review.comments:
            parent = (review_store.comment_by_id(conn, comment.in_reply_to)
                      if comment.in_reply_to else None)
            if comment.in_reply_to and (
                    parent is None or parent.change_number != change.number
                    or (parent.draft and parent.author_id != author.id)):
                raise BadRequest(f"comment {comment.in_reply_to} to reply to does not exist "
                                 f"on change {change.number}")
            unresolved = comment.unresolved
            if unresolved is None:
                unresolved = bool(parent.unresolved) if parent is not None else False
            review_store.add_comment(
                conn, id=uuid.uuid4().hex, change_number=change.number, patch_set=ps.number,
                path=comment.path, side=comment.side, line=comment.line,
                range=comment.range, message=comment.message, author_id=author.id,
                in_reply_to=comment.in_reply_to, unresolved=unresolved, draft=False,
                updated=now, tag=review.tag)
        return len(review.comments)

    # -- state changes -----------------------------------------------------------------
    def abandon(self, who: Principal, change: Change, message: str = "") -> None:
        self._require(who, change, acl.ABANDON, "abandoning this change")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}, not open")
        self._set_status(who, change, ABANDONED, "Abandoned", message, "change-abandoned",
                         "abandoner")

    def restore(self, who: Principal, change: Change, message: str = "") -> None:
        self._require(who, change, acl.ABANDON, "restoring this change")
        if change.status != ABANDONED:
            raise Conflict(f"change {change.number} is {change.status.lower()}, "
                           "not abandoned")
        self._set_status(who, change, NEW, "Restored", message, "change-restored", "restorer")

    def _set_status(self, who: Principal, change: Change, status: str, verb: str,
                    message: str, event: str, actor_field: str) -> None:
        assert who.account is not None
        now = utcnow()
        with self.db.write() as conn:
            store.update_change(conn, change.number, status=status, updated=now)
            if status != NEW:
                attention.clear(conn, change, f"the change was {verb.lower()}",
                                who.account.id, now)
            text = verb + (f"\n\n{message}" if message else "")
            store.add_message(conn, change.number, change.current_patch_set, who.account.id,
                              text, now, f"autogenerated:gerrit:{verb.lower()}")
            ps = self._current(conn, change)
            self._event(conn, event, store.change_by_number(conn, change.number) or change, ps,
                        now, **{actor_field: events.account_attr(who.account),
                                "reason": message})

    def set_topic(self, who: Principal, change: Change, topic: str | None) -> None:
        self._require(who, change, acl.EDIT_TOPIC, "setting the topic")
        problem = topic_problem(topic) if topic is not None else None
        if problem:
            raise BadRequest(problem)
        assert who.account is not None
        now = utcnow()
        with self.db.write() as conn:
            store.update_change(conn, change.number, topic=topic or None, updated=now)
            text = (f"Topic set to {topic}" if topic else "Topic removed")
            store.add_message(conn, change.number, change.current_patch_set, who.account.id,
                              text, now, "autogenerated:gerrit:setTopic")
            self._event(conn, "topic-changed", store.change_by_number(conn, change.number)
                        or change, self._current(conn, change), now,
                        changer=events.account_attr(who.account), oldTopic=change.topic or "")

    def set_wip(self, who: Principal, change: Change, wip: bool, message: str = "") -> None:
        if who.account is None or (who.account.id != change.owner_id and not who.is_admin):
            raise Forbidden("only the change owner may change its work-in-progress state")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}")
        now = utcnow()
        with self.db.write() as conn:
            store.update_change(conn, change.number, wip=wip, updated=now)
            if wip:
                assert who.account is not None
                attention.clear(conn, change, "the change was set to work in progress",
                                who.account.id, now)
            text = ("Set Work In Progress" if wip else "Set Ready For Review") + (
                f"\n\n{message}" if message else "")
            store.add_message(conn, change.number, change.current_patch_set, who.account.id,
                              text, now, None)
            self._event(conn, "wip-state-changed", store.change_by_number(conn, change.number)
                        or change, self._current(conn, change), now,
                        changer=events.account_attr(who.account))

    def set_private(self, who: Principal, change: Change, private: bool) -> None:
        if who.account is None or (who.account.id != change.owner_id and not who.is_admin):
            raise Forbidden("only the change owner may make it private or public")
        now = utcnow()
        with self.db.write() as conn:
            store.update_change(conn, change.number, private=private, updated=now)
            self._event(conn, "private-state-changed",
                        store.change_by_number(conn, change.number) or change,
                        self._current(conn, change), now,
                        changer=events.account_attr(who.account))

    def hashtags(self, who: Principal, change: Change, add: list[str],
                 remove: list[str]) -> list[str]:
        self._require(who, change, acl.EDIT_TOPIC, "editing hashtags")
        assert who.account is not None
        for tag in add:
            problem = hashtag_problem(tag)
            if problem:
                raise BadRequest(problem)
        now = utcnow()
        with self.db.write() as conn:
            store.add_hashtags(conn, change.number, [clean_hashtag(t) for t in add])
            if remove:
                store.remove_hashtags(conn, change.number, remove)
            store.update_change(conn, change.number, updated=now)
            updated = store.change_by_number(conn, change.number) or change
            self._event(conn, "hashtags-changed", updated, self._current(conn, change), now,
                        editor=events.account_attr(who.account), added=add, removed=remove,
                        hashtags=list(updated.hashtags))
        return list(updated.hashtags)

    def add_reviewer(self, who: Principal, change: Change, key: str,
                     state: str = "REVIEWER") -> Account:
        if who.account is None:
            raise Unauthorized("adding reviewers needs you to sign in")
        if state not in ("REVIEWER", "CC"):
            raise BadRequest("state must be REVIEWER or CC")
        now = utcnow()
        with self.db.write() as conn:
            account = account_store.find_account(conn, key)
            if account is None:
                raise BadRequest(f"{key!r} is not a registered account")
            store.set_person(conn, change.number, account.id, state)
            store.update_change(conn, change.number, updated=now)
            fresh = store.change_by_number(conn, change.number) or change
            if fresh.status == NEW and state == "REVIEWER":
                attention.apply(conn, fresh, attention_rules.after_reviewer_added(
                    attention.party(conn, fresh), account.id), who.account.id, now)
            self._event(conn, "reviewer-added", change, self._current(conn, change), now,
                        reviewer=events.account_attr(account),
                        adder=events.account_attr(who.account))
        return account

    def remove_reviewer(self, who: Principal, change: Change, key: str) -> None:
        """Take ``key`` off the change with their votes on the current patch set, as Gerrit
        lets the change owner, the reviewer themselves and the project's owners do."""
        if who.account is None:
            raise Unauthorized("removing reviewers needs you to sign in")
        now = utcnow()
        with self.db.write() as conn:
            account = account_store.find_account(conn, key)
            people = {a for a, _ in store.people_of(conn, [change.number])[change.number]}
            ps = self._current(conn, change)
            votes = [row for row in store.approvals_of(conn, [change.number])[change.number]
                     if account is not None and row.account_id == account.id
                     and row.patch_set == ps.number]
            if account is None or (account.id not in people and not votes):
                raise NotFound(f"{key} is not a reviewer of change {change.number}")
            self._may_remove(who, change, account, account.username)
            store.remove_person(conn, change.number, account.id)
            attention.apply(conn, change, [attention_rules.Turn(
                account.id, False, "removed as a reviewer")], who.account.id, now)
            for row in votes:
                store.remove_approval(conn, change.number, ps.number, row.label, account.id)
            removed = ", ".join(f"{row.label}{labels.signed(row.value)}" for row in votes
                                if row.value)
            text = f"Removed reviewer {account.name or account.username}" + (
                f" with the following votes:\n\n* {removed}" if removed else "") + "."
            store.add_message(conn, change.number, ps.number, who.account.id, text, now)
            store.update_change(conn, change.number, updated=now)
            self._event(conn, "reviewer-deleted", change, ps, now,
                        reviewer=events.account_attr(account),
                        remover=events.account_attr(who.account),
                        approvals=[{"type": row.label, "value": str(row.value)}
                                   for row in votes], comment=text)

    def _may_remove(self, who: Principal, change: Change, account: Account,
                    what: str) -> None:
        """Reviewers and their votes are taken away by the change owner, the reviewer
        themselves and the project's owners (core members may not: a -2 is the owner's
        call)."""
        assert who.account is not None
        if who.account.id in (change.owner_id, account.id):
            return
        if not acl.check(self._rules(change), who, acl.OWNER, "refs/*"):
            raise Forbidden(f"only the change owner, {account.username} or an owner of "
                            f"{change.project} may remove {what}")

    def delete_vote(self, who: Principal, change: Change, key: str, label: str) -> None:
        """Remove ``key``'s vote on ``label`` of the current patch set (as the change owner,
        the voter or a project owner may); the voter gets the turn to look again."""
        if who.account is None:
            raise Unauthorized("removing votes needs you to sign in")
        now = utcnow()
        with self.db.write() as conn:
            account = account_store.find_account(conn, key)
            ps = self._current(conn, change)
            vote = next((row for row in store.approvals_of(conn, [change.number])
                         [change.number]
                         if account is not None and row.account_id == account.id
                         and row.patch_set == ps.number and row.label.lower() == label.lower()
                         and row.value), None)
            if account is None or vote is None:
                raise NotFound(f"{key} has no {label} vote on change {change.number}")
            self._may_remove(who, change, account, f"{account.username}'s vote")
            store.remove_approval(conn, change.number, ps.number, vote.label, account.id)
            text = (f"Removed {vote.label}{labels.signed(vote.value)} by "
                    f"{account.name or account.username}")
            store.add_message(conn, change.number, ps.number, who.account.id, text, now,
                              "autogenerated:gerrit:deleteVote")
            store.update_change(conn, change.number, updated=now)
            if change.status == NEW and account.id != who.account.id:
                attention.apply(conn, change, attention_rules.after_vote_removed(
                    attention.party(conn, change), account.id), who.account.id, now)
            self._event(conn, "vote-deleted", change, ps, now,
                        reviewer=events.account_attr(account),
                        remover=events.account_attr(who.account),
                        approvals=[{"type": vote.label, "value": "0",
                                    "oldValue": str(vote.value)}], comment=text)

    def star(self, who: Principal, change: Change, on: bool) -> None:
        if who.account is None:
            raise Unauthorized("starring needs you to sign in")
        with self.db.write() as conn:
            review_store.set_star(conn, who.account.id, change.number, on)

    # -- helpers -----------------------------------------------------------------------
    def _current(self, conn: Connection, change: Change) -> PatchSet:
        sets = store.patch_sets_of(conn, [change.number])[change.number]
        return next(ps for ps in sets if ps.number == change.current_patch_set)

    def _event(self, conn: Connection, type_: str, change: Change, ps: PatchSet,
               now: datetime, **extra: Any) -> None:
        owner = account_store.account_by_id(conn, change.owner_id)
        payload = events.change_event(type_, change, owner, ps, self._base_url(), now, **extra)
        event_store.record(conn, type_, payload, now, project=change.project,
                           change_number=change.number)


def _prose(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _review_message(ps: int, votes: dict[str, int], comments: int, message: str) -> str:
    head = f"Patch Set {ps}:"
    if votes:
        head += " " + " ".join(f"{label}{labels.signed(v)}" if v else f"-{label}"
                               for label, v in votes.items())
    parts = [head]
    if comments:
        parts.append(f"({comments} comment{'s' if comments != 1 else ''})")
    if message:
        parts.append(message)
    return "\n\n".join(parts)


def _thread_turns(conn: Connection, people: attention_rules.Party, change: Change,
                  replier_id: int, now: datetime) -> list[attention_rules.Turn]:
    """The attention turns of the comment replies ``replier_id`` published at ``now``."""
    published = review_store.comments_of(conn, change.number)
    parent = {row.id: row.in_reply_to for row in published}
    author = {row.id: row.author_id for row in published}

    def root(comment_id: str) -> str:
        seen = set()
        while parent.get(comment_id) and comment_id not in seen:
            seen.add(comment_id)
            comment_id = parent[comment_id]
        return comment_id

    members: dict[str, set[int]] = {}
    for row in published:
        members.setdefault(root(row.id), set()).add(row.author_id)
    threads = [attention_rules.Thread(frozenset(members[root(row.id)] - {replier_id}),
                                      bool(row.unresolved))
               for row in published
               if row.in_reply_to and author[row.id] == replier_id and row.updated == now]
    if not threads:
        return []
    code_reviewed = frozenset(
        v.account_id for v in store.approvals_of(conn, [change.number])[change.number]
        if v.patch_set == change.current_patch_set and v.label == "Code-Review")
    return attention_rules.after_thread_replies(people, replier_id, threads, code_reviewed)
