"""Reading pasted OpenSSH public keys: real keys from ssh-keygen are taken as they are,
and every kind of broken paste is refused with a sentence saying what is wrong."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from keepgreen.domain import ssh_key


def keygen(tmp_path: Path, kind: str, bits: str | None = None) -> str:
    path = tmp_path / f"id_{kind}"
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "me@laptop", "-f", str(path)]
    if bits:
        args += ["-b", bits]
    subprocess.run(args, check=True)
    return path.with_suffix(".pub").read_text()


@pytest.mark.parametrize(("kind", "bits"), [("ed25519", None), ("rsa", "2048"),
                                            ("ecdsa", "256"), ("ecdsa", "521")])
def test_keys_from_ssh_keygen_are_read_as_they_are(tmp_path: Path, kind: str,
                                                   bits: str | None) -> None:
    line = keygen(tmp_path, kind, bits)
    key = ssh_key.parse("\n  " + line + "\n")
    assert key.text == line.strip()
    assert key.comment == "me@laptop"
    assert line.split()[0] == key.algorithm
    assert key.blob == base64.b64decode(line.split()[1])


def test_a_key_without_a_comment_keeps_none(tmp_path: Path) -> None:
    algorithm, encoded = keygen(tmp_path, "ed25519").split()[:2]
    key = ssh_key.parse(f"{algorithm} {encoded}")
    assert key.comment == "" and key.text == f"{algorithm} {encoded}"


def _blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


@pytest.mark.parametrize(("text", "said"), [
    ("", "holds no SSH public key"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n", "this is a private key"),
    ("ssh-ed25519\nAAAA", "one line"),
    ("ssh-ed25519", "has an algorithm and a base64 key"),
    ("ssh-foo AAAA", "'ssh-foo' is not a supported SSH key algorithm"),
    ("ssh-ed25519 not*base64", "not valid base64"),
    ("ssh-ed25519 AAAA", "cut short"),
    ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"x" * 32, b"extra"), "extra bytes"),
    ("ssh-ed25519 " + _blob(b"ssh-rsa", b"x" * 32), "holds a 'ssh-rsa' key"),
    ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"x" * 31), "32 bytes long"),
    ("ssh-rsa " + _blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xff" * 64), "1024 bits"),
    ("ssh-ed25519 " + _blob(b"ssh-ed25519", b"x" * 32) + " " + "c" * 300, "comment"),
    ("x" * (ssh_key.MAX_KEY_TEXT + 1), "at most"),
])
def test_broken_pastes_are_refused_with_the_reason(text: str, said: str) -> None:
    with pytest.raises(ssh_key.KeyProblem, match=said):
        ssh_key.parse(text)
