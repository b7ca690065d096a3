"""Early failure (Zuul's): a build's run playbook has a task that failed for good, told
before the build ends so a gate can reset the items behind it at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from keepgreen.executor import verdict
from keepgreen.executor.ansible_process import EventTail, OutputLog

EarlyFailureSink = Callable[[str], None]
"""Told once, with a one-line reason, that a build's run playbook has a failed task."""


class OnlyFirst:
    """Passes the first early failure of a build on, and only the first."""

    def __init__(self, sink: EarlyFailureSink) -> None:
        self.sink = sink
        self.told = False

    def __call__(self, reason: str) -> None:
        if self.told:
            return
        self.told = True
        try:
            self.sink(reason)
        except Exception:  # noqa: BLE001 - whoever listens must not break the build
            pass


def failure_watch(events: Path, early: EarlyFailureSink | None,
                   log: OutputLog) -> Callable[[], None] | None:
    """A watch for ``ansible_process.run`` that tells ``early`` of a failed task as soon
    as the callback plugin records one."""
    if early is None:
        return None
    tail = EventTail(events)
    seen: list[bool] = []

    def watch() -> None:
        if seen:
            return
        for event in tail.new():
            if event.get("event") == "failed":
                seen.append(True)
                reason = verdict.one_line(
                    f"task {event.get('task')!r} failed on {event.get('host')}: "
                    f"{event.get('msg') or 'no message'}")
                log.line(f"[executor] early failure: {reason}")
                early(reason)
                return

    return watch
