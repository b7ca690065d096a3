"""Dry runs: a deploy job's playbooks in Ansible's check mode, for reviewers to read.

A dry-run build runs every playbook of the job with ``--check --diff``, so Ansible reports
what it would change without changing it, on hosts logged in to with a read-only account.
Its secrets are never opened: each encrypted value becomes ``*****``, so what the diff
shows of a templated secret is the mask. The events callback records each task of the run
playbooks that would change something, with its diff (``KEEPGREEN_DRY_RUN``), and
``summary`` turns those into the text posted on the change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from keepgreen.executor.model import SecretBinding
from keepgreen.executor.secrets import MASK
from keepgreen.jobconf.model import Encrypted

CHECK_ARGS = ("--check", "--diff")
ENV = "KEEPGREEN_DRY_RUN"
LIMIT = 30_000  # characters of diff in one report; the build log keeps the rest


def placeholders(bindings: Iterable[SecretBinding]) -> dict[str, Any]:
    """The bound secrets with every encrypted value replaced by the mask."""

    def mask(value: Any) -> Any:
        if isinstance(value, Encrypted):
            return MASK
        if isinstance(value, Mapping):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [mask(v) for v in value]
        return value

    return {binding.name: mask(binding.data) for binding in bindings}


def summary(events: Iterable[Path]) -> str:
    """What the dry run would change, per host and task, as preformatted diff lines; ""
    when nothing would change."""
    parts: list[str] = []
    for path in events:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") != "changed":
                continue
            head = f"{event.get('host', '?')}: {event.get('task', '?')}"
            diff = str(event.get("diff") or "").rstrip()
            parts.append(head + ("\n" + "\n".join(f"    {d}" for d in diff.splitlines())
                                 if diff else " (changed, no diff)"))
    text = "\n".join(parts)
    if len(text) > LIMIT:
        text = text[:LIMIT] + "\n    ... (cut here; the build log has the whole diff)"
    return text
