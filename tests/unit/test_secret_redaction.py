"""Secrets at run time, the executor's pure part: opening bindings with the right project's
key, the unsafe variables file, and masking every form of a value in output."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keepgreen.crypto import oaep
from keepgreen.executor.model import SecretBinding
from keepgreen.executor.secrets import MASK, Redactor, SecretsError, open_bindings, write_vars
from keepgreen.jobconf.model import Encrypted


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ("org/app", "org/other")}


def sealed(key: rsa.RSAPrivateKey, text: str) -> Encrypted:
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return Encrypted(tuple(oaep.encrypt(pem, text.encode())))


def test_bindings_open_with_their_own_projects_key(keys) -> None:
    binding = SecretBinding("creds", "site_creds", "org/app", {
        "user": "deployer", "password": sealed(keys["org/app"], "hunter2-long"),
        "nested": [{"token": sealed(keys["org/app"], "t0k3n")}]})
    opened = open_bindings([binding], keys.__getitem__)
    assert opened == {"creds": {"user": "deployer", "password": "hunter2-long",
                                "nested": [{"token": "t0k3n"}]}}


def test_a_secret_sealed_for_another_project_does_not_open(keys) -> None:
    # The binding says org/other: the executor asks for org/other's key, whatever the data.
    binding = SecretBinding("creds", "stolen", "org/other",
                            {"value": sealed(keys["org/app"], "not yours")})
    with pytest.raises(SecretsError, match='secret "stolen" of project org/other does not'):
        open_bindings([binding], keys.__getitem__)


def test_an_executor_without_keys_says_so(keys) -> None:
    binding = SecretBinding("creds", "s", "org/app", {"v": sealed(keys["org/app"], "xyz")})
    with pytest.raises(SecretsError, match="has no project keys"):
        open_bindings([binding], None)


def test_the_vars_file_is_private_and_every_string_unsafe(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    write_vars(path, {"token": {"value": "{{ lookup('pipe', 'id') }}", "n": 3}},
               (os.getuid(), os.getgid()))
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert text.count("!unsafe") == 1  # the string; the number stays a number

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: ("unsafe", node.value))
    loaded = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    assert loaded == {"token": {"value": ("unsafe", "{{ lookup('pipe', 'id') }}"), "n": 3}}


def test_every_form_of_a_value_is_masked() -> None:
    value = 'pa"ss\nword-two'
    redact = Redactor()
    assert not redact
    redact.add({"v": {"secret": value}})
    assert redact
    for shown in (value, "pa\"ss", "word-two", base64.b64encode(value.encode()).decode(),
                  json.dumps(value)[1:-1], repr(value)[1:-1]):
        line = f"before {shown} after"
        assert redact(line) == f"before {MASK} after", shown
    assert redact("nothing to hide") == "nothing to hide"


def test_very_short_values_are_not_masked_everywhere() -> None:
    redact = Redactor()
    redact.add({"v": "ab", "n": 7, "flag": True})
    # Masking "ab" or "7" would garble every line; such values are not secrets worth it.
    assert redact("about 7 tabs") == "about 7 tabs"
