"""Submitting changes: whether a change can merge, and merging it with the project's submit
type, together with its open ancestors in the relation chain.

The branch and the change status never disagree: a submission is recorded before the branch
moves and completed after, and ``recover`` finishes (or drops) any submission a crash left
half-done before the server takes new work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from keepgreen.domain import acl, events, requirements
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, NEW, Change, PatchSet, Person
from keepgreen.domain.project import Project
from keepgreen.domain.refs import ZERO
from keepgreen.git.merges import MergeConflict, Merger
from keepgreen.git.repos import GitError, Repos
from keepgreen.services.errors import Conflict, Forbidden, NotFound, Unauthorized
from keepgreen.services.review import attention
from keepgreen.services.review.changes import ChangeDetails
from keepgreen.services.review.patchsets import PatchSetWriter
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import accounts as account_store
from keepgreen.store import changes as store
from keepgreen.store import events as event_store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    change: Change
    patch_set: PatchSet


@dataclass(frozen=True)
class BranchMerge:
    """One branch's part of a submission: its tip before and after, and per change the
    commit that merges it."""

    project: str
    branch: str
    tip: str | None
    new_tip: str
    plan: list[dict[str, Any]]


class SubmitService:
    def __init__(self, db: Database, repos: Repos, merger: Merger, projects: ProjectService,
                 writer: PatchSetWriter, base_url: Any) -> None:
        self.db = db
        self.repos = repos
        self.merger = merger
        self.projects = projects
        self.writer = writer
        self._base_url = base_url
        # Gerrit's change.submitWholeTopic; set from the settings by the composition root,
        # with ``can_see`` (the review side's visibility rule) for the topic's changes.
        self.whole_topic = False
        self.can_see: Callable[[Change, Principal], bool] | None = None

    # -- can it merge? -----------------------------------------------------------------
    def facts(self, change: Change) -> requirements.ChangeFacts:
        project = self._project(change)
        with self.db.read() as conn:
            ps = _current(conn, change)
            rows = [v for v in store.approvals_of(conn, [change.number])[change.number]
                    if v.patch_set == change.current_patch_set]
            voters = account_store.accounts_by_ids(conn, {v.account_id for v in rows})
            groups = {a: account_store.group_names_of(conn, a) for a in voters}
            unresolved = review_store.comment_counts(conn, [change.number]).get(
                change.number, (0, 0))[1]
        votes = tuple(requirements.Vote(v.label, v.account_id, v.value,
                                        voters[v.account_id].username,
                                        frozenset(groups[v.account_id])) for v in rows)
        return requirements.ChangeFacts(
            number=change.number, status=change.status, project=change.project,
            branch=change.branch, owner_id=change.owner_id, uploader_id=ps.uploader_id,
            votes=votes, wip=change.wip, private=change.private, topic=change.topic,
            hashtags=change.hashtags, unresolved_comments=unresolved,
            has_ci_jobs=self.projects.has_ci_jobs(project))

    def facts_many(self, details: list[ChangeDetails], unresolved: dict[int, int],
                   projects: dict[str, Project]) -> dict[int, requirements.ChangeFacts]:
        """Facts for a page of changes from what the page already loaded (the details must
        hold the current patch set and its votes), with one query for voters' groups."""
        current = {d.change.number: [v for v in d.approvals
                                     if v.patch_set == d.change.current_patch_set]
                   for d in details}
        voter_ids = {v.account_id for rows in current.values() for v in rows}
        with self.db.read() as conn:
            groups = account_store.group_names_of_many(conn, voter_ids)
        result = {}
        for d in details:
            change = d.change
            votes = tuple(requirements.Vote(
                v.label, v.account_id, v.value,
                d.accounts[v.account_id].username if v.account_id in d.accounts else "",
                frozenset(groups.get(v.account_id, ()))) for v in current[change.number])
            result[change.number] = requirements.ChangeFacts(
                number=change.number, status=change.status, project=change.project,
                branch=change.branch, owner_id=change.owner_id,
                uploader_id=d.current.uploader_id, votes=votes, wip=change.wip,
                private=change.private, topic=change.topic, hashtags=change.hashtags,
                unresolved_comments=unresolved.get(change.number, 0),
                has_ci_jobs=self.projects.has_ci_jobs(projects[change.project]))
        return result

    @staticmethod
    def evaluate_facts(facts: requirements.ChangeFacts,
                       project: Project) -> list[requirements.RequirementResult]:
        return [requirements.evaluate(r, facts)
                for r in requirements.default_requirements(project.required_approvals)]

    def evaluate(self, change: Change) -> list[requirements.RequirementResult]:
        return self.evaluate_facts(self.facts(change), self._project(change))

    @staticmethod
    def verdict_of(change: Change,
                   results: list[requirements.RequirementResult]) -> requirements.Verdict:
        if change.status != NEW:
            return requirements.Verdict(False, (f"change is {change.status.lower()}",))
        result = requirements.verdict(results)
        if change.wip:
            return requirements.Verdict(False, ("change is work in progress",) + result.reasons)
        return result

    def verdict(self, change: Change) -> requirements.Verdict:
        if change.status != NEW:
            return self.verdict_of(change, [])
        return self.verdict_of(change, self.evaluate(change))

    # -- merging -----------------------------------------------------------------------
    def submit(self, who: Principal, change: Change, *, alone: bool = False) -> Change:
        """Merge ``change`` with its open ancestors; with ``submit_whole_topic`` on (and
        unless ``alone``, as the gate submits what it tested), every open change of its
        topic goes too, in every project and branch, or none does."""
        if who.account is None:
            raise Unauthorized("submitting needs you to sign in")
        self._may_submit(who, change)
        members = [change] if alone or not self.whole_topic else self._topic(who, change)
        merges = self._plan(who, members)
        self._apply(who, merges)
        with self.db.read() as conn:
            merged = store.change_by_number(conn, change.number)
        assert merged is not None
        return merged

    def _may_submit(self, who: Principal, change: Change) -> None:
        project = self._project(change)
        decision = acl.check(self.projects.rules(project), who.as_owner_of(change.owner_id),
                             acl.SUBMIT, "refs/heads/" + change.branch)
        if not decision:
            raise Forbidden(f"submitting is not permitted: {decision.reason}")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}")

    def _topic(self, who: Principal, change: Change) -> list[Change]:
        """What goes with ``change`` (``_together``), each one ``who`` may submit."""
        found = self._together(change)
        if self.can_see is not None:
            hidden = sum(not self.can_see(c, who) for c in found)
            if hidden:
                raise Conflict(f"cannot submit change {change.number}: {hidden} of the "
                               "changes its topic takes along are ones you cannot see")
        for member in found:
            if member.number != change.number:
                self._may_submit(who, member)
        return found

    def _together(self, change: Change) -> list[Change]:
        """``change``, the open changes of its topic, their open ancestors, the changes of
        those ancestors' topics, and so on until nothing new comes in, as Gerrit gathers
        a topic with ``submitWholeTopic``."""
        members, topics = {change.number: change}, set()
        pending = [change]
        while pending:
            member = pending.pop()
            project = self._project(member)
            tip = self.repos.resolve(project.name, "refs/heads/" + member.branch)
            try:
                related = [link.change for link in self._chain(member, project, tip)]
            except Conflict:
                related = [member]  # the plan says why it cannot merge
            for found in related:
                if found.topic and found.topic not in topics:
                    topics.add(found.topic)
                    with self.db.read() as conn:
                        related += store.open_changes_with_topic(conn, found.topic)
            for found in related:
                if found.number not in members:
                    members[found.number] = found
                    pending.append(found)
        return list(members.values())

    def _plan(self, who: Principal, members: list[Change]) -> list[BranchMerge]:
        """Per branch, the new tip merging every member with its open ancestors."""
        assert who.account is not None
        committer = Person(who.account.name, who.account.email or "", utcnow())
        groups: dict[tuple[str, str], list[Change]] = {}
        for member in sorted(members, key=lambda c: c.number):
            groups.setdefault((member.project, member.branch), []).append(member)
        merges = []
        for (name, branch), changes in groups.items():
            project = self._project(changes[0])
            tip = self.repos.resolve(name, "refs/heads/" + branch)
            current, plan, done = tip, [], set()
            for member in changes:
                chain = [link for link in self._chain(member, project, tip)
                         if link.change.number not in done]
                if not chain:
                    continue
                for link in chain:
                    verdict = self.verdict(link.change)
                    if not verdict.submittable:
                        if link.change.number != member.number:
                            which = f"change {link.change.number} it depends on"
                        elif len(members) == 1:
                            which = "this change"
                        else:
                            which = f"change {member.number} of topic {member.topic}"
                        raise Conflict(f"cannot submit: {which} cannot merge: "
                                       + "; ".join(verdict.reasons))
                current, part = self._merge(project, chain, current, committer)
                plan += part
                done |= {link.change.number for link in chain}
            assert current is not None
            merges.append(BranchMerge(name, branch, tip, current, plan))
        return merges

    def _apply(self, who: Principal, merges: list[BranchMerge]) -> None:
        """Record every submission, move the branches, then mark the changes merged. A
        branch that moved meanwhile stops the rest: what already moved is finished (the
        branch holds it), what did not is dropped, and the caller hears which."""
        assert who.account is not None
        now = utcnow()
        with self.db.write() as conn:
            started = [review_store.start_submission(
                conn, m.project, m.branch, m.tip or ZERO, m.new_tip, m.plan, who.account.id,
                now) for m in merges]
        moved = 0
        for merge in merges:
            try:
                self.repos.update_refs(merge.project, [("refs/heads/" + merge.branch,
                                                        merge.new_tip, merge.tip or ZERO)])
            except GitError:
                with self.db.write() as conn:
                    for rest in started[moved:]:
                        review_store.finish_submission(conn, rest, "ABORTED")
                self._finish_all(who, merges[:moved], started[:moved])
                done = (f"; {', '.join(m.project + ' ' + m.branch for m in merges[:moved])} "
                        "merged already") if moved else ""
                raise Conflict(f"branch {merge.branch} of {merge.project} moved while "
                               f"submitting; try again{done}") from None
            moved += 1
        self._finish_all(who, merges, started)

    def _finish_all(self, who: Principal, merges: list[BranchMerge],
                    started: list[int]) -> None:
        assert who.account is not None
        for merge, submission in zip(merges, started, strict=True):
            self._finish(submission, merge.project, merge.branch, merge.tip or ZERO,
                         merge.new_tip, merge.plan, who.account.id)

    def submitted_together(self, change: Change) -> list[Change]:
        """What submitting ``change`` would merge, newest first: the change and its open
        ancestors; empty when it would go alone (or cannot go at all), as Gerrit answers."""
        if change.status != NEW:
            return []
        members = self._together(change) if self.whole_topic else [change]
        together: dict[int, Change] = {}
        for member in members:
            project = self._project(member)
            tip = self.repos.resolve(project.name, "refs/heads/" + member.branch)
            try:
                chain = self._chain(member, project, tip)
            except Conflict:
                return []
            # Newest first: a change before its ancestors.
            for link in reversed(chain):
                together.setdefault(link.change.number, link.change)
        if len(together) < 2:
            return []
        if len(members) == 1:
            return list(together.values())
        return sorted(together.values(), key=lambda c: c.number, reverse=True)

    def chain(self, change: Change) -> list[Change]:
        """``change`` and its open ancestors not yet on the branch, oldest first, whatever
        the submit type; Conflict when the chain cannot be followed (an outdated parent)."""
        project = self._project(change)
        tip = self.repos.resolve(project.name, "refs/heads/" + change.branch)
        return [link.change for link in self._chain(change, project, tip, whole=True)]

    def _chain(self, change: Change, project: Project, tip: str | None,
               whole: bool = False) -> list[Link]:
        """The change and its open ancestors, oldest first (only the change itself where
        the project cherry-picks, unless ``whole``)."""
        with self.db.read() as conn:
            links = [Link(change, _current(conn, change))]
            if project.submit_type == "CHERRY_PICK" and not whole:
                return links
            while True:
                parents = links[0].patch_set.parents
                if not parents:
                    break
                parent = parents[0]
                if tip and self.repos.is_ancestor(project.name, parent, tip):
                    break
                holders = store.patch_sets_with_shas(conn, project.name, [parent])
                open_holders = [h for h in holders if h[3] == NEW]
                if not open_holders:
                    if tip is None:
                        break
                    if any(h[3] == MERGED for h in holders):
                        break
                    raise Conflict(f"change {links[0].change.number} depends on commit "
                                   f"{parent[:7]}, which is in no open change and not merged")
                number, ps_number = open_holders[0][0], open_holders[0][1]
                parent_change = store.change_by_number(conn, number)
                assert parent_change is not None
                if parent_change.branch != change.branch:
                    raise Conflict(f"change {links[0].change.number} depends on change "
                                   f"{number} of branch {parent_change.branch}")
                if ps_number != parent_change.current_patch_set:
                    raise Conflict(f"change {links[0].change.number} depends on outdated patch "
                                   f"set {ps_number} of change {number}; rebase it first")
                links.insert(0, Link(parent_change, _current(conn, parent_change)))
        return links

    def _merge(self, project: Project, chain: list[Link], tip: str | None,
               committer: Person) -> tuple[str, list[dict[str, Any]]]:
        """The new branch tip and, per change, the commit that merges it."""
        top = chain[-1].patch_set.sha
        kind = project.submit_type
        plan = [{"change": link.change.number, "sha": link.patch_set.sha, "rebased": False}
                for link in chain]
        fast_forward = tip is None or self.repos.is_ancestor(project.name, tip, top)
        try:
            if kind == "FAST_FORWARD_ONLY" and not fast_forward:
                raise Conflict(f"{project.name} only merges fast-forward; rebase change "
                               f"{chain[-1].change.number} onto {chain[-1].change.branch}")
            if tip is None or (fast_forward and kind in ("MERGE_IF_NECESSARY",
                                                         "FAST_FORWARD_ONLY",
                                                         "REBASE_IF_NECESSARY")):
                return top, plan
            if kind in ("MERGE_IF_NECESSARY", "MERGE_ALWAYS"):
                subject = chain[-1].change.subject
                message = f'Merge "{subject}"\n\nChange-Id: {chain[-1].change.change_id}\n'
                return self.merger.merge_commit(project.name, tip, top, message,
                                                committer), plan
            if kind == "CHERRY_PICK":
                picked = self.merger.cherry_pick(project.name, top, tip, committer)
                plan[-1].update(sha=picked, rebased=True)
                return picked, plan
            rebased = self.merger.rebase(project.name, [link.patch_set.sha for link in chain],
                                         tip, committer)
            for item, sha in zip(plan, rebased, strict=True):
                item.update(sha=sha, rebased=True)
            return rebased[-1], plan
        except MergeConflict as exc:
            raise Conflict(f"change {chain[-1].change.number} conflicts with "
                           f"{chain[-1].change.branch} in: {', '.join(exc.files)}") from None

    def _finish(self, submission: int, project: str, branch: str, old: str, new: str,
                plan: list[dict[str, Any]], submitter_id: int) -> None:
        now = utcnow()
        base_url = self._base_url()
        with self.db.write() as conn:
            submitter = account_store.account_by_id(conn, submitter_id)
            assert submitter is not None
            ref_updates = []
            for item in plan:
                change = store.change_by_number(conn, item["change"])
                if change is None or change.status == MERGED:
                    continue
                ps = _current(conn, change)
                if item["rebased"] and item["sha"] != ps.sha:
                    data = self.repos.read_commits(project, [item["sha"]])[0]
                    number = change.current_patch_set + 1
                    store.update_change(conn, change.number, current_patch_set=number)
                    written = self.writer.write(
                        conn, change.number, number, data, submitter, now, base_url,
                        previous=ps, message=f"Patch Set {number}: patch set {ps.number} "
                                             f"was rebased")
                    ref_updates.append(written.ref_update)
                    ps = written.patch_set
                store.update_change(conn, change.number, status=MERGED, submitted=now,
                                    submitter_id=submitter_id, updated=now)
                attention.clear(conn, change, "the change was merged", submitter_id, now)
                store.add_message(conn, change.number, ps.number, submitter_id,
                                  f"Change has been successfully merged by {submitter.name}",
                                  now, "autogenerated:gerrit:merged")
                merged = store.change_by_number(conn, change.number)
                assert merged is not None
                owner = account_store.account_by_id(conn, merged.owner_id)
                event_store.record(conn, "change-merged", events.change_event(
                    "change-merged", merged, owner, ps, base_url, now,
                    submitter=events.account_attr(submitter), newRev=new),
                    now, project=project, change_number=change.number)
            event_store.record(conn, "ref-updated", events.ref_updated(
                project, "refs/heads/" + branch, old, new, submitter, now), now,
                project=project)
            # A crash after these refs were written but before the store committed leaves
            # them in place; finishing again must accept what is already there.
            pending = []
            for ref, sha, _ in ref_updates:
                existing = self.repos.resolve(project, ref)
                if existing != sha:
                    pending.append((ref, sha, existing or ZERO))
            if pending:
                self.repos.update_refs(project, pending)
            review_store.finish_submission(conn, submission, "DONE")

    def recover(self) -> None:
        """Complete submissions whose branch moved, drop those whose branch did not."""
        with self.db.read() as conn:
            pending = review_store.pending_submissions(conn)
        for row in pending:
            tip = self.repos.resolve(row.project, "refs/heads/" + row.branch)
            if tip and (tip == row.new_sha or self.repos.is_ancestor(row.project,
                                                                     row.new_sha, tip)):
                log.info("finishing submission %s of %s", row.id, row.project)
                self._finish(row.id, row.project, row.branch, row.old_sha, row.new_sha,
                             row.plan, row.submitter_id)
            else:
                with self.db.write() as conn:
                    review_store.finish_submission(conn, row.id, "ABORTED")

    def _project(self, change: Change) -> Project:
        project = self.projects.exists(change.project)
        if project is None:
            raise NotFound(f"project {change.project} not found")
        return project


def _current(conn: Connection, change: Change) -> PatchSet:
    sets = store.patch_sets_of(conn, [change.number])[change.number]
    return next(ps for ps in sets if ps.number == change.current_patch_set)
