"""Build requests and results as JSON, for handing builds to executors in other processes.

``dump_request``/``load_request`` and ``dump_result``/``load_result`` turn the executor's
vocabulary (``executor.model``) into plain JSON values and back, with cattrs doing the
walk over the dataclasses. Paths travel as strings; a secret's encrypted values stay
ciphertext on the way (``{"!encrypted/pkcs1-oaep": [chunks]}``, the tag the job config
writes them with), so only the executor that runs the build decrypts them.

What cannot be read back raises ``WireError`` with the place of the bad value, never a
traceback of the converter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cattrs

from keepgreen.executor.model import BuildRequest, BuildResult, SecretBinding
from keepgreen.jobconf.model import Encrypted

ENCRYPTED_TAG = "!encrypted/pkcs1-oaep"


class WireError(ValueError):
    """A stored build request or result cannot be read back."""


def _plain(value: Any) -> Any:
    if isinstance(value, Encrypted):
        return {ENCRYPTED_TAG: list(value.chunks)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _rich(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {ENCRYPTED_TAG} and isinstance(value[ENCRYPTED_TAG], list):
            return Encrypted(tuple(str(c) for c in value[ENCRYPTED_TAG]))
        return {k: _rich(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rich(v) for v in value]
    return value


def _converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_unstructure_hook(Path, str)
    converter.register_structure_hook(Path, lambda value, _: Path(value))
    converter.register_unstructure_hook(
        SecretBinding, lambda b: {"name": b.name, "secret": b.secret, "project": b.project,
                                  "data": _plain(b.data)})
    converter.register_structure_hook(
        SecretBinding, lambda d, _: SecretBinding(str(d["name"]), str(d["secret"]),
                                                  str(d["project"]), _rich(d.get("data", {}))))
    return converter


_CONVERTER = _converter()


def _checked(value: Any, what: str) -> dict[str, Any]:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise WireError(f"the {what} cannot be written as JSON: {exc}") from None
    assert isinstance(value, dict)
    return value


def _load(data: Mapping[str, Any], cls: type[Any], what: str) -> Any:
    try:
        return _CONVERTER.structure(dict(data), cls)
    except cattrs.BaseValidationError as exc:
        places = "; ".join(cattrs.transform_error(exc, path=what))
        raise WireError(f"the stored {what} cannot be read: {places}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"the stored {what} cannot be read: {exc}") from None


def dump_request(request: BuildRequest) -> dict[str, Any]:
    return _checked(_CONVERTER.unstructure(request), "build request")


def load_request(data: Mapping[str, Any]) -> BuildRequest:
    found = _load(data, BuildRequest, "build request")
    assert isinstance(found, BuildRequest)
    return found


def dump_result(result: BuildResult) -> dict[str, Any]:
    return _checked(_CONVERTER.unstructure(result), "build result")


def load_result(data: Mapping[str, Any]) -> BuildResult:
    found = _load(data, BuildResult, "build result")
    assert isinstance(found, BuildResult)
    return found
