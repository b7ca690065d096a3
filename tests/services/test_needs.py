"""``NeedsService`` on real services and a real site: git-parent stacks and ``Depends-On:``
footers become the ``needs`` and ``related`` of the gate core's Enqueue events."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from keepgreen import site as site_mod
from keepgreen.app import Services, build_services
from keepgreen.domain.account import Principal
from keepgreen.domain.change import Change
from keepgreen.gating import ChangeRef
from keepgreen.services.gating.gate import approval_problem
from keepgreen.services.gating.needs import NeedsService, NotEnqueueable
from keepgreen.services.review.review import ReviewInput
from keepgreen.settings import load
from keepgreen.store import changes as change_store

ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex[:12]


class World:
    def __init__(self, services: Services, admin: Principal) -> None:
        self.services = services
        self.admin = admin
        # The gate's rule without the clean-check vote, which needs CI to have run.
        self.needs = NeedsService(
            services.submit, lambda c: approval_problem(services.submit, c) is None)

    def project(self) -> str:
        name = f"org/p{uuid.uuid4().hex[:8]}"
        project = self.services.projects.create(self.admin, name, create_empty_commit=True)
        self.services.projects.configure(self.admin, project, "MERGE_IF_NECESSARY", 1, None)
        return name

    def change(self, number: int) -> Change:
        with self.services.db.read() as conn:
            found = change_store.change_by_number(conn, number)
        assert found is not None
        return found

    def sha(self, number: int) -> str:
        with self.services.db.read() as conn:
            return change_store.current_patch_sets(conn, [number])[number][0].sha

    def push(self, project: str, subject: str, footers: str = "",
             parent: int | None = None) -> int:
        repos = self.services.repos
        base = self.sha(parent) if parent else repos.resolve(project, "refs/heads/main")
        assert base is not None
        change_id = "I" + hashlib.sha1(f"{project}{subject}".encode()).hexdigest()
        message = f"{subject}\n\n{footers}Change-Id: {change_id}\n"
        env = {"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
               "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org"}
        sha = repos.run(project, "commit-tree", f"{base}^{{tree}}", "-p", base,
                        input_text=message, env=env).strip()
        return self.services.revisions._new_change(self.admin, project, "main", sha, None,
                                                   None)

    def approve(self, number: int) -> None:
        change = self.change(number)
        with self.services.db.read() as conn:
            ps = change_store.current_patch_sets(conn, [number])[number][0]
        self.services.review.review(self.admin, change, ps,
                                    ReviewInput(labels={"Code-Review": 2, "Workflow": 1}))

    def related(self, number: int) -> tuple[ChangeRef, dict[int, ChangeRef]]:
        event = self.needs.enqueue("gate", self.change(number), approved=True)
        return event.change, {r.number: r for r in event.related}


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    path = tmp_path / "site"
    site_mod.init(path, admin_password=ADMIN_PASSWORD, database=database_url, environ={})
    services = build_services(load(path, environ={}, flags={"database": database_url}))
    admin = services.accounts.authenticate("admin", ADMIN_PASSWORD)
    assert admin is not None
    yield World(services, admin)
    services.db.dispose()


def test_git_parent_stack(world: World) -> None:
    project = world.project()
    parent = world.push(project, "Parent")
    child = world.push(project, "Child", parent=parent)
    world.approve(child)

    ref, related = world.related(child)
    assert ref.needs == (parent,) and ref.approved
    assert related[parent].needs == () and not related[parent].approved

    world.approve(parent)
    ref, related = world.related(parent)
    assert ref.needs == ()
    # The approved child comes along, so the core can enqueue it behind its parent.
    assert related[child].needs == (parent,) and related[child].approved


def test_depends_on_by_url_number_and_change_id(world: World) -> None:
    lib, app = world.project(), world.project()
    by_url = world.push(lib, "Library change")
    by_number = world.push(lib, "Another library change")
    by_id = world.push(lib, "A third library change")
    merged = world.push(lib, "Merged library change")
    world.approve(merged)
    world.services.submit.submit(world.admin, world.change(merged))
    footers = (f"Depends-On: https://review.example.org/c/{lib}/+/{by_url}\n"
               f"Depends-On: {by_number}\n"
               f"Depends-On: {world.change(by_id).change_id}\n"
               f"Depends-On: https://other.example.org/{merged}\n"
               "Depends-On: something else\n")
    change = world.push(app, "Use the library", footers)

    ref, related = world.related(change)
    assert ref.needs == (by_url, by_number, by_id, merged)
    assert related[merged].merged
    assert {related[n].project for n in ref.needs} == {lib}
    assert not any(related[n].merged for n in (by_url, by_number, by_id))

    # Transitive: a change needing ``change`` also brings what ``change`` needs.
    top = world.push(app, "On top", f"Depends-On: {change}\n")
    ref, related = world.related(top)
    assert ref.needs == (change,)
    assert set(related) == {change, by_url, by_number, by_id, merged}


def test_abandoned_needed_change_refuses_with_a_reason(world: World) -> None:
    project = world.project()
    gone = world.push(project, "Abandoned")
    world.services.review.abandon(world.admin, world.change(gone))
    change = world.push(project, "Needs it", f"Depends-On: {gone}\n")
    with pytest.raises(NotEnqueueable, match=f"depends on change {gone}, which is abandoned"):
        world.related(change)

    child = world.push(project, "Child of abandoned", parent=gone)
    with pytest.raises(NotEnqueueable, match=f"based on change {gone}, which is abandoned"):
        world.related(child)
