"""Stories about the other managers: independent check, serial deploy, supercedent post."""

from __future__ import annotations

from tests.gating.world import World


def test_check_tests_each_change_alone(world: World) -> None:
    A, B = world.add_change(), world.add_change()
    world.fail_job("unit", A)
    world.check(A)
    world.check(B)
    world.settle()
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1", "pipeline": "check"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1", "pipeline": "check"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1", "pipeline": "check"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1", "pipeline": "check"},
    ])
    world.assert_reported(A, "failure", pipeline="check")
    world.assert_reported(B, "success", pipeline="check")


def test_check_has_no_window_and_reports_in_any_order(world: World) -> None:
    world.hold_jobs()
    changes = [world.add_change() for _ in range(25)]
    for change in changes:
        world.check(change)
    world.settle()
    assert len(world.held) == 50  # every change runs at once
    world.release(change=changes[-1])
    world.settle()
    world.assert_reported(changes[-1], "success", pipeline="check")
    world.assert_reported(changes[0], pipeline="check")


def test_recheck_of_a_running_change_is_refused_and_a_new_patchset_replaces_it(
        world: World) -> None:
    world.hold_jobs()
    A = world.add_change()
    world.check(A)
    world.check(A)
    assert world.refusals[-1].reason == "change 1,1 is already in the check pipeline"
    A.patchset = 2
    world.check(A)
    world.settle()
    world.assert_reported(A, "dequeue", pipeline="check")
    assert world.queue("check") == ["1,2"]


def test_serial_runs_one_item_at_a_time(world: World) -> None:
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    A.merged = B.merged = True
    world.enqueue(A, "deploy")
    world.enqueue(B, "deploy")
    world.settle()
    assert {world.running[b].change.key for b in world.held} == {"1,1"}
    assert world.waiting[B.number] == (
        "waiting for the item ahead to finish: the deploy pipeline tests one item at a time "
        "per queue")
    world.fail_job("unit", A)
    world.release_all()
    world.settle()
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1", "pipeline": "deploy"},
        {"name": "unit", "result": "FAILURE", "changes": "1,1", "pipeline": "deploy"},
        {"name": "lint", "result": "SUCCESS", "changes": "2,1", "pipeline": "deploy"},
        {"name": "unit", "result": "SUCCESS", "changes": "2,1", "pipeline": "deploy"},
    ])
    # A failing changes nothing for B: serial items are tested alone, one after another.
    assert world.reported(A, "deploy") == ["failure"]
    assert world.reported(B, "deploy") == ["success"]
    assert all(r.votes == () for r in world.reports)  # post-merge pipelines do not vote


def test_supercedent_post_with_three_quick_merges(world: World) -> None:
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        change.merged = True
        world.enqueue(change, "post")
        world.settle()

    # A is running; B was superseded by C before it started.
    assert world.queue("post") == ["1,1", "3,1"]
    assert world.reported(B, "post") == ["superseded"]
    assert "superseded in the post pipeline by 3,1" in world.last_report(B).message
    world.release_all()
    world.settle()
    world.assert_history([
        {"name": "lint", "result": "SUCCESS", "changes": "1,1", "pipeline": "post"},
        {"name": "unit", "result": "SUCCESS", "changes": "1,1", "pipeline": "post"},
        {"name": "lint", "result": "SUCCESS", "changes": "3,1", "pipeline": "post"},
        {"name": "unit", "result": "SUCCESS", "changes": "3,1", "pipeline": "post"},
    ])
    assert world.queue("post") == []


def test_supercedent_queues_are_per_project_and_branch(world: World) -> None:
    world.hold_jobs()
    A = world.add_change("org/project1")
    B = world.add_change("org/project2")
    C = world.add_change("org/project1", "stable")
    for change in (A, B, C):
        change.merged = True
        world.enqueue(change, "post")
    world.settle()
    assert sorted(world.running[b].change.key for b in world.held) == (
        ["1,1", "1,1", "2,1", "2,1", "3,1", "3,1"])


def test_unknown_pipeline_is_refused(world: World) -> None:
    A = world.add_change()
    world.enqueue(A, "gate2")
    assert world.refusals[-1].reason == (
        "there is no pipeline 'gate2' (pipelines: check, gate, post, deploy)")
