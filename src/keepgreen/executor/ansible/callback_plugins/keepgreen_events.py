"""Record task failures and unreachable hosts as JSON lines, for the executor's verdict.

The stdout callback prints the log people read; this one writes what the executor needs
to explain a result in one line (which task failed on which host, and its message) to the
file named by ``KEEPGREEN_EVENTS``, one line as each happens, so the executor can follow
the file while the playbook runs (Zuul's early failure: a failed task of a run playbook
means the build will fail). Errors ``ignore_errors`` swallows are not recorded; a failure
inside the ``block`` section of a block that has a ``rescue`` is recorded as ``rescued``,
not ``failed``: it does not fail the playbook. In a dry run (``KEEPGREEN_DRY_RUN`` set) each
task that would change something is recorded as ``changed`` with its diff as unified text.
"""

from __future__ import annotations

import difflib
import json
import os

from ansible.playbook.block import Block
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: keepgreen_events
    type: aggregate
    short_description: write failures and unreachable hosts to a JSON lines file
    description:
      - Used by the keepgreen executor to name the failing task in a build's result.
    requirements:
      - the KEEPGREEN_EVENTS environment variable names the file to append to
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "keepgreen_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self._path = os.environ.get("KEEPGREEN_EVENTS")
        self._play = ""

    def _write(self, event: str, result: object, **extra: object) -> None:
        if not self._path:
            return
        task = getattr(result, "_task", None)
        host = getattr(result, "_host", None)
        data = getattr(result, "_result", {}) or {}
        message = str(data.get("msg") or data.get("reason") or "")
        rc = data.get("rc")
        if isinstance(rc, int) and rc != 0:
            # A command's own words say more than Ansible's "non-zero return code".
            output = str(data.get("stderr") or data.get("stdout") or "").strip()
            last = output.splitlines()[-1] if output else ""
            message = f"exit status {rc}" + (f": {last}" if last else "")
        record = {
            "event": event,
            "play": self._play,
            "task": task.get_name() if task is not None else "",
            "action": getattr(task, "action", "") if task is not None else "",
            "host": host.get_name() if host is not None else "",
            "msg": str(message)[:2000],
            **extra,
        }
        with open(self._path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def v2_playbook_on_play_start(self, play: object) -> None:
        self._play = play.get_name() if hasattr(play, "get_name") else ""

    def v2_runner_on_failed(self, result: object, ignore_errors: bool | None = False) -> None:
        if ignore_errors:
            return
        self._write("rescued" if _rescuable(getattr(result, "_task", None)) else "failed",
                    result)

    def v2_runner_on_unreachable(self, result: object) -> None:
        self._write("unreachable", result)

    def v2_runner_on_ok(self, result: object) -> None:
        data = getattr(result, "_result", {}) or {}
        if os.environ.get("KEEPGREEN_DRY_RUN") and data.get("changed"):
            self._write("changed", result, diff=_unified(data.get("diff"))[:20000])


def _unified(diff: object) -> str:
    """Ansible's diff result (one mapping or a list of them, with before/after texts or
    a prepared diff) as unified diff text."""
    items = diff if isinstance(diff, list) else [diff] if isinstance(diff, dict) else []
    out: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("prepared"):
            out.append(str(item["prepared"]).rstrip("\n"))
            continue
        before, after = item.get("before", ""), item.get("after", "")
        if not isinstance(before, str) or not isinstance(after, str):
            before, after = json.dumps(before, indent=1), json.dumps(after, indent=1)
        # The "after" side is often a temporary file on the executor: name both sides
        # after the file on the host.
        name = str(item.get("before_header") or item.get("after_header") or "")
        out.extend(line.rstrip("\n") for line in difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            f"{name} (now)".strip(), f"{name} (after the change)".strip()))
    return "\n".join(out)


def _rescuable(task: object) -> bool:
    """Whether a failure of ``task`` is caught by a ``rescue``: some enclosing block has a
    rescue section and the task (or the include or block holding it) sits in that block's
    ``block`` section, not in its ``rescue`` or ``always``."""
    child = task
    parent = getattr(task, "_parent", None)
    while child is not None and parent is not None:
        if isinstance(parent, Block) and parent.rescue:
            mark = getattr(child, "_uuid", None)
            if any(getattr(t, "_uuid", None) == mark for t in parent.block):
                return True
        child, parent = parent, getattr(parent, "_parent", None)
    return False
