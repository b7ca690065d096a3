"""A crash in the middle of a submit never leaves the branch and the change status disagreeing.

Real services are built in-process on a real site (once on SQLite, once on PostgreSQL) with
real bare repositories. Each test lets the process "die" at one chosen point of
``SubmitService.submit`` by substituting exactly one step on one live object:

* ``SubmitService._finish`` (crash point: the branch has moved, the change is not yet
  marked merged), or
* ``Repos.update_refs`` for one kind of ref (crash point: the submission is recorded, the
  branch has not moved; or the patch-set ref of a rebase is written, the store transaction
  that goes with it is not committed).

The crashed services are then thrown away and fresh ones are built on the same site, as a
restart does, and ``SubmitService.recover`` runs, as the server does before taking work.
Nothing else is patched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from keepgreen import site as site_mod
from keepgreen.app import Services, build_services
from keepgreen.domain.account import Principal
from keepgreen.domain.change import MERGED, NEW, Change, PatchSet
from keepgreen.domain.refs import patch_set_ref
from keepgreen.git.repos import GitError
from keepgreen.services.errors import Conflict
from keepgreen.services.review.review import ReviewInput
from keepgreen.settings import load
from keepgreen.store import changes as change_store
from keepgreen.store import events as event_store
from keepgreen.store import review as review_store
from keepgreen.store.schema import submissions

ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex[:12]
BRANCH = "refs/heads/main"


class SimulatedCrash(Exception):
    """The process dies here. Deliberately not a GitError, so no handler in the submit path
    treats it as an ordinary, recoverable failure."""


# --- the site and its restarts -------------------------------------------------------------


@dataclass
class Site:
    path: Path
    database_url: str
    opened: list[Services]

    def start(self) -> Services:
        """Fresh services on the site, as a (re)started server builds them."""
        settings = load(self.path, environ={}, flags={"database": self.database_url})
        services = build_services(settings)
        self.opened.append(services)
        return services

    def restart(self, crashed: Services) -> Services:
        """Forget everything the crashed process held in memory and start again."""
        crashed.db.dispose()
        services = self.start()
        services.submit.recover()
        return services


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    path = tmp_path / "site"
    site_mod.init(path, admin_password=ADMIN_PASSWORD, database=database_url, environ={})
    opened: list[Services] = []
    yield Site(path, database_url, opened)
    for services in opened:
        services.db.dispose()


@dataclass
class World:
    services: Services
    admin: Principal
    project: str

    # -- reading state ---------------------------------------------------------------------
    def change(self, number: int) -> Change:
        with self.services.db.read() as conn:
            found = change_store.change_by_number(conn, number)
        assert found is not None
        return found

    def patch_sets(self, number: int) -> list[PatchSet]:
        with self.services.db.read() as conn:
            return change_store.patch_sets_of(conn, [number])[number]

    def current(self, number: int) -> PatchSet:
        change = self.change(number)
        return next(ps for ps in self.patch_sets(number)
                    if ps.number == change.current_patch_set)

    def tip(self) -> str | None:
        return self.services.repos.resolve(self.project, BRANCH)

    def events(self) -> list[tuple[int, str, dict[str, Any]]]:
        with self.services.db.read() as conn:
            return event_store.since(conn, 0, 100_000)

    def submission_states(self) -> list[str]:
        with self.services.db.read() as conn:
            rows = conn.execute(select(submissions.c.state).order_by(submissions.c.id))
            return [row[0] for row in rows]

    def pending(self) -> list[Any]:
        with self.services.db.read() as conn:
            return review_store.pending_submissions(conn)

    def snapshot(self, number: int) -> tuple[Any, ...]:
        """Everything recovery could touch, to show a second recovery changes nothing."""
        return (self.change(number), self.patch_sets(number), self.tip(),
                self.services.repos.refs(self.project, "refs/"), self.events(),
                self.submission_states())

    # -- acting ----------------------------------------------------------------------------
    def new_change(self, subject: str) -> int:
        return self.services.revisions.create_change(self.admin, self.project, "main",
                                                     subject, None)

    def approve(self, number: int) -> None:
        change = self.change(number)
        recorded = self.services.review.review(
            self.admin, change, self.current(number),
            ReviewInput(labels={"Code-Review": 2, "Workflow": 1}))
        assert recorded == {"Code-Review": 2, "Workflow": 1}
        assert self.services.submit.verdict(self.change(number)).submittable

    def submit(self, number: int) -> Change:
        return self.services.submit.submit(self.admin, self.change(number))

    def restarted(self, site: Site) -> World:
        services = site.restart(self.services)
        admin = services.accounts.authenticate("admin", ADMIN_PASSWORD)
        assert admin is not None
        return World(services, admin, self.project)


def make_world(site: Site, submit_type: str) -> World:
    services = site.start()
    admin = services.accounts.authenticate("admin", ADMIN_PASSWORD)
    assert admin is not None
    name = f"org/p{uuid.uuid4().hex[:8]}"
    project = services.projects.create(admin, name, create_empty_commit=True)
    services.projects.configure(admin, project, submit_type, 1, None)
    return World(services, admin, name)


# How the change reaches the branch. With "behind" another change is merged first, so
# the one that crashes needs a merge commit, a rebase or a cherry-pick.
SHAPES = [
    pytest.param("MERGE_IF_NECESSARY", False, id="fast-forward"),
    pytest.param("MERGE_ALWAYS", True, id="merge-commit"),
    pytest.param("REBASE_IF_NECESSARY", True, id="rebase"),
    pytest.param("CHERRY_PICK", True, id="cherry-pick"),
]


def prepared(site: Site, submit_type: str, behind: bool) -> tuple[World, int, str]:
    """A world with one approved change, and the branch tip before it is submitted."""
    world = make_world(site, submit_type)
    number = world.new_change("The change under test")
    if behind:
        other = world.new_change("Another change, merged first")
        world.approve(other)
        assert world.submit(other).status == MERGED
    world.approve(number)
    tip = world.tip()
    assert tip is not None
    return world, number, tip


def crash_on_first_call(original: Callable[..., Any]) -> Callable[..., Any]:
    calls = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise SimulatedCrash("the process dies before the change is marked merged")
        return original(*args, **kwargs)

    return dying


# --- crash point 1: the branch moved, the change is not marked merged --------------------


@pytest.mark.parametrize(("submit_type", "behind"), SHAPES)
def test_a_crash_after_the_branch_moved_is_finished_by_recovery(
        site: Site, submit_type: str, behind: bool) -> None:
    world, number, old_tip = prepared(site, submit_type, behind)
    submitted_ps = world.current(number)
    events_before = len(world.events())

    # Crash point: SubmitService._finish is the step after the branch update; its first
    # call dies instead of marking the change merged.
    world.services.submit._finish = crash_on_first_call(  # type: ignore[method-assign]
        world.services.submit._finish)
    with pytest.raises(SimulatedCrash):
        world.submit(number)

    new_tip = world.tip()
    assert new_tip is not None and new_tip != old_tip
    assert world.services.repos.is_ancestor(world.project, old_tip, new_tip)
    assert world.change(number).status == NEW
    assert [row.new_sha for row in world.pending()] == [new_tip]
    assert [t for _, t, _ in world.events()[events_before:]] == []

    world = world.restarted(site)

    change = world.change(number)
    assert change.status == MERGED
    assert change.submitter_id == world.admin.account.id  # type: ignore[union-attr]
    assert change.submitted is not None
    assert world.tip() == new_tip
    assert world.pending() == []
    assert world.submission_states()[-1] == "DONE"
    assert "PENDING" not in world.submission_states()

    ps = world.current(number)
    if submit_type in ("REBASE_IF_NECESSARY", "CHERRY_PICK"):
        # The rebased commit became the change's new, merged patch set, ref and all.
        assert ps.number == submitted_ps.number + 1 and ps.sha == new_tip
    else:
        assert ps == submitted_ps
        assert world.services.repos.is_ancestor(world.project, ps.sha, new_tip)
    assert world.services.repos.resolve(world.project, patch_set_ref(number, ps.number)) \
        == ps.sha

    recovered = world.events()[events_before:]
    types = [t for _, t, _ in recovered]
    assert types.count("change-merged") == 1 and types.count("ref-updated") == 1
    assert types.index("change-merged") < types.index("ref-updated")
    merged_event = next(p for _, t, p in recovered if t == "change-merged")
    assert merged_event["change"]["number"] == number
    assert merged_event["patchSet"]["revision"] == ps.sha
    assert merged_event["newRev"] == new_tip
    ref_event = next(p for _, t, p in recovered if t == "ref-updated")
    assert ref_event["refUpdate"] == {"oldRev": old_tip, "newRev": new_tip,
                                      "refName": BRANCH, "project": world.project}
    with world.services.db.read() as conn:
        messages = change_store.messages_of(conn, [number])[number]
    assert sum(m.tag == "autogenerated:gerrit:merged" for m in messages) == 1

    # A second recovery (another restart) has nothing left to do.
    before = world.snapshot(number)
    world.services.submit.recover()
    assert world.snapshot(number) == before
    world = world.restarted(site)
    assert world.snapshot(number) == before


# --- crash point 2: the submission is recorded, the branch did not move ------------------


def failing_branch_update(world: World, error: type[Exception]) -> None:
    """Repos.update_refs fails for updates of a branch, and only for those."""
    repos = world.services.repos
    original = repos.update_refs

    def update_refs(project: str, updates: list[tuple[str, str, str]]) -> None:
        if any(ref.startswith("refs/heads/") for ref, _, _ in updates):
            raise error("the branch update does not happen")
        original(project, updates)

    repos.update_refs = update_refs  # type: ignore[method-assign]


@pytest.mark.parametrize(("submit_type", "behind"), SHAPES)
def test_a_crash_before_the_branch_moved_is_dropped_by_recovery(
        site: Site, submit_type: str, behind: bool) -> None:
    world, number, old_tip = prepared(site, submit_type, behind)
    submitted_ps = world.current(number)
    events_before = len(world.events())

    # Crash point: the branch update itself; the submission row is already written.
    failing_branch_update(world, SimulatedCrash)
    with pytest.raises(SimulatedCrash):
        world.submit(number)

    assert world.tip() == old_tip
    assert world.change(number).status == NEW
    assert len(world.pending()) == 1

    world = world.restarted(site)

    assert world.tip() == old_tip
    change = world.change(number)
    assert change.status == NEW and change.submitted is None
    assert world.current(number) == submitted_ps
    assert world.pending() == []
    assert world.submission_states()[-1] == "ABORTED"
    assert [t for _, t, _ in world.events()[events_before:]] == []
    assert world.services.submit.verdict(change).submittable

    before = world.snapshot(number)
    world.services.submit.recover()
    assert world.snapshot(number) == before

    merged = world.submit(number)
    assert merged.status == MERGED
    new_tip = world.tip()
    assert new_tip is not None and world.services.repos.is_ancestor(world.project, old_tip,
                                                                    new_tip)
    assert world.services.repos.is_ancestor(world.project, world.current(number).sha, new_tip)
    assert world.pending() == []
    assert world.submission_states()[-1] == "DONE"
    types = [t for _, t, _ in world.events()[events_before:]]
    assert types.count("change-merged") == 1
    assert types.index("change-merged") < types.index("ref-updated")


def test_a_refused_branch_update_is_aborted_at_once(site: Site) -> None:
    """When git itself refuses the update (the branch moved meanwhile) nothing crashed: the
    submit reports a conflict and leaves no submission for recovery."""
    world, number, old_tip = prepared(site, "MERGE_IF_NECESSARY", False)
    failing_branch_update(world, GitError)
    with pytest.raises(Conflict, match="moved while submitting"):
        world.submit(number)
    assert world.tip() == old_tip
    assert world.change(number).status == NEW
    assert world.pending() == []
    assert world.submission_states()[-1] == "ABORTED"


# --- crash point 3: inside _finish, after the rebased patch set's ref was written ---------


@pytest.mark.parametrize("submit_type", ["REBASE_IF_NECESSARY", "CHERRY_PICK"])
def test_a_crash_after_the_rebased_patch_set_ref_was_written_is_finished_by_recovery(
        site: Site, submit_type: str) -> None:
    """Recovery runs _finish again and must accept the patch-set ref the dead process
    already wrote, rather than failing on every start."""
    world, number, old_tip = prepared(site, submit_type, True)
    submitted_ps = world.current(number)

    # Crash point: git writes the new patch set's ref (inside _finish's store transaction),
    # then the process dies before that transaction commits.
    repos = world.services.repos
    original = repos.update_refs

    def update_refs(project: str, updates: list[tuple[str, str, str]]) -> None:
        original(project, updates)
        if any(ref.startswith("refs/changes/") for ref, _, _ in updates):
            raise SimulatedCrash("the process dies before the store transaction commits")

    repos.update_refs = update_refs  # type: ignore[method-assign]
    with pytest.raises(SimulatedCrash):
        world.submit(number)

    new_tip = world.tip()
    assert new_tip is not None and new_tip != old_tip
    assert world.change(number).status == NEW
    assert world.change(number).current_patch_set == submitted_ps.number
    assert repos.resolve(world.project, patch_set_ref(number, submitted_ps.number + 1)) \
        == new_tip

    world = world.restarted(site)

    change = world.change(number)
    assert change.status == MERGED
    ps = world.current(number)
    assert ps.number == submitted_ps.number + 1 and ps.sha == new_tip
    assert world.services.repos.resolve(world.project, patch_set_ref(number, ps.number)) \
        == new_tip
    assert world.tip() == new_tip
    assert world.pending() == []
    assert world.submission_states()[-1] == "DONE"
    types = [t for _, t, _ in world.events()]
    assert types.count("change-merged") == 2  # the change merged first, and this one
    assert types[-3:] == ["patchset-created", "change-merged", "ref-updated"]

    before = world.snapshot(number)
    world.services.submit.recover()
    assert world.snapshot(number) == before
