"""Receiving pushes: review uploads to ``refs/for/<branch>`` and direct ref updates.

git's receive-pack stores the pushed objects and hands every ref update to this service
(through the ``proc-receive`` hook). Uploads become changes and patch sets; direct updates
of branches and tags are checked against the access rules and applied by keepgreen, so
every accepted update is also recorded as an event.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from keepgreen.domain import acl, events, labels, pushopts, upload
from keepgreen.domain import attention as attention_rules
from keepgreen.domain.account import Account
from keepgreen.domain.change import Change, PatchSet
from keepgreen.domain.changeid import change_ids
from keepgreen.domain.changeid import subject as subject_of
from keepgreen.domain.project import Project
from keepgreen.domain.refs import (
    HEADS,
    TAGS,
    ZERO,
    parse_magic_branch,
    patch_set_ref,
    valid_branch_name,
)
from keepgreen.git import odb
from keepgreen.git.hook_server import PushContext
from keepgreen.git.repos import CommitData, FileStats, GitError, Repos
from keepgreen.services.review import attention
from keepgreen.services.review.changes import ChangeService
from keepgreen.services.review.patchsets import PatchSetWriter
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as store
from keepgreen.store import events as event_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

MAX_COMMITS = 1000


class Refused(Exception):
    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass
class Report:
    results: list[list[Any]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def ok(self, ref: str, **options: str) -> None:
        self.results.append([ref, "ok", None, {k.replace("_", "-"): v for k, v in options.items()}])

    def ng(self, ref: str, reason: str) -> None:
        self.results.append([ref, "ng", reason, {}])

    def as_dict(self) -> dict[str, Any]:
        return {"results": self.results, "messages": self.messages}


@dataclass(frozen=True)
class Uploaded:
    change: Change
    patch_set: PatchSet
    new: bool


class ReceiveService:
    def __init__(self, db: Database, repos: Repos, projects: ProjectService,
                 writer: PatchSetWriter) -> None:
        self.db = db
        self.repos = repos
        self.projects = projects
        self.writer = writer

    def handle(self, ctx: PushContext, commands: list[list[str]],
               push_options: list[str]) -> dict[str, Any]:
        report = Report()
        project = ctx.project_record or self.projects.exists(ctx.project)
        if project is not None and not ctx.rules:
            ctx = dataclasses.replace(ctx, rules=tuple(self.projects.rules(project)))
        for old, new, ref in commands:
            if project is None:
                report.ng(ref, f"project {ctx.project} not found")
                continue
            try:
                magic = parse_magic_branch(ref)
                if magic is not None:
                    self._upload(ctx, project, new, ref, magic.branch,
                                 list(magic.options) + push_options, report)
                else:
                    self._direct(ctx, project, old, new, ref, report)
            except Refused as refusal:
                report.messages.append(f"ERROR: {refusal.reason}")
                if refusal.hint:
                    report.messages.append(f"hint: {refusal.hint}")
                report.ng(ref, refusal.reason)
            except GitError as exc:
                log.warning("push to %s %s failed: %s", ctx.project, ref, exc)
                report.ng(ref, "the repository refused the update; try again")
        return report.as_dict()

    # -- direct updates of branches and tags ---------------------------------------------
    def _direct(self, ctx: PushContext, project: Project, old: str, new: str, ref: str,
                report: Report) -> None:
        who = ctx.principal
        if not ref.startswith((HEADS, TAGS)):
            raise Refused(f"{ref} is managed by keepgreen; push to refs/for/<branch> for review")
        if ref.startswith(HEADS) and not valid_branch_name(ref[len(HEADS):]):
            raise Refused(f"{ref} is not a valid branch name")
        if new == ZERO:
            needed = acl.FORCE_PUSH
        elif old == ZERO:
            needed = acl.CREATE
        elif ref.startswith(TAGS) or not self.repos.is_ancestor(project.name, old, new):
            needed = acl.FORCE_PUSH
        else:
            needed = acl.PUSH
        decision = acl.check(list(ctx.rules), who, needed, ref)
        if not decision:
            raise Refused(f"{decision.reason}; push to refs/for/<branch> for review instead"
                          if needed == acl.PUSH else decision.reason)
        now = utcnow()
        with self.db.write() as conn:
            event_store.record(conn, "ref-updated",
                               events.ref_updated(project.name, ref, old, new, who.account, now),
                               now, project=project.name)
            self.repos.update_refs(project.name, [(ref, new, old)])
        report.ok(ref)

    # -- review uploads ------------------------------------------------------------------
    def _upload(self, ctx: PushContext, project: Project, tip: str, ref: str, branch: str,
                raw_options: list[str], report: Report) -> None:
        who = ctx.principal
        if who.account is None:
            raise Refused("uploading changes needs you to sign in")
        decision = acl.check(list(ctx.rules), who, acl.PUSH, f"refs/for/{HEADS}{branch}")
        if not decision:
            raise Refused(decision.reason)
        if tip == ZERO:
            raise Refused("refs/for/ cannot be deleted")
        try:
            options = pushopts.parse(raw_options)
        except pushopts.PushOptionError as exc:
            raise Refused(str(exc)) from None
        branches = self.repos.ref_names(project.name, HEADS)
        if HEADS + branch not in branches:
            unborn = not branches and self.repos.head(project.name) == HEADS + branch
            if not unborn:
                raise Refused(f"branch {branch} not found in {project.name}")
        found = odb.new_commit_data(self.repos.path(project.name), tip, MAX_COMMITS)
        if len(found) > MAX_COMMITS:
            raise Refused(f"more than {MAX_COMMITS} new commits; split the push into "
                          "smaller series or ask an administrator to push them directly")
        commits = [c for c, _ in found]
        sizes = {c.sha: stats for c, stats in found}
        uploaded = self._store_upload(ctx, project, branch, commits, options, sizes)
        report.messages.extend(_summary(ctx.base_url, uploaded))
        # As on Gerrit, the client is told refs/for/<branch> was created; the change URLs
        # above say where the commits really went.
        report.ok(ref)

    def _store_upload(self, ctx: PushContext, project: Project, branch: str,
                      commits: list[CommitData], options: pushopts.PushOptions,
                      sizes: dict[str, FileStats]) -> list[Uploaded]:
        account = ctx.principal.account
        assert account is not None
        for label, value in options.labels.items():
            self._check_vote(ctx, project, branch, label, value)
        options.labels = {labels.find(k).name: v  # type: ignore[union-attr]
                          for k, v in options.labels.items()}
        by_sha = {c.sha: c for c in commits}
        new_refs: list[tuple[str, str]] = []
        try:
            return self._write_upload(ctx, project, branch, options, sizes, by_sha, account,
                                      new_refs)
        except BaseException:
            # The store kept nothing, so the patch-set refs must not stay either.
            odb.delete_refs(self.repos.path(project.name), new_refs)
            raise

    def _write_upload(self, ctx: PushContext, project: Project, branch: str,
                      options: pushopts.PushOptions, sizes: dict[str, FileStats],
                      by_sha: dict[str, CommitData], account: Account,
                      new_refs: list[tuple[str, str]]) -> list[Uploaded]:
        commits = list(by_sha.values())
        with self.db.write() as conn:
            ids = list({cid for c in commits for cid in change_ids(c.message)})
            known = {c.change_id: self._known(conn, ctx, c, sha)
                     for c, sha in store.known_on_branch(conn, project.name, branch, ids)}
            all_parents = {p for c in commits for p in c.parents}
            existing = store.patch_sets_with_shas(conn, project.name,
                                                  list(by_sha) + list(all_parents))
            uploaded_shas = {sha for _, _, sha, _ in existing}
            decision = upload.plan(
                [upload.Commit(c.sha, c.parents, c.message) for c in commits],
                known, uploaded_shas, branch,
                sets_state=options.wip is not None or options.private is not None)
            if isinstance(decision, upload.Refusal):
                raise Refused(decision.reason, decision.hint.format(url=ctx.base_url))
            people = self._resolve_people(conn, options)
            change_of_sha = {sha: n for n, _, sha, status in existing if status == "NEW"}
            now = utcnow()
            results: list[Uploaded] = []
            for action in decision:
                data = by_sha[action.commit.sha]
                parent_change = next((change_of_sha[p] for p in data.parents
                                      if p in change_of_sha), None)
                previous = None
                if isinstance(action, upload.NewChange):
                    number = store.add_change(
                        conn, project=project.name, branch=branch, change_id=action.change_id,
                        owner_id=account.id, subject=subject_of(data.message),
                        topic=options.topic, wip=bool(options.wip),
                        private=bool(options.private), now=now)
                    ps_number, new = 1, True
                else:
                    number = action.change.number
                    ps_number, new = action.change.current_patch_set + 1, False
                    previous = next(ps for ps in store.patch_sets_of(conn, [number])[number]
                                    if ps.number == action.change.current_patch_set)
                    values: dict[str, object] = {"current_patch_set": ps_number,
                                                 "subject": subject_of(data.message),
                                                 "updated": now}
                    if options.topic is not None:
                        values["topic"] = options.topic
                    if options.wip is not None:
                        values["wip"] = options.wip
                    if options.private is not None:
                        values["private"] = options.private
                    store.update_change(conn, number, **values)
                change_of_sha[data.sha] = number
                written = self.writer.write(conn, number, ps_number, data, account, now,
                                            ctx.base_url, parent_change, previous,
                                            _upload_message(ps_number, options),
                                            sizes.get(data.sha))
                self._apply_options(conn, number, ps_number, account, options, people, now)
                results.append(Uploaded(written.change, written.patch_set, new))
            new_refs += [(patch_set_ref(u.change.number, u.patch_set.number), u.patch_set.sha)
                         for u in results]
            # Refs last, inside the transaction: if writing them fails, nothing is stored.
            odb.create_refs(self.repos.path(project.name), new_refs)
        return results

    def _known(self, conn: Any, ctx: PushContext, change: Change,
               sha: str) -> upload.KnownChange:
        """An existing change as the upload decision sees it from the pusher's side."""
        who = ctx.principal
        owned = who.account is not None and who.account.id == change.owner_id
        denied = ""
        if not owned:
            decision = acl.check(list(ctx.rules), who, acl.ADD_PATCH_SET,
                                 f"refs/for/{HEADS}{change.branch}")
            denied = "" if decision else decision.reason
        return upload.KnownChange(
            change.number, change.change_id, change.status, change.current_patch_set, sha,
            visible=ChangeService.may_see_private(conn, change, who, list(ctx.rules)),
            owned=owned or who.is_admin, denied=denied)

    def _check_vote(self, ctx: PushContext, project: Project, branch: str, label: str,
                    value: int) -> None:
        found = labels.find(label)
        if found is None:
            names = ", ".join(t.name for t in labels.DEFAULT_LABELS)
            raise Refused(f"label {label!r} does not exist; labels are {names}")
        lo, hi = acl.label_range(list(ctx.rules), ctx.principal, found.name,
                                 HEADS + branch, (found.min, found.max))
        if not lo <= value <= hi:
            raise Refused(f"you may vote {found.name} only from {_prose(lo)} to {_prose(hi)}, "
                          f"not {_prose(value)}")

    def _resolve_people(self, conn: Any, options: pushopts.PushOptions) -> dict[str, Account]:
        people: dict[str, Account] = {}
        for key in options.reviewers + options.cc:
            found = account_store.find_account(conn, key)
            if found is None:
                raise Refused(f"reviewer {key!r} is not a registered account")
            people[key] = found
        return people

    def _apply_options(self, conn: Any, number: int, ps_number: int, account: Account,
                       options: pushopts.PushOptions, people: dict[str, Account],
                       now: Any) -> None:
        for key in options.reviewers:
            store.set_person(conn, number, people[key].id, "REVIEWER")
        for key in options.cc:
            store.set_person(conn, number, people[key].id, "CC")
        if options.reviewers:
            change = store.change_by_number(conn, number)
            assert change is not None
            party = attention.party(conn, change)
            attention.apply(conn, change, [
                turn for key in options.reviewers
                for turn in attention_rules.after_reviewer_added(party, people[key].id)],
                account.id, now)
        if options.hashtags:
            store.add_hashtags(conn, number, options.hashtags)
        for label, value in options.labels.items():
            store.set_approval(conn, number, ps_number, label, account.id, value, now)


def _prose(value: int) -> str:
    return f"{value:+d}" if value else "0"


def _upload_message(ps_number: int, options: pushopts.PushOptions) -> str:
    text = f"Uploaded patch set {ps_number}."
    votes = " ".join(f"{label}{value:+d}" for label, value in options.labels.items())
    if votes:
        text = f"Uploaded patch set {ps_number}: {votes}."
    if options.message:
        text += "\n\n" + options.message
    return text


def _summary(base_url: str, uploaded: list[Uploaded]) -> list[str]:
    lines = ["", "SUCCESS", ""]
    for title, group in (("New Changes:", [u for u in uploaded if u.new]),
                         ("Updated Changes:", [u for u in uploaded if not u.new])):
        if not group:
            continue
        lines.append(f"  {title}")
        for u in group:
            tags = []
            if u.new:
                tags.append("[NEW]")
            if u.change.wip:
                tags.append("[WIP]")
            if u.change.private:
                tags.append("[PRIVATE]")
            url = events.change_url(base_url, u.change)
            lines.append(f"    {url} {u.change.subject} {' '.join(tags)}".rstrip())
        lines.append("")
    return lines
