"""The gate's own rules and its speculative merges, for the scheduler.

``approval_problem`` is the extra condition of every pipeline that submits: every submit
requirement but Verified is met (Code-Review and Workflow approvals, not work in progress),
so the gate never spends nodes on a change humans have not approved. ``gate_problem`` adds
the CI account's Verified vote of at least +1 (Zuul's "clean check"), the rule operator
commands use; the pipelines themselves state it in their ``require`` section.

``SpeculativeMerger`` builds the state an item is tested on: the branch tip with each change
ahead of it merged in order, then the item's change. Merge commits get a fixed committer and
date (the merged patch set's creation time), so every job of an item, and a re-test of the
same state, sees the very same commits.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from keepgreen import gating
from keepgreen.domain import requirements
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, NEW, Change, PatchSet, Person
from keepgreen.domain.refs import patch_set_ref
from keepgreen.executor import model as ex
from keepgreen.git.merges import MergeConflict, Merger
from keepgreen.git.repos import Repos
from keepgreen.jobconf.model import Layout
from keepgreen.services.errors import ServiceError
from keepgreen.services.gating.needs import NeedsService
from keepgreen.services.review.submit import SubmitService
from keepgreen.store import changes as change_store
from keepgreen.store import projects as project_store
from keepgreen.store.db import Database

log = logging.getLogger(__name__)

VERIFIED = "Verified"


def approval_problem(submit: SubmitService, change: Change) -> str | None:
    """None when ``change`` meets every submit requirement except Verified (which the gate
    itself grants); otherwise, in plain words, what is missing."""
    if change.status != NEW:
        return f"the change is {change.status.lower()}"
    if change.wip:
        return "the change is work in progress"
    results = submit.evaluate(change)
    missing = [r.reason or f"{r.requirement.name} is not satisfied" for r in results
               if r.requirement.name != VERIFIED
               and r.status in (requirements.UNSATISFIED, requirements.ERROR)]
    return "; ".join(missing) or None


def clean_check_problem(submit: SubmitService, change: Change, ci_account: str) -> str | None:
    """None when the CI account voted Verified +1 or more on the current patch set."""
    facts = submit.facts(change)
    ci = [v.value for v in facts.votes if v.label == VERIFIED and v.username == ci_account]
    if not ci:
        return f"{ci_account} has not voted Verified on the current patch set (check first)"
    if ci[0] < 1:
        return f"{ci_account} voted Verified {ci[0]:+d}; the gate needs a passing check"
    return None


def gate_problem(submit: SubmitService, change: Change, ci_account: str) -> str | None:
    """Why ``change`` may not enter the gate now; None when it may."""
    return approval_problem(submit, change) or clean_check_problem(submit, change, ci_account)


@dataclass(frozen=True)
class MergeItem:
    """One change of a speculative state as stored: its status and the patch set to merge."""

    change: Change
    patch_set: PatchSet


# Zuul's merge modes; merge-resolve is its default for Gerrit. Both merge modes give the
# same trees here (git's merge-tree does the merging).
MERGE_MODES = ("merge", "merge-resolve", "cherry-pick", "squash-merge", "rebase")
DEFAULT_MERGE_MODE = "merge-resolve"
SUBMIT_TYPE_MODES = {"CHERRY_PICK": "cherry-pick", "REBASE_IF_NECESSARY": "rebase",
                     "REBASE_ALWAYS": "rebase"}


class SpeculativeConflict(Exception):
    """A change of the state does not merge onto the ones before it; the message says which."""


class SpeculativeMerger:
    def __init__(self, repos: Repos, merger: Merger, committer_name: str,
                 committer_email: str) -> None:
        self.repos = repos
        self.merger = merger
        self.name = committer_name
        self.email = committer_email

    def merge(self, project: str, branch: str, items: list[MergeItem],
              mode: str = DEFAULT_MERGE_MODE) -> str:
        """The commit of ``branch``'s tip with ``items`` applied in order by ``mode``.

        A change that already merged is in the tip; one whose commit the state already
        contains (a fast-forward ancestor) adds nothing. ``merge`` and ``merge-resolve`` make
        a merge commit for every other change, even where a fast-forward would do, so the
        state has one shape whatever the tip is; ``squash-merge`` makes one commit with the
        merged tree and the state as its only parent; ``cherry-pick`` and ``rebase`` re-apply
        the change's commit on the state (one commit per change, as Gerrit stores them).
        Raises SpeculativeConflict naming the change and files, or when the branch is gone.
        """
        if mode not in MERGE_MODES:
            raise SpeculativeConflict(f"merge mode {mode!r} of {project} is not one of "
                                      + ", ".join(MERGE_MODES))
        state = self.repos.resolve(project, "refs/heads/" + branch)
        if state is None:
            raise SpeculativeConflict(f"branch {branch} of {project} does not exist")
        for item in items:
            if item.change.status == MERGED:
                continue
            sha = item.patch_set.sha
            if self.repos.is_ancestor(project, sha, state):
                continue
            key = f"{item.change.number},{item.patch_set.number}"
            committer = Person(self.name, self.email, item.patch_set.created)
            try:
                state = self._apply(project, state, sha, key, mode, committer)
            except MergeConflict as exc:
                raise SpeculativeConflict(
                    f"change {key} does not merge onto {branch} and the changes ahead of it: "
                    f"conflicts in {', '.join(exc.files) or 'the tree'}") from None
        return state

    def _apply(self, project: str, state: str, sha: str, key: str, mode: str,
               committer: Person) -> str:
        if mode in ("cherry-pick", "rebase"):
            return self.merger.cherry_pick(project, sha, state, committer)
        if mode == "squash-merge":
            return self.merger.squash_commit(
                project, state, sha,
                f"Squashed change {key}\n\nSpeculative state of the gate; never pushed.",
                committer)
        message = (f"Merge change {key}\n\n"
                   f"Speculative state of the gate; never pushed.\n")
        return self.merger.merge_commit(project, state, sha, message, committer)


def project_merge_mode(db: Database, layout: Layout | None, project: str) -> str:
    """``merge_mode_for`` the project as the store and the site's layout describe it."""
    with db.read() as conn:
        found = project_store.project_by_name(conn, project)
    return merge_mode_for(found.submit_type if found else "MERGE_IF_NECESSARY",
                          layout.merge_mode(project) if layout is not None else None)


