"""Project key pairs: made, kept encrypted under the site's secret, and read back.

The private key is stored as encrypted PKCS#8 PEM (the ``cryptography`` package's best
available scheme) with the site key as its passphrase, so a copy of the database alone does
not give away any project's secrets: the site folder's ``secrets/site.key`` is needed too.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from keepgreen.crypto.oaep import KEY_BITS, SecretError


@dataclass(frozen=True)
class StoredKeyPair:
    public_pem: bytes
    private_pem: bytes  # encrypted with the site key


def generate(site_key: bytes, bits: int = KEY_BITS) -> StoredKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(site_key))
    return StoredKeyPair(public, private)


def private_key(pair: StoredKeyPair, site_key: bytes) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pair.private_pem, password=site_key)
    except (ValueError, TypeError):
        raise SecretError("the project's private key does not open with this site's key "
                          "(secrets/site.key); restore the site key it was made with") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecretError("the project's private key is not an RSA key")
    return key
