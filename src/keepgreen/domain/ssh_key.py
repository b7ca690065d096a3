"""OpenSSH public keys as users paste them (``ssh-ed25519 AAAA... me@laptop``).

A key is checked down to its wire encoding: the algorithm named in front must match the
one inside the base64 blob, and the blob must hold exactly the fields that algorithm has.
Anything else is refused with a sentence saying what is wrong, so a mangled paste (a line
break, a missing character, a private key) never becomes a stored key that can never match.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

# The fields of each algorithm's public blob after its name: "s" a string, "m" an mpint.
_FIELDS = {
    "ssh-ed25519": "s",
    "ssh-rsa": "mm",
    "ssh-dss": "mmmm",
    "ecdsa-sha2-nistp256": "ss",
    "ecdsa-sha2-nistp384": "ss",
    "ecdsa-sha2-nistp521": "ss",
    "sk-ssh-ed25519@openssh.com": "ss",
    "sk-ecdsa-sha2-nistp256@openssh.com": "sss",
}
ALGORITHMS = tuple(_FIELDS)
MAX_KEY_TEXT = 16 * 1024
MAX_COMMENT = 255


class KeyProblem(ValueError):
    """The text is not a public key keepgreen can accept; the message says why."""


@dataclass(frozen=True)
class PublicKey:
    algorithm: str
    encoded_key: str  # the base64 blob, as in authorized_keys
    comment: str

    @property
    def blob(self) -> bytes:
        return base64.b64decode(self.encoded_key)

    @property
    def text(self) -> str:
        """The key as one authorized_keys line, as Gerrit's ``ssh_public_key`` shows it."""
        return " ".join(part for part in (self.algorithm, self.encoded_key, self.comment)
                        if part)


def parse(text: str) -> PublicKey:
    """The public key in ``text`` (one OpenSSH line, surrounding white space ignored)."""
    if len(text) > MAX_KEY_TEXT:
        raise KeyProblem(f"an SSH public key is at most {MAX_KEY_TEXT} characters long")
    stripped = text.strip()
    if not stripped:
        raise KeyProblem("the request holds no SSH public key; send one line as in "
                        "~/.ssh/id_ed25519.pub")
    if "PRIVATE KEY" in stripped:
        raise KeyProblem("this is a private key; send the public key (the .pub file) instead")
    if "\n" in stripped or "\r" in stripped:
        raise KeyProblem("an SSH public key is one line; this text has several")
    parts = stripped.split(None, 2)
    if len(parts) < 2:
        raise KeyProblem("an SSH public key has an algorithm and a base64 key, as in "
                        "'ssh-ed25519 AAAA... comment'")
    algorithm, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    if algorithm not in _FIELDS:
        raise KeyProblem(f"{algorithm[:40]!r} is not a supported SSH key algorithm; use one of "
                        + ", ".join(ALGORITHMS))
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise KeyProblem("the key part of this SSH public key is not valid base64") from None
    problem = _blob_problem(algorithm, blob)
    if problem:
        raise KeyProblem(problem)
    if len(comment) > MAX_COMMENT:
        raise KeyProblem(f"the comment of an SSH public key is at most {MAX_COMMENT} characters")
    return PublicKey(algorithm, base64.b64encode(blob).decode(), comment)


def _blob_problem(algorithm: str, blob: bytes) -> str | None:
    fields: list[bytes] = []
    offset = 0
    for _ in range(1 + len(_FIELDS[algorithm])):
        if offset + 4 > len(blob):
            return f"the {algorithm} key is cut short; paste the whole line again"
        size = int.from_bytes(blob[offset:offset + 4], "big")
        offset += 4
        if offset + size > len(blob):
            return f"the {algorithm} key is cut short; paste the whole line again"
        fields.append(blob[offset:offset + size])
        offset += size
    if offset != len(blob):
        return f"the {algorithm} key has extra bytes at its end; paste the line again"
    if fields[0] != algorithm.encode():
        inner = fields[0][:40].decode("ascii", "replace")
        return f"the key says {algorithm} in front but holds a {inner!r} key"
    if algorithm in ("ssh-ed25519", "sk-ssh-ed25519@openssh.com") and len(fields[1]) != 32:
        return "an ssh-ed25519 key is 32 bytes long; this one is not"
    if algorithm == "ssh-rsa" and len(fields[2].lstrip(b"\0")) * 8 < 1024:
        return "RSA keys shorter than 1024 bits are not accepted; make a new key"
    return None
