"""Stories about semaphores: jobs that share one run one (or ``max``) at a time."""

from __future__ import annotations

from keepgreen.gating import Job, JobGraph, Semaphore, StartBuild
from tests.gating.world import World

DEPLOY = Semaphore("prod-deploy", 1)


def started(world: World, job: str) -> list[int]:
    """The changes a build of ``job`` was started for, in order."""
    return [a.change.number for a in world.actions
            if isinstance(a, StartBuild) and a.job == job]


def test_jobs_sharing_a_semaphore_run_one_at_a_time(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of("unit", Job("deploy", semaphores=(DEPLOY,)))
    world.hold_jobs()
    A, B = world.add_change(), world.add_change()
    world.check(A)
    world.check(B)
    world.settle()

    # Both run unit, but only A's deploy started: B's is not started (no node asked for).
    assert started(world, "deploy") == [A.number]
    assert started(world, "unit") == [A.number, B.number]
    assert world.waiting[B.number] == (
        "job deploy waits for semaphore prod-deploy (1 of 1 held)")

    world.release("deploy", A)
    world.settle()
    assert started(world, "deploy") == [A.number, B.number]
    assert world.waiting[B.number] == ""


def test_max_lets_that_many_run(world: World) -> None:
    pair = Semaphore("pair", 2)
    world.jobs["org/project"] = JobGraph.of(Job("deploy", semaphores=(pair,)))
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.check(change)
    world.settle()
    assert started(world, "deploy") == [A.number, B.number]
    assert "pair (2 of 2 held)" in world.waiting[C.number]


def test_semaphores_span_pipelines_and_projects(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(Job("deploy", semaphores=(DEPLOY,)))
    world.jobs["org/other"] = JobGraph.of(Job("migrate", semaphores=(DEPLOY,)))
    world.hold_jobs()
    A = world.add_change()
    B = world.add_change("org/other")
    world.approve(A)
    world.check(B)
    world.settle()
    assert started(world, "deploy") == [A.number]
    assert started(world, "migrate") == []

    world.release("deploy", A)
    world.settle()
    assert started(world, "migrate") == [B.number]


def test_a_slot_is_freed_when_the_item_leaves_or_the_build_is_cancelled(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(Job("deploy", semaphores=(DEPLOY,)))
    world.hold_jobs()
    A, B, C = world.add_change(), world.add_change(), world.add_change()
    for change in (A, B, C):
        world.check(change)
    world.settle()
    assert started(world, "deploy") == [A.number]

    world.abandon(A)  # the holder leaves the pipeline: its build is cancelled
    world.settle()
    assert started(world, "deploy") == [A.number, B.number]

    world.new_patchset(B)  # B's build is cancelled; its new patch set is not re-checked
    world.settle()
    assert started(world, "deploy") == [A.number, B.number, C.number]


def test_a_failed_holder_frees_the_slot_and_others_still_succeed(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(Job("deploy", semaphores=(DEPLOY,)))
    A, B = world.add_change(), world.add_change()
    world.fail_job("deploy", A)
    world.check(A)
    world.check(B)
    world.settle()
    world.assert_reported(A, "failure", pipeline="check")
    world.assert_reported(B, "success", pipeline="check")


def test_jobs_without_semaphores_are_not_held_back(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of("unit", Job("deploy", semaphores=(DEPLOY,)))
    world.hold_jobs()
    changes = [world.add_change() for _ in range(3)]
    for change in changes:
        world.check(change)
    world.settle()
    assert len(started(world, "unit")) == 3
    assert len(started(world, "deploy")) == 1
