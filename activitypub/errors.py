"""Failures of the ActivityPub protocol library, each with a machine-readable reason."""

from __future__ import annotations

from typing import Literal

SignatureFailure = Literal[
    "missing_signature",  # no Signature header at all
    "rfc9421_only",  # only an RFC 9421 signature (Signature-Input): answer 401 so senders retry
    "malformed_signature",  # the Signature header or one of its parameters cannot be parsed
    "unsupported_algorithm",  # algorithm= is not absent, "rsa-sha256" or "hs2019" (e.g. hmac-*)
    "unsupported_key",  # the signer's key is not an RSA public key
    "date_not_signed",  # neither date nor (created) is covered
    "target_not_signed",  # neither (request-target) nor digest is covered
    "host_not_signed",  # a GET or HEAD that does not cover host
    "digest_not_signed",  # a POST that does not cover digest
    "header_missing",  # a header named in headers= is absent from the request
    "host_mismatch",  # the Host header is not the host the caller serves
    "invalid_date",  # the Date header is not an HTTP date
    "date_out_of_window",  # created too far in the future, or expired
    "unsupported_digest",  # the Digest header has no SHA-256 value
    "malformed_digest",  # the SHA-256 value is not base64 of 32 bytes
    "digest_mismatch",  # the SHA-256 value is not the digest of the body
    "body_too_large",  # the body is over the caller's limit
    "bad_signature",  # the signature does not verify with the key
]


class ActivityPubError(Exception):
    """The root of every failure this library raises on purpose."""


class SignatureError(ActivityPubError):
    """An HTTP signature was refused; `reason` says which rule it broke."""

    def __init__(self, reason: SignatureFailure, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: SignatureFailure = reason
        self.detail = detail or reason


class FetchError(ActivityPubError):
    """A remote document could not be fetched or was refused; `reason` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class InvalidDocument(ActivityPubError):
    """A document (JSON-LD, actor, key) does not have the shape the protocol requires."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
