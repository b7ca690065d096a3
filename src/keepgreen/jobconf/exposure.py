"""Warnings about secrets that look exposed, for the report of the item whose jobs use them.

They are warnings, not errors: the configuration is valid and runs. Two patterns are
flagged for a frozen job graph:

- a trusted job (config project) that uses a secret in a pipeline that is not post-review,
  so its playbooks hold the secret while testing changes nobody has reviewed yet;
- a secret whose field looks like a credential (``password``, ``token``, ``key`` ...) but is
  written in plain text instead of ``!encrypted/pkcs1-oaep``, readable by anyone who can
  read the repository.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from keepgreen.jobconf.frozen import JobGraph
from keepgreen.jobconf.model import Secret

SENSITIVE = re.compile(r"pass|token|secret|key|credential|private|auth|cert", re.IGNORECASE)


def _plain_fields(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _plain_fields(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _plain_fields(item, f"{path}[{index}]")
    elif isinstance(value, str) and value and SENSITIVE.search(path):
        yield path


def _where(secret: Secret) -> str:
    return f"{secret.source.path}:{secret.source.line}: " if secret.source else ""


def secret_warnings(graph: JobGraph, post_review: bool) -> tuple[str, ...]:
    """Sentences for each exposed-looking secret of the jobs in ``graph``, once each."""
    found: dict[str, None] = {}
    for job in graph.jobs:
        for name, secret in job.secrets.items():
            trusted = secret.source is not None and secret.source.trusted
            if trusted and not post_review:
                found[f'job "{job.name}" uses secret "{name}" in pipeline "{graph.pipeline}", '
                      "which is not post-review: its playbooks hold the secret while they "
                      "test changes that nobody has reviewed yet"] = None
            for field in _plain_fields(dict(secret.data)):
                found[f'{_where(secret)}secret "{name}" holds "{field}" in plain text; '
                      "anyone who can read the repository can read it: encrypt it with "
                      "`keepgreen encrypt`"] = None
    return tuple(found)
