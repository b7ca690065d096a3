"""Secrets at run time: opened just before the playbook bound to them, handed to Ansible as
unsafe variables through a file that exists only while that playbook runs, and masked in
everything the build writes.

Only ciphertext travels with the build request (``SecretBinding``); the executor asks its
key source for the private key of the secret's own project, so a job can never open another
project's secret even if it names one. Values reach Ansible tagged ``!unsafe``, so a secret
holding ``{{ ... }}`` is never templated.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from keepgreen.crypto import oaep
from keepgreen.executor.model import SecretBinding
from keepgreen.jobconf.model import Encrypted

KeySource = Callable[[str], Any]
"""Gives the private key of a project (``ProjectKeyService.private_key``)."""

MASK = "*****"
MIN_REDACTED = 3  # shorter values would mask ordinary text everywhere


class SecretsError(RuntimeError):
    """A secret that does not open; the message names the secret and its project."""


def open_bindings(bindings: Iterable[SecretBinding], keys: KeySource | None
                  ) -> dict[str, Any]:
    """Variable name -> plain value of each bound secret."""
    values: dict[str, Any] = {}
    for binding in bindings:
        if keys is None:
            raise SecretsError(f'secret "{binding.secret}" cannot be opened: this executor '
                               "has no project keys")
        try:
            key = keys(binding.project)
            values[binding.name] = _open(binding.data, key)
        except (oaep.SecretError, UnicodeDecodeError) as exc:
            raise SecretsError(f'secret "{binding.secret}" of project {binding.project} does '
                               f"not open: {exc}") from None
    return values


def _open(value: Any, key: Any) -> Any:
    if isinstance(value, Encrypted):
        return oaep.decrypt(key, value.chunks).decode("utf-8")
    if isinstance(value, Mapping):
        return {k: _open(v, key) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_open(v, key) for v in value]
    return value


class _Unsafe(str):
    pass


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar(
    "!unsafe", str(value), style='"'))


def _unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return _Unsafe(value)
    if isinstance(value, Mapping):
        return {k: _unsafe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    return value


def write_vars(path: Path, values: Mapping[str, Any], owner: tuple[int, int]) -> None:
    """An Ansible extra-vars file readable by the build user ``owner`` (uid, gid) only,
    every string ``!unsafe``."""
    path.touch(mode=0o600)
    os.chown(path, *owner)
    path.write_text(yaml.dump(_unsafe(dict(values)), Dumper=_Dumper, allow_unicode=True))


def leaves(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves(v)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def forms(secret: str) -> set[str]:
    """What a secret may look like in output: itself, each of its lines, base64, JSON and
    Python string escapes."""
    found = {secret, *(line.strip() for line in secret.splitlines())}
    found.add(base64.b64encode(secret.encode()).decode())
    found.add(json.dumps(secret)[1:-1])
    found.add(repr(secret)[1:-1])
    return {text for text in found if len(text) >= MIN_REDACTED}


class Redactor:
    """Masks every form of every secret added; longest first, so a line of a multi-line
    value does not leave the rest of a longer match behind."""

    def __init__(self) -> None:
        self._forms: list[str] = []

    def add(self, values: Mapping[str, Any]) -> None:
        known = set(self._forms)
        for leaf in leaves(values):
            known |= forms(leaf)
        self._forms = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._forms)
