"""Zuul's result rules, as values: what a set of playbook runs adds up to."""

from __future__ import annotations

import pytest

from keepgreen.executor.model import Result
from keepgreen.executor.verdict import PlaybookRun, Status, decide, one_line, retry_limit

OK = Status.OK


def run(phase: str, status: Status = OK, detail: str = "", name: str = "") -> PlaybookRun:
    return PlaybookRun(phase, name or f"playbooks/{phase}.yaml", status, detail)


@pytest.mark.parametrize(("runs", "expected"), [
    ([run("pre"), run("run"), run("post")], Result.SUCCESS),
    ([run("run", Status.FAILED, "task 'x' failed"), run("post")], Result.FAILURE),
    ([run("run"), run("post", Status.FAILED)], Result.POST_FAILURE),
    ([run("run"), run("post", Status.TIMED_OUT)], Result.POST_FAILURE),
    # Zuul lets a post failure override FAILURE too...
    ([run("run", Status.FAILED), run("post", Status.FAILED)], Result.POST_FAILURE),
    # ...but never a timeout.
    ([run("run", Status.TIMED_OUT), run("post", Status.FAILED)], Result.TIMED_OUT),
    ([run("pre"), run("run", Status.ERROR, "playbook missing")], Result.ERROR),
    ([run("pre"), run("run", Status.ABORTED), run("post", Status.FAILED)], Result.ABORTED),
])
def test_results_follow_zuuls_rules(runs: list[PlaybookRun], expected: Result) -> None:
    assert decide(runs).result is expected


@pytest.mark.parametrize("runs", [
    [run("pre", Status.FAILED), run("post")],
    [run("pre", Status.TIMED_OUT)],
    [run("pre"), run("run", Status.UNREACHABLE), run("post")],
    [run("run"), run("post", Status.UNREACHABLE)],
    # A post failure does not turn a pre-run failure into POST_FAILURE.
    [run("pre", Status.FAILED), run("post", Status.FAILED)],
])
def test_pre_run_failures_and_unreachable_nodes_are_retried(runs: list[PlaybookRun]) -> None:
    outcome = decide(runs)
    assert outcome.retry and outcome.result is None


def test_a_job_can_refuse_retries_of_its_pre_run_failure() -> None:
    outcome = decide([run("pre", Status.FAILED, "task 'setup' failed")], no_retry=True)
    assert outcome.result is Result.FAILURE
    assert "asked not to be retried" in outcome.reason


def test_reasons_name_the_phase_playbook_and_task_on_one_line() -> None:
    outcome = decide([run("run", Status.FAILED, "task 'Compile'\nfailed on node: exit 2")])
    assert outcome.reason == ("run playbook playbooks/run.yaml failed: task 'Compile' "
                              "failed on node: exit 2")
    post = decide([run("run", Status.FAILED, "task 'a' failed"),
                   run("post", Status.FAILED, "task 'upload' failed")])
    assert post.reason.startswith("post-run playbook playbooks/post.yaml failed: task "
                                  "'upload' failed; before that, run playbook")
    assert "\n" not in one_line("a\nb" * 500) and len(one_line("x" * 1000)) == 300


def test_retry_limit_counts_the_attempts() -> None:
    limit = retry_limit(2, "pre-run playbook p failed: boom")
    assert limit.result is Result.RETRY_LIMIT
    assert limit.reason == "gave up after 2 attempts: pre-run playbook p failed: boom"


def test_a_job_without_run_playbooks_succeeds_when_the_rest_does() -> None:
    assert decide([run("pre"), run("post")]).result is Result.SUCCESS
