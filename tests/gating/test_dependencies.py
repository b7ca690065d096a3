"""Stories about changes that need other changes: Depends-On footers and git-parent stacks."""

from __future__ import annotations

import pytest

from tests.gating.world import World


@pytest.fixture
def shared() -> World:
    """Two projects that gate together in the ``integrated`` queue, and one that does not."""
    world = World()
    world.project_queues.update({"org/project1": "integrated", "org/project2": "integrated"})
    return world


def test_depends_on_in_the_same_queue_enqueues_the_needed_change_first(shared: World) -> None:
    world = shared
    B = world.add_change("org/project2")
    A = world.add_change("org/project1", needs=[B])
    B.approved = True  # approved earlier, but its gate trigger has not fired yet
    world.approve(A)
    assert world.queue() == ["1,1", "2,1"]
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 2,1"},
    ])
    world.assert_reported(B, "success")
    world.assert_reported(A, "success")
    assert world.merged("org/project2") == [B.number]
    assert world.merged("org/project1") == [A.number]


def test_failing_needed_change_takes_its_dependent_out(shared: World) -> None:
    world = shared
    world.hold_jobs()
    B = world.add_change("org/project2")
    A = world.add_change("org/project1", needs=[B])
    world.fail_job("unit", B)
    B.approved = True
    world.approve(A)
    world.settle()
    world.release("unit", B)
    world.settle()

    # B fails: A is marked failing ("a needed change is failing") and its jobs stop.
    assert "a change it needs is failing" in world.waiting[A.number]
    assert [h.result for h in world.history if h.changes == "1,1 2,1"] == ["ABORTED"] * 2
    world.release_all()
    world.settle()
    world.assert_reported(B, "failure")
    world.assert_reported(A, "failure")
    assert "needs change 1" in world.last_report(A).message
    assert world.merged("org/project1") == world.merged("org/project2") == []


def test_depends_on_an_unapproved_change_waits_for_it(shared: World) -> None:
    world = shared
    B = world.add_change("org/project2")
    A = world.add_change("org/project1", needs=[B])
    world.approve(A)
    world.settle()

    assert world.queue() == []
    refusal = world.refusals[-1]
    assert refusal.reason == (
        "change 2,1 was not enqueued in gate: change 2,1 needs change 1,1, which is not "
        "approved for the gate pipeline yet; it is enqueued when that change is")
    assert not refusal.notify  # Zuul only logs this one

    # Approving B brings the already approved A in behind it.
    world.approve(B)
    assert world.queue() == ["1,1", "2,1"]
    world.settle()
    assert world.merged("org/project2") == [B.number]
    assert world.merged("org/project1") == [A.number]


def test_depends_on_a_change_in_another_queue_is_refused(shared: World) -> None:
    world = shared
    B = world.add_change("org/project3")
    A = world.add_change("org/project1", needs=[B])
    B.approved = True
    world.approve(A)

    assert world.queue() == []
    refusal = world.refusals[-1]
    assert refusal.notify
    assert "does not share a change queue with change 1,1" in refusal.reason
    assert "(queue org/project3, not integrated)" in refusal.reason

    # The needed change gates on its own; once it merged, a new approval takes A in.
    world.approve(B)
    world.settle()
    assert world.merged("org/project3") == [B.number]
    assert len(world.refusals) == 2 and not world.refusals[-1].notify
    world.approve(A)
    world.settle()
    world.assert_reported(A, "success")
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1"},
    ])


def test_needed_change_already_in_another_queue_is_refused(shared: World) -> None:
    world = shared
    world.hold_jobs()
    B = world.add_change("org/project3")
    A = world.add_change("org/project1", needs=[B])
    world.approve(B)
    world.approve(A)
    assert world.queue() == ["1,1"]
    assert "does not share a change queue" in world.refusals[-1].reason


def test_git_parent_stack_where_only_the_child_is_approved(world: World) -> None:
    B = world.add_change()
    C = world.add_change(parent=B)
    world.approve(C)
    world.settle()
    assert world.queue() == []
    assert "needs change 1,1, which is not approved" in world.refusals[-1].reason

    world.approve(B)
    assert world.queue() == ["1,1", "2,1"]
    world.settle()
    assert world.merged() == [B.number, C.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 2,1"},
    ])


def test_dependency_cycle_is_refused(world: World) -> None:
    A = world.add_change()
    B = world.add_change(needs=[A])
    A.needs.append(B.number)
    A.approved = B.approved = True
    world.approve(A)
    assert world.queue() == []
    assert "the dependencies form a cycle (1 -> 2 -> 1)" in world.refusals[-1].reason


def test_depends_on_a_merged_change_is_fine(world: World) -> None:
    B = world.add_change()
    world.approve(B)
    world.settle()
    A = world.add_change(needs=[B])
    world.approve(A)
    world.settle()
    assert world.merged() == [B.number, A.number]


def test_depends_on_in_check_tests_together_and_needed_change_runs_nothing(
        world: World) -> None:
    B = world.add_change("org/project2")
    A = world.add_change("org/project1", needs=[B])
    world.check(A)
    assert world.queue("check") == ["1,1", "2,1"]
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1", "pipeline": "check"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 2,1", "pipeline": "check"},
    ])
    world.assert_reported(A, "success", pipeline="check")
    world.assert_reported(B, pipeline="check")
    assert world.waiting[B.number] == (
        "not tested itself: merged in ahead of the change that needs it")
    assert world.votes(A)[-1] == (("Verified", 1),)
    assert world.merged("org/project1") == []  # check never submits
    assert world.queue("check") == []


def test_check_failure_follows_the_needed_change(world: World) -> None:
    B = world.add_change()
    A = world.add_change(needs=[B])
    world.fail_job("unit", B)
    world.check(A)
    world.check(B)
    world.settle()
    world.assert_reported(A, "failure", pipeline="check")
    world.assert_reported(B, "failure", pipeline="check")
    assert world.votes(A)[-1] == (("Verified", -1),)
