"""Zuul-compatible secrets: what another tool encrypts opens here, and what `encrypt` writes
opens with the key alone."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from keepgreen.crypto import keypairs, oaep
from keepgreen.jobconf.model import Encrypted, Secret
from keepgreen.jobconf.parser import parse_file
from keepgreen.jobconf.yaml_loader import load

SITE_KEY = b"0123456789abcdef" * 4


@pytest.fixture(scope="module")
def pair() -> keypairs.StoredKeyPair:
    return keypairs.generate(SITE_KEY)


def independent_encrypt(public_pem: bytes, plaintext: bytes) -> list[str]:
    """Zuul's scheme written out from its description: OAEP, SHA-1, 470-byte pieces."""
    key = serialization.load_pem_public_key(public_pem)
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 4096
    pad = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    return [base64.b64encode(key.encrypt(plaintext[i:i + 470], pad)).decode()
            for i in range(0, len(plaintext), 470)]


def test_a_secret_from_zuuls_algorithm_opens_with_the_project_key(pair) -> None:
    plaintext = ("password-" * 120).encode()  # 1,080 bytes: three chunks
    chunks = independent_encrypt(pair.public_pem, plaintext)
    assert len(chunks) == 3
    private = keypairs.private_key(pair, SITE_KEY)
    assert oaep.decrypt(private, chunks) == plaintext


def test_encrypt_output_loads_as_config_and_opens_again(pair) -> None:
    plaintext = "s3cr3t\nsecond line ✓\n".encode() * 40
    text = oaep.secret_yaml(oaep.encrypt(pair.public_pem, plaintext), "token", "deploy_key")
    assert text.startswith("- secret:\n    name: deploy_key\n    data:\n"
                           "      token: !encrypted/pkcs1-oaep\n        - ")
    assert max(len(line) for line in text.splitlines()) <= 79
    path = "zuul.d/secrets.yaml"
    parsed = parse_file(load(path, text), project="org/app", branch="main", path=path,
                        trusted=False)
    assert parsed.errors == ()
    (secret,) = parsed.objects
    assert isinstance(secret, Secret) and secret.name == "deploy_key"
    value = secret.data["token"]
    assert isinstance(value, Encrypted) and len(value.chunks) == 2
    assert oaep.decrypt(keypairs.private_key(pair, SITE_KEY), value.chunks) == plaintext


def test_another_projects_key_does_not_open_the_secret(pair) -> None:
    other = keypairs.generate(SITE_KEY, bits=2048)
    chunks = oaep.encrypt(pair.public_pem, b"for org/app only")
    with pytest.raises(oaep.SecretError, match="chunk 1 .* not encrypted with this project"):
        oaep.decrypt(keypairs.private_key(other, SITE_KEY), chunks)


def test_the_private_key_needs_the_site_key(pair) -> None:
    assert b"ENCRYPTED PRIVATE KEY" in pair.private_pem
    with pytest.raises(oaep.SecretError, match="site.key"):
        keypairs.private_key(pair, b"another site")


def test_damaged_ciphertext_and_keys_are_named(pair) -> None:
    private = keypairs.private_key(pair, SITE_KEY)
    with pytest.raises(oaep.SecretError, match="chunk 2 of the secret is not base64"):
        oaep.decrypt(private, [oaep.encrypt(pair.public_pem, b"x")[0], "%%%"])
    with pytest.raises(oaep.SecretError, match="not a PEM-encoded RSA key"):
        oaep.encrypt(b"-----BEGIN PUBLIC KEY-----\nnope\n", b"x")
