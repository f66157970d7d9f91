"""Actor key pairs: generating them, parsing PEM (cached) and publishing the public half."""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    PrivateKeyTypes,
    PublicKeyTypes,
)

from activitypub.errors import InvalidDocument

KeyType = Literal["rsa", "ed25519", "other"]


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """A PEM key pair: PKCS#8 private key, SubjectPublicKeyInfo public key."""

    private_pem: str = dataclasses.field(repr=False)  # never in logs or tracebacks
    public_pem: str


def generate_rsa_keypair(bits: int = 2048) -> KeyPair:
    """Generate an RSA key pair for an actor (Mastodon uses 2048 bits, exponent 65537)."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private_pem=private_pem.decode("ascii"), public_pem=public_pem.decode("ascii"))


@functools.lru_cache(maxsize=1024)  # one per entry actor that signs; see httpsig.SIGNER_CACHE_SIZE
def load_private_key(pem: str) -> PrivateKeyTypes:
    """Parse an unencrypted PEM private key; cached, because parsing one takes tens of ms.

    Raises:
        ValueError: the text is not an unencrypted PEM private key.
    """
    try:
        return serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc


@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> PublicKeyTypes:
    """Parse a PEM public key (SubjectPublicKeyInfo or PKCS#1 `RSA PUBLIC KEY`); cached.

    Raises:
        InvalidDocument: the text is not a PEM public key (it usually comes from a remote actor).
    """
    try:
        return serialization.load_pem_public_key(pem.strip().encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise InvalidDocument("publicKeyPem is not a PEM public key") from exc


def key_type(public_pem: str) -> KeyType:
    """The kind of a PEM public key, which decides the signature algorithm used with it.

    Raises:
        InvalidDocument: the text is not a PEM public key.
    """
    key = load_public_key(public_pem)
    if isinstance(key, rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    return "other"


def key_id(actor_id: str) -> str:
    """The id of an actor's main key, as Mastodon names it: `<actor id>#main-key`."""
    return f"{actor_id}#main-key"


def public_key_document(actor_id: str, public_pem: str) -> dict[str, str]:
    """The `publicKey` object embedded in an actor document (security-v1 vocabulary)."""
    return {"id": key_id(actor_id), "owner": actor_id, "publicKeyPem": public_pem}
