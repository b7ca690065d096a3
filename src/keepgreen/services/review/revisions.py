"""New patch sets and changes made on the server: rebase, commit-message edits,
cherry-picks, and changes created through the API."""

from __future__ import annotations

import hashlib
from datetime import UTC
from typing import Any

from keepgreen.domain import acl
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, NEW, Change, PatchSet, Person, topic_problem
from keepgreen.domain.changeid import change_ids, subject
from keepgreen.domain.refs import valid_branch_name
from keepgreen.git.merges import MergeConflict, Merger
from keepgreen.git.repos import EMPTY_TREE, Repos
from keepgreen.services.errors import BadRequest, Conflict, Forbidden, Unauthorized
from keepgreen.services.review.patchsets import PatchSetWriter
from keepgreen.services.review.projects import ProjectService
from keepgreen.store import changes as store
from keepgreen.store import review as review_store
from keepgreen.store.clock import utcnow
from keepgreen.store.db import Database


class RevisionService:
    def __init__(self, db: Database, repos: Repos, merger: Merger, projects: ProjectService,
                 writer: PatchSetWriter, base_url: Any) -> None:
        self.db = db
        self.repos = repos
        self.merger = merger
        self.projects = projects
        self.writer = writer
        self._base_url = base_url

    def _who(self, who: Principal, action: str) -> Person:
        if who.account is None:
            raise Unauthorized(f"{action} needs you to sign in")
        return Person(who.account.name, who.account.email or "", utcnow())

    def current_patch_set(self, change: Change) -> PatchSet:
        """The change's current patch set, as stored."""
        with self.db.read() as conn:
            sets = store.patch_sets_of(conn, [change.number])[change.number]
        return next(ps for ps in sets if ps.number == change.current_patch_set)

    def _new_patch_set(self, who: Principal, change: Change, sha: str, message: str) -> None:
        assert who.account is not None
        data = self.repos.read_commits(change.project, [sha])[0]
        now = utcnow()
        with self.db.write() as conn:
            fresh = store.change_by_number(conn, change.number)
            assert fresh is not None
            if fresh.current_patch_set != change.current_patch_set:
                raise Conflict(f"change {change.number} got a new patch set meanwhile; retry")
            previous = next(ps for ps in store.patch_sets_of(conn, [change.number])
                            [change.number] if ps.number == change.current_patch_set)
            number = change.current_patch_set + 1
            store.update_change(conn, change.number, current_patch_set=number,
                                subject=subject(data.message), updated=now)
            written = self.writer.write(conn, change.number, number, data, who.account, now,
                                        self._base_url(), previous.parent_change, previous,
                                        message)
            self.repos.update_refs(change.project, [written.ref_update])

    def add_patch_set(self, who: Principal, change: Change, sha: str, message: str) -> None:
        """Commit ``sha`` (already in the change's repository) as the change's next patch
        set, with ``message`` as the change message; refused if another one came first."""
        self._new_patch_set(who, change, sha, message)

    def rebase(self, who: Principal, change: Change, base: str | None) -> None:
        """Rebase the current patch set onto the branch tip (or ``base``)."""
        committer = self._who(who, "rebasing")
        project = self.projects.exists(change.project)
        assert project is not None
        decision = acl.check(self.projects.rules(project), who.as_owner_of(change.owner_id),
                             acl.REBASE, "refs/heads/" + change.branch)
        if not decision:
            raise Forbidden(f"rebasing is not permitted: {decision.reason}")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}")
        ps = self.current_patch_set(change)
        onto = self.repos.resolve(change.project, base or "refs/heads/" + change.branch)
        if onto is None:
            raise BadRequest(f"base {base or change.branch} not found")
        if ps.parents and ps.parents[0] == onto:
            raise Conflict("change is already up to date")
        try:
            new = self.merger.cherry_pick(change.project, ps.sha, onto, committer)
        except MergeConflict as exc:
            raise Conflict(f"rebasing change {change.number} conflicts in: "
                           f"{', '.join(exc.files)}") from None
        self._new_patch_set(who, change, new, f"Patch Set {ps.number + 1}: "
                                              f"Patch Set {ps.number} was rebased")

    def rebase_chain(self, who: Principal, chain: list[Change]) -> list[int]:
        """Rebase a relation chain (oldest first) onto its branch tip: each change whose
        parent moved gets a new patch set. Every commit is made before any patch set is
        written, so a conflict anywhere leaves the whole chain as it was. The numbers of
        the changes that got a new patch set."""
        committer = self._who(who, "rebasing")
        top = chain[-1]
        project = self.projects.exists(top.project)
        assert project is not None
        rules = self.projects.rules(project)
        for change in chain:
            decision = acl.check(rules, who.as_owner_of(change.owner_id), acl.REBASE,
                                 "refs/heads/" + change.branch)
            if not decision:
                raise Forbidden(f"rebasing change {change.number} is not permitted: "
                                f"{decision.reason}")
            if change.status != NEW:
                raise Conflict(f"change {change.number} is {change.status.lower()}")
        base = self.repos.resolve(top.project, "refs/heads/" + top.branch)
        if base is None:
            raise Conflict(f"branch {top.branch} not found")
        planned: list[tuple[Change, PatchSet, str]] = []
        for change in chain:
            ps = self.current_patch_set(change)
            if ps.parents and ps.parents[0] == base and not planned:
                base = ps.sha  # already on the tip: nothing to do for this one
                continue
            try:
                base = self.merger.cherry_pick(change.project, ps.sha, base, committer)
            except MergeConflict as exc:
                raise Conflict(f"rebasing change {change.number} conflicts in: "
                               f"{', '.join(exc.files)}") from None
            planned.append((change, ps, base))
        if not planned:
            raise Conflict("the whole chain is already up to date")
        for change, ps, sha in planned:
            self._new_patch_set(who, change, sha, f"Patch Set {ps.number + 1}: Patch Set "
                                                  f"{ps.number} was rebased")
        return [change.number for change, _, _ in planned]

    def _checked_message(self, who: Principal, change: Change, message: str) -> str:
        """``message`` as the change's next commit message (with its Change-Id footer), or
        the refusal of an edit the caller may not make."""
        self._who(who, "editing the commit message")
        assert who.account is not None
        if who.account.id != change.owner_id and not who.is_admin:
            raise Forbidden("only the change owner may edit its commit message")
        if not message.strip():
            raise BadRequest("the commit message must not be empty")
        if change_ids(message) and change.change_id not in change_ids(message):
            raise BadRequest("the Change-Id footer must stay " + change.change_id)
        if not change_ids(message):
            message = message.rstrip("\n") + f"\n\nChange-Id: {change.change_id}\n"
        if self.current_patch_set(change).message == message:
            raise Conflict("new commit message is the same as the current one")
        return message

    def set_message(self, who: Principal, change: Change, message: str) -> None:
        """A new patch set with ``message`` as its commit message, at once (Gerrit's
        ``PUT /changes/{id}/message``); refused while the caller has a change edit."""
        message = self._checked_message(who, change, message)
        assert who.account is not None
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}")
        with self.db.read() as conn:
            if review_store.get_edit(conn, change.number, who.account.id) is not None:
                raise Conflict(f"change {change.number} has a change edit of yours; publish "
                               "or delete it first")
        self._recommit(who, change, message)

    def _recommit(self, who: Principal, change: Change, message: str) -> None:
        """The current patch set again with another commit message, as a new patch set."""
        committer = self._who(who, "changing the commit message")
        ps = self.current_patch_set(change)
        env = {"GIT_AUTHOR_NAME": ps.author.name, "GIT_AUTHOR_EMAIL": ps.author.email,
               "GIT_AUTHOR_DATE": _date(ps.author), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _date(committer)}
        args = ["commit-tree", f"{ps.sha}^{{tree}}"]
        for parent in ps.parents:
            args += ["-p", parent]
        new = self.repos.run(change.project, *args, input_text=message, env=env).strip()
        self._new_patch_set(who, change, new, f"Patch Set {ps.number + 1}: Commit message "
                                              "was updated.")

    def cherry_pick(self, who: Principal, change: Change, ps: PatchSet, destination: str,
                    message: str | None) -> int:
        """Cherry-pick ``ps`` onto branch ``destination`` as a new change; its number."""
        committer = self._who(who, "cherry-picking")
        destination = destination.removeprefix("refs/heads/")
        project = self.projects.exists(change.project)
        assert project is not None and who.account is not None
        if not self.projects.can(who, project, acl.READ, "refs/heads/" + destination):
            raise BadRequest(f"branch {destination} not found")  # as if it did not exist
        decision = self.projects.can(who, project, acl.PUSH,
                                     "refs/for/refs/heads/" + destination)
        if not decision:
            raise Forbidden(f"cherry-picking is not permitted: {decision.reason}")
        tip = self.repos.resolve(change.project, "refs/heads/" + destination)
        if tip is None:
            raise BadRequest(f"branch {destination} not found")
        if message is not None and change.change_id not in change_ids(message):
            message = message.rstrip("\n") + f"\n\nChange-Id: {change.change_id}\n"
        try:
            new = self.merger.cherry_pick(change.project, ps.sha, tip, committer, message)
        except MergeConflict as exc:
            raise Conflict(f"cherry-pick conflicts in: {', '.join(exc.files)}") from None
        return self._new_change(who, change.project, destination, new, change.topic,
                                f"Patch Set 1: Cherry Picked from branch {change.branch}.")

    def revert(self, who: Principal, change: Change, message: str | None,
               topic: str | None, wip: bool) -> int:
        """A new change on the same branch undoing merged ``change``; its number.

        As Gerrit makes it: the revert commit's parent is the reverted commit and its tree
        that commit's parent's, so it never conflicts; rebasing it is a separate step."""
        committer = self._who(who, "reverting")
        if change.status != MERGED:
            raise Conflict(f"change {change.number} is {change.status.lower()}; only merged "
                           "changes can be reverted")
        project = self.projects.exists(change.project)
        assert project is not None and who.account is not None
        decision = self.projects.can(who, project, acl.PUSH,
                                     "refs/for/refs/heads/" + change.branch)
        if not decision:
            raise Forbidden(f"reverting is not permitted: {decision.reason}")
        problem = topic_problem(topic) if topic else None
        if problem:
            raise BadRequest(problem)
        ps = self.current_patch_set(change)
        text = (message if message and message.strip()
                else f'Revert "{change.subject}"\n\nThis reverts commit {ps.sha}.\n')
        ids = change_ids(text)
        if not ids:
            seed = f"revert\n{change.number}\n{ps.sha}\n{committer.date.isoformat()}"
            ids = ["I" + hashlib.sha1(seed.encode()).hexdigest()]
            text = text.rstrip("\n") + f"\n\nChange-Id: {ids[0]}\n"
        tree = f"{ps.parents[0]}^{{tree}}" if ps.parents else EMPTY_TREE
        env = {"GIT_AUTHOR_NAME": committer.name, "GIT_AUTHOR_EMAIL": committer.email,
               "GIT_AUTHOR_DATE": _date(committer), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _date(committer)}
        new = self.repos.run(change.project, "commit-tree", tree, "-p", ps.sha,
                             input_text=text, env=env).strip()
        number = self._new_change(who, change.project, change.branch, new, topic, None,
                                  revert_of=change.number, wip=wip)
        with self.db.write() as conn:
            store.add_message(conn, change.number, change.current_patch_set, who.account.id,
                              f"Created a revert of this change as {ids[0]}", utcnow(),
                              tag="autogenerated:gerrit:revert")
        return number

    def move(self, who: Principal, change: Change, destination: str, message: str | None,
             keep_all_votes: bool) -> None:
        """Move open ``change`` to branch ``destination`` of its project. Votes on it are
        dropped (they were cast for the other branch) unless an administrator asks to keep
        them."""
        self._who(who, "moving a change")
        assert who.account is not None
        destination = destination.removeprefix("refs/heads/")
        if not destination:
            raise BadRequest("moving a change needs a destination_branch")
        if not valid_branch_name(destination):
            raise BadRequest(f"{destination!r} is not a valid branch name")
        if change.status != NEW:
            raise Conflict(f"change {change.number} is {change.status.lower()}")
        if destination == change.branch:
            raise Conflict(f"change {change.number} is already destined for {destination}")
        if keep_all_votes and not who.is_admin:
            raise Forbidden("keeping all votes of a moved change is for administrators")
        project = self.projects.exists(change.project)
        assert project is not None
        rules = self.projects.rules(project)
        may_abandon = acl.check(rules, who.as_owner_of(change.owner_id), acl.ABANDON,
                                "refs/heads/" + change.branch)
        if not may_abandon:
            raise Forbidden(f"moving change {change.number} is not permitted: "
                            f"{may_abandon.reason}")
        may_upload = self.projects.can(who, project, acl.PUSH,
                                       "refs/for/refs/heads/" + destination)
        if not may_upload:
            raise Forbidden(f"moving to {destination} is not permitted: {may_upload.reason}")
        if self.repos.resolve(change.project, "refs/heads/" + destination) is None:
            raise Conflict(f"destination branch {destination} not found in {change.project}")
        text = f"Change destination moved from {change.branch} to {destination}"
        if message and message.strip():
            text += "\n\n" + message.strip()
        now = utcnow()
        with self.db.write() as conn:
            if store.known_on_branch(conn, change.project, destination, [change.change_id]):
                raise Conflict(f"a change with Change-Id {change.change_id} already exists "
                               f"on {destination}")
            store.update_change(conn, change.number, branch=destination, updated=now,
                                mergeable=None, mergeable_key=None)
            if not keep_all_votes:
                store.remove_approvals(conn, change.number)
            store.add_message(conn, change.number, change.current_patch_set, who.account.id,
                              text, now, tag="autogenerated:gerrit:move")

    def create_change(self, who: Principal, project_name: str, branch: str, title: str,
                      topic: str | None) -> int:
        committer = self._who(who, "creating a change")
        project = self.projects.get(project_name, who)
        branch = branch.removeprefix("refs/heads/")
        if not valid_branch_name(branch):
            raise BadRequest(f"{branch!r} is not a valid branch name")
        if not self.projects.can(who, project, acl.READ, "refs/heads/" + branch):
            raise BadRequest(f"branch {branch} not found in {project_name}")  # as if absent
        decision = self.projects.can(who, project, acl.PUSH, "refs/for/refs/heads/" + branch)
        if not decision:
            raise Forbidden(f"creating changes is not permitted: {decision.reason}")
        if not title.strip():
            raise BadRequest("a change needs a subject")
        problem = topic_problem(topic) if topic else None
        if problem:
            raise BadRequest(problem)
        tip = self.repos.resolve(project_name, "refs/heads/" + branch)
        if tip is None:
            raise BadRequest(f"branch {branch} not found in {project_name}")
        seed = f"{project_name}\n{branch}\n{title}\n{committer.date.isoformat()}\n{tip}"
        change_id = "I" + hashlib.sha1(seed.encode()).hexdigest()
        message = f"{title.strip()}\n\nChange-Id: {change_id}\n"
        env = {"GIT_AUTHOR_NAME": committer.name, "GIT_AUTHOR_EMAIL": committer.email,
               "GIT_AUTHOR_DATE": _date(committer), "GIT_COMMITTER_NAME": committer.name,
               "GIT_COMMITTER_EMAIL": committer.email, "GIT_COMMITTER_DATE": _date(committer)}
        new = self.repos.run(project_name, "commit-tree", f"{tip}^{{tree}}", "-p", tip,
                             input_text=message, env=env).strip()
        return self._new_change(who, project_name, branch, new, topic, None)

    def propose_commit(self, who: Principal, project: str, branch: str, sha: str,
                       topic: str | None = None) -> int:
        """A new change for the commit ``sha`` (already in ``project``, with a Change-Id
        footer), owned by ``who``: how the server proposes a change of its own for review."""
        return self._new_change(who, project, branch, sha, topic, None)

    def _new_change(self, who: Principal, project: str, branch: str, sha: str,
                    topic: str | None, message: str | None, revert_of: int | None = None,
                    wip: bool = False) -> int:
        assert who.account is not None
        data = self.repos.read_commits(project, [sha])[0]
        ids = change_ids(data.message)
        now = utcnow()
        with self.db.write() as conn:
            if store.known_on_branch(conn, project, branch, ids):
                raise Conflict(f"a change with Change-Id {ids[0]} already exists on {branch}")
            number = store.add_change(conn, project=project, branch=branch, change_id=ids[0],
                                      owner_id=who.account.id, subject=subject(data.message),
                                      topic=topic, wip=wip, private=False, now=now,
                                      revert_of=revert_of)
            written = self.writer.write(conn, number, 1, data, who.account, now,
                                        self._base_url(), message=message)
            self.repos.update_refs(project, [written.ref_update])
        return number


def _date(person: Person) -> str:
    return f"{int(person.date.replace(tzinfo=UTC).timestamp())} +0000"

