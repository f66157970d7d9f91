"""Key pairs: generation, cached PEM parsing, key types and the published key document."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from activitypub import keys
from activitypub.errors import InvalidDocument


@pytest.fixture(scope="module")
def pair() -> keys.KeyPair:
    return keys.generate_rsa_keypair()


def _public_pem(key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_generate_rsa_keypair__pem_formats(pair: keys.KeyPair) -> None:
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8
    assert pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")  # SubjectPublicKeyInfo
    private_key = keys.load_private_key(pair.private_pem)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 2048
    assert private_key.private_numbers().public_numbers.e == 65537
    assert keys.key_type(pair.public_pem) == "rsa"


def test_generate_rsa_keypair__bits() -> None:
    private_key = keys.load_private_key(keys.generate_rsa_keypair(bits=1024).private_pem)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert private_key.key_size == 1024


def test_keypair__repr_hides_the_private_key(pair: keys.KeyPair) -> None:
    assert "PRIVATE" not in repr(pair)
    assert repr(pair.public_pem) in repr(pair)


def test_load_private_key__is_cached(pair: keys.KeyPair) -> None:
    assert keys.load_private_key(pair.private_pem) is keys.load_private_key(pair.private_pem)


@pytest.mark.parametrize("pem", ["", "not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n", "clé"])
def test_load_private_key__refuses_garbage(pem: str) -> None:
    with pytest.raises(ValueError, match="PEM private key"):
        keys.load_private_key(pem)


def test_load_private_key__refuses_encrypted_keys() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()
    with pytest.raises(ValueError, match="unencrypted"):
        keys.load_private_key(encrypted)


def test_load_public_key__spki_and_pkcs1(pair: keys.KeyPair) -> None:
    # Some older servers publish PKCS#1 "RSA PUBLIC KEY" PEMs
    public_key = keys.load_public_key(pair.public_pem)
    assert isinstance(public_key, rsa.RSAPublicKey)
    pkcs1 = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    ).decode()
    assert pkcs1.startswith("-----BEGIN RSA PUBLIC KEY-----")
    assert keys.key_type(pkcs1) == "rsa"
    assert keys.key_type("\n" + pair.public_pem.replace("\n", "\r\n") + "\n") == "rsa"


def test_load_public_key__is_cached(pair: keys.KeyPair) -> None:
    assert keys.load_public_key(pair.public_pem) is keys.load_public_key(pair.public_pem)


@pytest.mark.parametrize(
    "pem", ["", "not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----", "é"]
)
def test_load_public_key__refuses_garbage(pem: str) -> None:
    with pytest.raises(InvalidDocument, match="publicKeyPem"):
        keys.load_public_key(pem)
    with pytest.raises(InvalidDocument):
        keys.key_type(pem)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: _public_pem(ed25519.Ed25519PrivateKey.generate()), "ed25519"),
        (lambda: _public_pem(ec.generate_private_key(ec.SECP256R1())), "other"),
    ],
)
def test_key_type__other_kinds(make: Callable[[], str], expected: str) -> None:
    assert keys.key_type(make()) == expected


def test_key_id_and_public_key_document(pair: keys.KeyPair) -> None:
    actor = "https://dir.example/x/12/actor"
    assert keys.key_id(actor) == "https://dir.example/x/12/actor#main-key"
    assert keys.public_key_document(actor, pair.public_pem) == {
        "id": "https://dir.example/x/12/actor#main-key",
        "owner": actor,
        "publicKeyPem": pair.public_pem,
    }
