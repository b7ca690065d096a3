"""Zuul's rules for what a build's playbook runs add up to. Pure: values in, verdict out.

The rules (Zuul's ``AnsibleJob.runPlaybooks``):

- A pre-run playbook that fails, times out or cannot reach a node makes the attempt a
  *retry* (the build is tried again on fresh nodes, up to ``attempts``, then RETRY_LIMIT),
  unless the job returned ``zuul: {retry: false}``, which makes it a FAILURE.
- A run playbook that fails makes FAILURE; one that times out makes TIMED_OUT; an
  unreachable node makes a retry.
- A failing post-run playbook makes POST_FAILURE, over SUCCESS and FAILURE alike, but
  never over a pre-run failure, a timeout or a retry. An unreachable node in post-run
  makes a retry too.
- Aborting wins over everything; an executor error (no sandbox, no Ansible, a missing
  playbook) makes ERROR and is not retried.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from keepgreen.executor.model import Result

REASON_LIMIT = 300


class Status(enum.Enum):
    """How one ``ansible-playbook`` run ended."""

    OK = "ok"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    TIMED_OUT = "timed out"
    ABORTED = "aborted"
    ERROR = "error"


@dataclass(frozen=True)
class PlaybookRun:
    """One playbook run: its phase (``pre``, ``run``, ``post``), which playbook, how it
    ended and, when it did not end well, a one-line ``detail`` saying why; how many
    ``seconds`` it took. A ``step`` is the executor's own work in that phase (placing the
    sources, collecting the logs) rather than a playbook, and counts as one."""

    phase: str
    playbook: str
    status: Status
    detail: str = ""
    seconds: float = 0.0
    step: bool = False

    def describe(self) -> str:
        where = {"pre": "pre-run", "run": "run", "post": "post-run"}.get(self.phase, self.phase)
        if self.step:
            text = f"{where} step {self.playbook} {self.status.value}"
        else:
            text = f"{where} playbook {self.playbook} {self.status.value}"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass(frozen=True)
class Verdict:
    """The attempt's result, or ``None`` when the build should be tried again."""

    result: Result | None
    reason: str

    @property
    def retry(self) -> bool:
        return self.result is None


def one_line(text: str, limit: int = REASON_LIMIT) -> str:
    """Collapse whitespace and cut to ``limit`` characters, for reasons and comments."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def decide(runs: Sequence[PlaybookRun], *, no_retry: bool = False) -> Verdict:
    """What the playbook runs of one attempt add up to.

    ``no_retry`` is the job's ``zuul_return`` of ``zuul.retry: false``.
    """
    for run in runs:
        if run.status is Status.ABORTED:
            return Verdict(Result.ABORTED, one_line(f"aborted during {run.describe()}"))
    for run in runs:
        if run.status is Status.ERROR:
            return Verdict(Result.ERROR, one_line(run.describe()))

    pre_failure = next((r for r in runs if r.phase == "pre" and r.status is not Status.OK),
                       None)
    run_failure = next((r for r in runs if r.phase == "run" and r.status is not Status.OK),
                       None)
    post_failures = [r for r in runs if r.phase == "post" and r.status is not Status.OK]
    unreachable_post = next((r for r in post_failures if r.status is Status.UNREACHABLE),
                            None)

    if pre_failure is not None:
        if no_retry:
            return Verdict(Result.FAILURE, one_line(
                f"{pre_failure.describe()} (the job asked not to be retried)"))
        return Verdict(None, one_line(pre_failure.describe()))

    result = Result.SUCCESS
    reason = "all playbooks succeeded"
    if run_failure is not None:
        if run_failure.status is Status.UNREACHABLE:
            return Verdict(None, one_line(run_failure.describe()))
        result = (Result.TIMED_OUT if run_failure.status is Status.TIMED_OUT
                  else Result.FAILURE)
        reason = run_failure.describe()
    elif not any(r.phase == "run" for r in runs):
        reason = "the job has no run playbook; pre-run and post-run succeeded"
    if unreachable_post is not None:
        return Verdict(None, one_line(unreachable_post.describe()))
    if post_failures and result in (Result.SUCCESS, Result.FAILURE):
        post_reason = post_failures[0].describe()
        if result is Result.FAILURE:
            post_reason += f"; before that, {reason}"
        return Verdict(Result.POST_FAILURE, one_line(post_reason))
    return Verdict(result, one_line(reason))


def retry_limit(attempts: int, last_reason: str) -> Verdict:
    """The verdict of a build whose every attempt asked for a retry."""
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    return Verdict(Result.RETRY_LIMIT, one_line(f"gave up after {tries}: {last_reason}"))
