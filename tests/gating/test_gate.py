"""Gate stories (dependent pipeline): speculative queues and the nearest non-failing item."""

from __future__ import annotations

from keepgreen.gating import PipelineConfig, WindowPolicy
from tests.gating.world import World


def test_one_approved_change_merges(world: World) -> None:
    A = world.add_change()
    world.approve(A)
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
    ])
    world.assert_reported(A, "success")
    assert world.votes(A) == [(("Verified", 0),), (("Verified", 2),)]
    assert world.last_report(A).submit
    assert world.merged() == [A.number]
    assert world.queue() == []


def test_failed_change_in_middle(world: World) -> None:
    # A, B, C approved; B's unit job fails: A and C merge, C is re-tested without B,
    # and B is reported only once it reaches the head of the queue.
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.fail_job("unit", B)
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    assert world.queue() == ["1,1", "2,1", "3,1"]

    world.release(change=B)
    world.settle()
    # B is failing but A is still ahead of it: not reported yet, and C already moved.
    world.assert_reported(B)
    assert "reported when it reaches the head" in world.waiting[B.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
    ])

    world.release_all()
    world.settle()
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 3,1"},
    ])
    world.assert_reported(A, "success")
    world.assert_reported(B, "failure")
    world.assert_reported(C, "success")
    assert "job unit failed (FAILURE)" in world.last_report(B).message
    assert world.votes(B)[-1] == (("Verified", -2),)
    assert world.merged() == [A.number, C.number]
    kinds = [(r.change.number, r.kind) for r in world.reports if r.kind != "start"]
    assert kinds == [(1, "success"), (2, "failure"), (3, "success")]


def test_failed_change_at_head(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.fail_job("unit", A)
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    world.release("unit", A)
    world.settle()
    # A keeps running its lint job; B and C were already reset onto the branch tip.
    world.assert_reported(A)
    assert world.waiting[A.number] == (
        "failing: job unit failed (FAILURE); reported when its last jobs finish")
    world.release_all()
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1 3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1 3,1"},
    ])
    world.assert_reported(A, "failure")
    assert world.merged() == [B.number, C.number]


def test_two_failed_changes_at_head(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.fail_job("unit", A)
    world.fail_job("unit", B)
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    world.release("unit", A)
    world.settle()
    world.release_all()
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "FAILURE", "changes": "2,1"},
        {"name": "lint", "result": "ABORTED", "changes": "2,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "2,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1"},
    ])
    world.assert_reported(A, "failure")
    world.assert_reported(B, "failure")
    world.assert_reported(C, "success")
    assert world.merged() == [C.number]


def test_window_limits_and_grows() -> None:
    world = World(gate_window=WindowPolicy(start=2, floor=1))
    world.project_queues["org/project"] = "integrated"
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.fail_job("unit", A)
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    # Only the first two items are tested; C waits outside the window, and says so.
    assert {h.changes for h in world.history} == set()
    assert sorted(world.held) and world.started_jobs(C) == []
    assert world.waiting[C.number] == (
        "outside the window: position 3 in queue integrated, window 2")
    assert world.window("integrated") == 2

    world.release(change=A)
    world.settle()
    # A failed at the head: the window halves to the floor, and C still waits.
    world.assert_reported(A, "failure")
    assert world.window("integrated") == 1
    assert "window 1" in world.waiting[C.number]

    world.release_all()
    world.settle()
    assert world.merged() == [B.number, C.number]
    assert world.window("integrated") == 3  # +1 per merge
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1"},
    ])


def test_merge_conflict_with_item_ahead(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.conflict(A, B)
    for change in (A, B, C):
        world.approve(change)
    world.settle()

    # B cannot merge onto A: it runs no jobs, gets no start report, and waits for the head.
    assert world.started_jobs(B) == []
    assert "start" not in [r.kind for r in world.reports if r.change.number == B.number]
    assert "merge conflict" in world.waiting[B.number]
    world.assert_reported(B)

    world.release_all()
    world.settle()
    world.assert_reported(A, "success")
    world.assert_reported(B, "merge-conflict")
    world.assert_reported(C, "success")
    assert "Rebase it" in world.last_report(B).message
    assert world.merged() == [A.number, C.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 3,1"},
    ])


def test_conflict_only_with_failing_item_ahead_is_merged_again(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    world.conflict(A, B)
    world.fail_job("unit", A)
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    world.release_all()
    world.settle()

    # A failed, so B's conflict with it no longer matters: B was merged again on the tip.
    world.assert_reported(A, "failure")
    world.assert_reported(B, "success")
    world.assert_reported(C, "success")
    assert world.merged() == [B.number, C.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 3,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 3,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1 3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1 3,1"},
    ])


def test_submit_failure_resets_the_items_behind(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    world.submit_fails.add(A.number)
    world.approve(A)
    world.approve(B)
    world.settle()
    world.release_all()
    world.settle()

    world.assert_reported(A, "success", "merge-failure")
    world.assert_reported(B, "success")
    assert world.merged() == [B.number]
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "unit", "result": "ABORTED", "changes": "1,1 2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1"},
    ])


def test_early_failure_resets_items_behind_before_the_build_ends(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    world.fail_early("unit", A)
    world.approve(A)
    world.approve(B)
    world.settle()

    # A's unit job is still running (held), yet B was already moved onto the branch tip.
    assert [h.changes for h in world.history] == ["1,1 2,1", "1,1 2,1"]
    assert {world.running[b].change.key for b in world.held} == {"1,1", "2,1"}
    assert all(world.running[b].changes[0].key == "2,1"
               for b in world.held if world.running[b].change.key == "2,1")
    world.release_all()
    world.settle()
    world.assert_reported(A, "failure")
    assert world.merged() == [B.number]


def test_every_waiting_item_says_why(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    world.approve(A)
    world.approve(B)
    world.settle()
    assert world.waiting == {A.number: "", B.number: ""}  # both running
    world.release(change=B)
    world.settle()
    assert world.waiting[B.number] == (
        "all jobs finished; waiting for the item ahead to merge (behind 1,1)")


def test_shared_queue_tests_projects_together() -> None:
    world = World()
    world.project_queues.update({"org/project1": "integrated", "org/project2": "integrated"})
    A = world.add_change("org/project1")
    B = world.add_change("org/project2")
    C = world.add_change("org/project3")  # no shared queue: it gates alone
    for change in (A, B, C):
        world.approve(change)
    world.settle()
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1 2,1"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1"},
    ])
    assert world.merged("org/project1") == [1]
    assert world.merged("org/project2") == [2]


def test_per_branch_queues_gate_branches_apart() -> None:
    world = World([PipelineConfig("gate", "dependent", per_branch=True)])
    world.project_queues["org/project"] = "integrated"
    world.hold_jobs()
    A = world.add_change(branch="main")
    B = world.add_change(branch="stable")
    world.approve(A)
    world.approve(B)
    world.settle()
    found = world.state.pipeline("gate")
    assert found is not None
    assert [q.name for q in found.queues] == ["integrated@main", "integrated@stable"]
    assert sorted(world.running[b].changes[0].key for b in world.held) == [
        "1,1", "1,1", "2,1", "2,1"]