def merge_mode_for(submit_type: str, configured: str | None) -> str:
    """The merge mode of a project's speculative states: the one its project stanza sets,
    else the one that builds what its submit type will build, so the gate tests the very
    tree that lands (merge for the merge types, cherry-pick and rebase for theirs)."""
    if configured:
        return configured
    return SUBMIT_TYPE_MODES.get(submit_type, DEFAULT_MERGE_MODE)


def needs_service(submit: SubmitService, ci_account: str) -> NeedsService:
    """Dependencies for Enqueue events, with related changes judged by the gate's rule."""
    return NeedsService(submit, lambda c: gate_problem(submit, c, ci_account) is None)


def submit_tested(submit: SubmitService, action: gating.Report, ci: Principal,
                  voted: bool) -> gating.SubmitResult:
    """Merge a change the gate passed, as the CI account, and say whether it landed."""
    number = action.change.number
    if not voted:
        return gating.SubmitResult(action.pipeline, number, False,
                                   "The passing Verified vote could not be recorded.")
    with submit.db.read() as conn:
        change = change_store.change_by_number(conn, number)
    if change is None or change.current_patch_set != action.change.patchset:
        return gating.SubmitResult(action.pipeline, number, False,
                                   "The tested patch set is no longer current.")
    try:
        submit.submit(ci, change, alone=True)
    except ServiceError as exc:
        log.warning("gate: cannot submit change %s: %s", action.change, exc)
        return gating.SubmitResult(action.pipeline, number, False, str(exc))
    log.info("gate: change %s merged", action.change)
    return gating.SubmitResult(action.pipeline, number, True)


