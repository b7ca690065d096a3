"""Stories about changes leaving the gate: new patch sets, lost approvals, abandons."""

from __future__ import annotations

from tests.gating.world import World


def test_new_patchset_dequeues_and_resets_behind(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    world.new_patchset(B)
    world.settle()
    world.assert_reported(B, "dequeue")
    assert "a new patch set was uploaded" in world.last_report(B).message
    assert world.queue() == ["1,1", "3,1"]

    world.release_all()
    world.settle()
    assert world.merged() == [A.number, C.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 3,1"},
    ])


def test_lost_approval_dequeues_with_reason(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    world.unapprove(B)
    world.settle()
    world.assert_reported(B, "failure")
    assert "can no longer merge" in world.last_report(B).message
    assert "approval was removed" in world.last_report(B).message

    world.release_all()
    world.settle()
    assert world.merged() == [A.number, C.number]
    assert [h.result for h in world.history if h.changes == "1,1 2,1 3,1"] == ["ABORTED"] * 2


def test_abandon_dequeues_the_change_and_its_dependents(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    D = world.add_change(needs=[B])
    for change in (A, B, D):
        world.approve(change)
    world.settle()
    assert world.queue() == ["1,1", "2,1", "3,1"]

    world.abandon(B)
    world.settle()
    world.assert_reported(B, "dequeue")
    world.assert_reported(D, "failure")
    assert "needs change 2" in world.last_report(D).message
    assert world.queue() == ["1,1"]

    world.release_all()
    world.settle()
    assert world.merged() == [A.number]


def test_operator_dequeue_and_unknown_change(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    world.approve(A)
    world.settle()
    world.dequeue(A)
    world.dequeue(B)
    world.settle()
    world.assert_reported(A, "dequeue")
    assert world.refusals[-1].reason == "change 2 is not in gate; nothing to dequeue"
