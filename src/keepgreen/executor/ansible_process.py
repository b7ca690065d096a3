"""Run one ``ansible-playbook`` (in its sandbox) and stream its output line by line.

Each line goes to the live-log callback as it arrives and to ``job-output.txt`` with a
timestamp, as Zuul's ``job-output.txt`` has. A deadline or an abort kills the whole
process group at once (SIGKILL): bubblewrap's ``--die-with-parent`` then takes down
everything inside the sandbox, ssh control masters included.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from keepgreen.executor.secrets import Redactor
from keepgreen.executor.verdict import PlaybookRun, Status

LineSink = Callable[[str], None]
TAIL_LINES = 40


@dataclass(frozen=True)
class ProcessOutcome:
    """How the process ended: exit status (None when killed), whether by deadline or
    abort, and its last lines of output."""

    returncode: int | None
    timed_out: bool = False
    aborted: bool = False
    seconds: float = 0.0
    tail: tuple[str, ...] = ()
    start_error: str | None = None


@dataclass
class OutputLog:
    """Where a build's output goes: ``job-output.txt`` and the live-log callback."""

    path: Path
    on_line: LineSink | None = None
    redactor: Redactor = field(default_factory=Redactor)  # secrets never reach the log
    _handle: IO[str] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def open(self) -> None:
        self._handle = self.path.open("a", encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def line(self, text: str) -> None:
        text = text.rstrip("\r\n")
        if self.redactor:
            text = self.redactor(text)
        stamp = datetime.datetime.now().isoformat(sep=" ", timespec="milliseconds")
        with self._lock:
            if self._handle is not None:
                self._handle.write(f"{stamp} | {text}\n")
                self._handle.flush()
        if self.on_line is not None:
            try:
                self.on_line(text)
            except Exception:  # a broken follower must not break the build
                self.on_line = None


def run(argv: Sequence[str], env: Mapping[str, str], log: OutputLog, *,
        timeout: float | None, abort: threading.Event,
        watch: Callable[[], None] | None = None) -> ProcessOutcome:
    """Run ``argv`` to the end, the deadline or an abort, whichever comes first.
    ``watch`` is called about ten times a second while it runs, and once after it ended."""
    started = time.monotonic()
    tail: list[str] = []
    try:
        process = subprocess.Popen(
            list(argv), env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as exc:
        return ProcessOutcome(None, start_error=f"cannot start {argv[0]}: {exc}")

    def pump() -> None:
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            tail.append(text)
            if len(tail) > TAIL_LINES:
                del tail[0]
            log.line(text)

    reader = threading.Thread(target=pump, name="ansible-output", daemon=True)
    reader.start()
    deadline = None if timeout is None else started + max(timeout, 0.0)
    timed_out = aborted = False
    while True:
        wait = 0.1 if deadline is None else min(0.1, max(deadline - time.monotonic(), 0))
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            pass
        if watch is not None:
            watch()
        if abort.is_set():
            aborted = True
        elif deadline is not None and time.monotonic() >= deadline:
            timed_out = True
        if aborted or timed_out:
            _kill_group(process)
            process.wait()
            break
    reader.join(timeout=10)
    if process.stdout is not None:
        process.stdout.close()
    if watch is not None:
        watch()
    return ProcessOutcome(None if (timed_out or aborted) else process.returncode,
                          timed_out=timed_out, aborted=aborted,
                          seconds=time.monotonic() - started, tail=tuple(tail))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class EventTail:
    """Follows the ``keepgreen_events`` file while the playbook writes it: ``new`` returns
    the events of the lines completed since the last call (a line still being written is
    left for the next one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def new(self) -> list[dict[str, Any]]:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self._offset += end + 1
        events: list[dict[str, Any]] = []
        for line in chunk[:end].decode("utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events


def read_events(path: Path) -> list[dict[str, Any]]:
    """The failure and unreachable events the ``keepgreen_events`` callback recorded."""
    events: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return events
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def classify(phase: str, label: str, outcome: ProcessOutcome, events: list[dict[str, Any]],
             timeout: float | None, limit: str = "") -> PlaybookRun:
    """Turn one ``ansible-playbook`` run into a ``PlaybookRun`` with a one-line detail;
    ``limit`` names the limit that ``timeout`` is (``timeout``, ``pre-timeout``…)."""
    if outcome.start_error is not None:
        return PlaybookRun(phase, label, Status.ERROR, outcome.start_error)
    if outcome.aborted:
        return PlaybookRun(phase, label, Status.ABORTED, "the build was aborted")
    if outcome.timed_out:
        limit = limit or ("post-timeout" if phase == "post" else "timeout")
        seconds = f" of {timeout:g} s" if timeout is not None else ""
        task = _last_task(outcome.tail)
        during = f" during task {task!r}" if task else ""
        return PlaybookRun(phase, label, Status.TIMED_OUT, f"exceeded the {limit}{seconds}"
                           f"{during}")
    sandbox_error = next((line for line in outcome.tail if line.startswith("bwrap:")), None)
    if sandbox_error is not None:
        return PlaybookRun(phase, label, Status.ERROR, f"sandbox failed: {sandbox_error}")
    unreachable = [e for e in events if e.get("event") == "unreachable"]
    if unreachable:
        first = unreachable[0]
        return PlaybookRun(phase, label, Status.UNREACHABLE,
                           f"node {first.get('host')} unreachable: "
                           f"{ssh_problem(str(first.get('msg') or ''))}")
    if outcome.returncode == 0:
        return PlaybookRun(phase, label, Status.OK)
    failures = [e for e in events if e.get("event") == "failed"]
    if failures:
        first = failures[0]
        return PlaybookRun(phase, label, Status.FAILED,
                           f"task {first.get('task')!r} failed on {first.get('host')}: "
                           f"{first.get('msg') or 'no message'}")
    error = next((line for line in reversed(outcome.tail)
                  if line.startswith(("ERROR!", "[ERROR]"))), None)
    detail = error or f"ansible-playbook exited with status {outcome.returncode}"
    return PlaybookRun(phase, label, Status.FAILED, detail)


_SSH_PROBLEMS = (
    ("Host key verification failed", "host key verification failed: the node's host key "
     "does not match the one its provider recorded"),
    ("Permission denied", "ssh login refused (permission denied)"),
    ("Connection refused", "connection refused"),
    ("timed out", "connection timed out"),
    ("cannot reach the node relay", "the executor's relay to the node is gone"),
)


def ssh_problem(message: str) -> str:
    """The gist of an ssh failure: its known cause, else its last line."""
    for needle, gist in _SSH_PROBLEMS:
        if needle in message:
            return gist
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _last_task(tail: tuple[str, ...]) -> str | None:
    for line in reversed(tail):
        match = re.match(r"^TASK \[(.*)\] \**$", line)
        if match:
            return match.group(1)
    return None