# -- shared queues: speculative states across projects --------------------------------------


def with_queues(event: gating.Enqueue,
                queue_of: Callable[[str, str], str | None]) -> gating.Enqueue:
    """``event`` with every change's shared ``queue`` filled in: the queue its project's
    config on that branch declares (project stanza ``queue: name``), so projects that
    declare the same queue gate together in one change queue."""
    names: dict[tuple[str, str], str | None] = {}

    def assign(ref: gating.ChangeRef) -> gating.ChangeRef:
        key = (ref.project, ref.branch)
        if key not in names:
            names[key] = queue_of(*key)
        return replace(ref, queue=names[key])

    return replace(event, change=assign(event.change),
                   related=tuple(assign(r) for r in event.related))


def branch_queue(name: str | None, branch: str, layout: Layout) -> str | None:
    """The change queue for a project declaring queue ``name`` on ``branch``: a ``queue``
    object of the config project with ``per-branch: true`` gives each branch its own."""
    if name is None:
        return None
    declared = layout.queues.get(name)
    return f"{name}@{branch}" if declared is not None and declared.per_branch else name


class SharedStates:
    """The speculative state of an item whose queue spans projects: every project with a
    change in the state gets its own merged commit (its branch tip with its changes of the
    state merged in queue order), checked out for the builds, which see each project
    (``zuul.projects``) and every item of the state (``zuul.items``).

    ``checkout(project, sha, folder)`` writes a commit's tree into a folder. Used only from
    the scheduler's loop thread."""

    def __init__(self, speculative: SpeculativeMerger,
                 checkout: Callable[[str, str, Path], None],
                 mode_of: Callable[[str], str] = lambda project: DEFAULT_MERGE_MODE) -> None:
        self.speculative = speculative
        self._checkout = checkout
        self.mode_of = mode_of
        self._sources: dict[int, dict[str, Path]] = {}

    def merge(self, project: str, branch: str, items: list[MergeItem]) -> dict[str, str]:
        """The merged commit of each project of the state, ``project`` (the item's own,
        on ``branch``) always among them. Raises SpeculativeConflict or GitError."""
        groups: dict[tuple[str, str], list[MergeItem]] = {(project, branch): []}
        for item in items:
            groups.setdefault((item.change.project, item.change.branch), []).append(item)
        return {name: self.speculative.merge(name, on, group, self.mode_of(name))
                for (name, on), group in groups.items()}

    def prepare(self, buildset: int, states: dict[str, str], own: str) -> None:
        """Check out every project of the state but ``own`` (the scheduler checks that one
        out itself) for the builds of ``buildset``."""
        sources: dict[str, Path] = {}
        for name, sha in states.items():
            if name == own:
                continue
            folder = Path(tempfile.mkdtemp(prefix=f"keepgreen-{buildset}-"))
            folder.chmod(0o755)  # ansible runs sandboxed as an unprivileged user
            sources[name] = folder
            self._checkout(name, sha, folder)
        self._sources[buildset] = sources

    def items_ahead(self, buildset: int, changes: tuple[gating.ChangeRef, ...],
                    own: ex.Project) -> tuple[ex.Item, ...]:
        """The executor's items for the changes ahead of the item (``changes`` without its
        last, the item's own change); changes of the item's project share its checkout."""
        sources = self._sources.get(buildset, {})
        items = []
        for ref in changes[:-1]:
            project = own if ref.project == own.name else ex.Project(
                name=ref.project, source=sources.get(ref.project), checkout=ref.branch)
            items.append(ex.Item(project, branch=ref.branch,
                                 ref=patch_set_ref(ref.number, ref.patchset),
                                 change=str(ref.number), patchset=str(ref.patchset)))
        return tuple(items)

    def release(self, buildset: int) -> list[Path]:
        """Remove the checkouts of ``buildset``; returns the folders they were in."""
        folders = list(self._sources.pop(buildset, {}).values())
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return folders

    def release_all(self) -> None:
        for buildset in list(self._sources):
            self.release(buildset)
