"""Secrets in Zuul's one scheme: RSA with PKCS#1 OAEP padding, SHA-1 as hash and mask
function, the plaintext cut into chunks that each fit one RSA block, each chunk base64.

With a 4096-bit key one block holds 512 - 2*20 - 2 = 470 bytes of plaintext. The YAML that
``secret_yaml`` writes is what Zuul's encryption tool prints: a ``secret`` object whose field
holds a ``!encrypted/pkcs1-oaep`` list, one item per chunk, wrapped at 79 columns.
"""

from __future__ import annotations

import base64
import binascii
import textwrap
from collections.abc import Iterable

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_BITS = 4096
SCHEME = "pkcs1-oaep"


class SecretError(ValueError):
    """A key or ciphertext that cannot be used; the message says which and why."""


def _padding() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(),
                        label=None)


def chunk_size(key: rsa.RSAPublicKey) -> int:
    return key.key_size // 8 - 2 * hashes.SHA1.digest_size - 2


def load_public(pem: bytes) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise SecretError("the public key is not a PEM-encoded RSA key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SecretError("the public key is not an RSA key")
    return key


def encrypt(public_pem: bytes, plaintext: bytes) -> list[str]:
    """The base64 chunks of ``plaintext`` encrypted for the key in ``public_pem``."""
    key = load_public(public_pem)
    size = chunk_size(key)
    pieces = [plaintext[i:i + size] for i in range(0, len(plaintext), size)] or [b""]
    return [base64.b64encode(key.encrypt(piece, _padding())).decode("ascii")
            for piece in pieces]


def decrypt(private_key: rsa.RSAPrivateKey, chunks: Iterable[str]) -> bytes:
    """The plaintext of base64 ``chunks``. Whitespace inside a chunk (YAML folds long
    lines) is ignored, as Zuul ignores it."""
    out = []
    for number, chunk in enumerate(chunks, start=1):
        text = "".join(chunk.split())
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise SecretError(f"chunk {number} of the secret is not base64") from None
        try:
            out.append(private_key.decrypt(raw, _padding()))
        except ValueError:
            raise SecretError(f"chunk {number} of the secret was not encrypted with this "
                              "project's key") from None
    return b"".join(out)


def secret_yaml(chunks: list[str], field: str, name: str = "<name>") -> str:
    """A secret object holding ``chunks`` under ``field``, as Zuul's tool prints it."""
    lines = ["- secret:", f"    name: {name}", "    data:",
             f"      {field}: !encrypted/{SCHEME}"]
    wrap = textwrap.TextWrapper(width=79, initial_indent=" " * 8,
                                subsequent_indent=" " * 10)
    lines.extend(wrap.fill("- " + chunk) for chunk in chunks)
    return "\n".join(lines) + "\n"
