"""Stories about jobs: voting, results, retries, the job graph and speculative config."""

from __future__ import annotations

import pytest

from keepgreen.gating import Job, JobGraph
from tests.gating.world import World


def test_non_voting_failure_does_not_block(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of("lint", "unit", Job("docs", voting=False))
    A = world.add_change()
    world.fail_job("docs", A)
    world.approve(A)
    world.settle()

    world.assert_reported(A, "success")
    assert world.merged() == [A.number]
    assert "- docs FAILURE in 0s (non-voting)" in world.last_report(A).message


@pytest.mark.parametrize("result", ["POST_FAILURE", "TIMED_OUT", "NODE_FAILURE"])
def test_failed_results_fail_the_item(world: World, result: str) -> None:
    A = world.add_change()
    world.fail_job("unit", A, result)
    world.approve(A)
    world.settle()
    world.assert_reported(A, "failure")
    assert f"job unit failed ({result})" in world.last_report(A).message
    assert world.merged() == []


def test_retry_until_the_attempts_run_out(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of("lint", Job("unit", attempts=3))
    A = world.add_change()
    world.fail_job("unit", A, "RETRY")
    world.approve(A)
    world.settle()

    world.assert_history([
        {"name": "lint", "result": "SUCCESS"},
        {"name": "unit", "result": "RETRY"},
        {"name": "unit", "result": "RETRY"},
        {"name": "unit", "result": "RETRY"},
    ])
    assert [h.attempt for h in world.history if h.name == "unit"] == [1, 2, 3]
    world.assert_reported(A, "failure")
    assert "job unit failed (RETRY_LIMIT)" in world.last_report(A).message


def test_job_graph_skips_dependents_of_a_failed_job(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(
        "build", Job.of("test", "build"), Job.of("docs", soft=("docs-prep",)))
    A = world.add_change()
    world.fail_job("build", A)
    world.check(A)
    world.settle()

    # test never ran; docs' soft dependency is not in the graph, so docs ran anyway.
    world.assert_history([
        {"name": "build", "result": "FAILURE"},
        {"name": "docs", "result": "SUCCESS"},
    ])
    report = world.last_report(A)
    assert [(b.job, b.result) for b in report.builds] == [
        ("build", "FAILURE"), ("test", "SKIPPED"), ("docs", "SUCCESS")]


def test_job_graph_runs_dependents_after_their_dependencies(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(
        "build", Job.of("test", "build"), Job.of("publish", "test", soft=("build",)))
    world.hold_jobs()
    A = world.add_change()
    world.check(A)
    world.settle()
    assert [world.running[b].job for b in world.held] == ["build"]
    assert world.waiting[A.number] == ""
    world.release("build")
    world.settle()
    assert [world.running[b].job for b in world.held] == ["test"]
    world.release_all()
    world.settle()
    assert [h.name for h in world.history] == ["build", "test", "publish"]
    world.assert_reported(A, "success", pipeline="check")


def test_soft_dependency_on_a_skipped_job_still_runs(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(
        Job("base", voting=False), Job.of("prep", "base"), Job.of("final", soft=("prep",)))
    A = world.add_change()
    world.fail_job("base", A)
    world.check(A)
    world.settle()
    results = [(b.job, b.result) for b in world.last_report(A).builds]
    assert results == [("base", "FAILURE"), ("prep", "SKIPPED"), ("final", "SUCCESS")]
    world.assert_reported(A, "success", pipeline="check")


def test_speculative_config_adds_a_job_for_the_change_and_the_items_behind(
        world: World) -> None:
    A, B = world.add_change(), world.add_change()
    world.add_job_in(A, Job("new-job"))
    world.check(A)
    world.settle()
    world.assert_history([
        {"name": "lint", "changes": "1,1", "pipeline": "check"},
        {"name": "unit", "changes": "1,1", "pipeline": "check"},
        {"name": "new-job", "result": "SUCCESS", "changes": "1,1", "pipeline": "check"},
    ])

    world.history.clear()
    world.approve(A)
    world.approve(B)
    world.settle()
    world.assert_history([
        {"name": "lint", "changes": "1,1"},
        {"name": "unit", "changes": "1,1"},
        {"name": "new-job", "changes": "1,1"},
        {"name": "lint", "changes": "1,1 2,1"},
        {"name": "unit", "changes": "1,1 2,1"},
        {"name": "new-job", "changes": "1,1 2,1"},
    ])


def test_broken_config_is_reported_and_runs_no_jobs(world: World) -> None:
    A = world.add_change()
    world.break_config(A, ".zuul.yaml:3: job 'unit' has no attribute 'nodset' (did you "
                          "mean 'nodeset'?)")
    world.check(A)
    world.settle()
    world.assert_history([])
    world.assert_reported(A, "config-error", pipeline="check")
    message = world.last_report(A).message
    assert ".zuul.yaml:3:" in message and "No jobs ran" in message
    assert world.votes(A)[-1] == (("Verified", -1),)


def test_an_invalid_job_graph_is_a_config_error(world: World) -> None:
    world.jobs["org/project"] = JobGraph.of(Job.of("test", "build"))
    A = world.add_change()
    world.approve(A)
    world.settle()
    world.assert_reported(A, "config-error")
    assert "depends on 'build', which is not in the job graph" in world.last_report(A).message


def test_no_jobs_is_reported_and_does_not_merge(world: World) -> None:
    world.jobs["org/project"] = JobGraph()
    A = world.add_change()
    world.approve(A)
    world.settle()
    world.assert_reported(A, "no-jobs")
    assert world.merged() == []


def test_durations_come_from_the_clock_events(world: World) -> None:
    world.hold_jobs()
    A = world.add_change()
    world.check(A)
    world.settle()
    world.advance(65)
    world.release_all()
    world.settle()
    assert "- lint SUCCESS in 1m 05s" in world.last_report(A).message
    assert [b.duration for b in world.last_report(A).builds] == [65, 65]
