"""Early failure: a task of a run playbook that fails for good is told to the caller while the
build still runs (real nodes, real sandbox, real ``ansible-playbook``); ignored and rescued
failures, and a failing pre-run, are not.
"""

from __future__ import annotations

import threading
import time

import pytest

from keepgreen.executor.model import JobSpec, Result
from keepgreen.executor.runner import Executor
from tests.executor.conftest import ONE_NODE, Lines, Repo, request_for

pytestmark = pytest.mark.timeout(120)


class Told:
    """Records each early failure with the time it came, from the build's thread."""

    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.at: list[float] = []
        self.event = threading.Event()

    def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.at.append(time.monotonic())
        self.event.set()


def test_a_failed_run_task_is_told_once_before_post_run_ends(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Break on purpose
              command: sh -c 'echo tests say no >&2; exit 4'
        """)
    # Several failures on the way to the end must still make one call.
    post = repo.playbook("post", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Collect logs slowly
              command: sleep 6
        """)
    job = JobSpec(name="broken", run=(run,), post_run=(post,), nodes=ONE_NODE, attempts=1)
    told = Told()
    done: list[float] = []

    result = executor.run_build(request_for(job, repo), Lines(), on_early_failure=told)
    done.append(time.monotonic())

    assert result.result is Result.FAILURE
    assert told.reasons == ["task 'Break on purpose' failed on node: exit status 4: "
                            "tests say no"]
    # Told before the slow post-run even started its sleep to the end.
    assert done[0] - told.at[0] >= 5, (done[0] - told.at[0])
    assert result.log_dir is not None
    assert "[executor] early failure: task 'Break on purpose'" in (
        result.log_dir / "job-output.txt").read_text()


def test_ignored_and_rescued_failures_and_a_failing_pre_run_are_not_told(
        executor: Executor, repo: Repo) -> None:
    pre = repo.playbook("pre", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Flaky setup
              command: "false"
        """)
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - name: Allowed to fail
              command: "false"
              ignore_errors: true
            - block:
                - name: Caught by rescue
                  command: "false"
              rescue:
                - name: Recover
                  debug: {msg: recovered}
            - name: Still fine
              command: "true"
        """)
    told = Told()

    passed = executor.run_build(request_for(
        JobSpec(name="tolerant", run=(run,), nodes=ONE_NODE, attempts=1), repo), Lines(),
        on_early_failure=told)
    assert passed.result is Result.SUCCESS, passed.reason

    pre_failed = executor.run_build(request_for(
        JobSpec(name="setup", pre_run=(pre,), run=(run,), nodes=ONE_NODE, attempts=1),
        repo), Lines(), on_early_failure=told)
    assert pre_failed.result is Result.RETRY_LIMIT, pre_failed.reason

    assert told.reasons == []


def test_a_failure_in_always_after_a_rescue_block_is_told(
        executor: Executor, repo: Repo) -> None:
    run = repo.playbook("run", """
        - hosts: all
          gather_facts: false
          tasks:
            - block:
                - debug: {msg: fine}
              rescue:
                - debug: {msg: never}
              always:
                - name: Cleanup fails
                  command: "false"
        """)
    told = Told()

    result = executor.run_build(request_for(
        JobSpec(name="cleanup", run=(run,), nodes=ONE_NODE, attempts=1), repo), Lines(),
        on_early_failure=told)

    assert result.result is Result.FAILURE
    assert len(told.reasons) == 1 and "'Cleanup fails'" in told.reasons[0]
