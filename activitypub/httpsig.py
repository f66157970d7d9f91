"""Draft-cavage HTTP signatures: sign outgoing requests, verify incoming ones as Mastodon does.

https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12, with Mastodon's rules
(app/lib/signed_request.rb, mastodon-interop.md §3). httpsig makes the RSA signatures; it is not
trusted to verify, because it takes the algorithm from the request (an `hmac-sha256` signature
keyed with the victim's public PEM verifies: attacks.md A3), rejects `hs2019`, and checks neither
Date nor Digest. Here the key decides: RSA means RSASSA-PKCS1-v1_5 with SHA-256, whatever the
header says, and the header may only say `rsa-sha256` or `hs2019`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import email.utils
import functools
import hashlib
import hmac
import importlib
import re
import sys
import threading
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub.errors import InvalidDocument, SignatureError
from activitypub.keys import load_private_key, load_public_key

# Mastodon's window (matches_time_window?): a signature lives 5 minutes unless it says
# otherwise, never more than 12 hours, with one hour of clock skew either side.
CLOCK_SKEW = timedelta(hours=1)
DEFAULT_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(hours=12)

ACCEPTED_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
MAX_SIGNATURE_HEADER = 8192

_REQUEST_TARGET = "(request-target)"
_CREATED = "(created)"
_EXPIRES = "(expires)"
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_SIGNATURE_PARAM = re.compile(rf'[ \t]*({_TCHARS})[ \t]*=[ \t]*({_TCHARS}|"(?:[^"\\]|\\.)*")[ \t]*')
_QUOTED_PAIR = re.compile(r"\\(.)")
_TIMESTAMP = re.compile(r"[0-9]{1,11}(?:\.[0-9]{1,9})?")  # up to year 5138
_IMPORT_LOCK = threading.Lock()


@dataclasses.dataclass(frozen=True)
class SignatureParams:
    """The parameters of a draft-cavage `Signature` header, defaults applied as Mastodon does."""

    key_id: str
    algorithm: str  # lowercased; "hs2019" when the header has none
    headers: tuple[str, ...]  # lowercased, in the order they are signed
    signature: bytes
    created: int | None = None
    expires: int | None = None
    # Every parameter as received: (created) and (expires) are signed as their raw text.
    params: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified: who signed (by key id) and what the signature covers."""

    key_id: str
    signed_headers: tuple[str, ...]


def digest_header(body: bytes) -> str:
    """The `Digest` header value of a body: `SHA-256=<base64>` (RFC 3230)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def http_date(now: datetime) -> str:
    """An RFC 7231 date in GMT, as the `Date` header carries it."""
    return email.utils.format_datetime(_aware(now).astimezone(UTC), usegmt=True)


def sign_headers(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key_id: str,
    private_pem: str,
    now: datetime,
) -> dict[str, str]:
    """The headers that sign a request: Date, Digest (with a body), Host and Signature.

    With a body (always for POST): `(request-target) host date digest [content-type]`; without:
    `(request-target) host date`, what authorized fetch requires. The target keeps the query
    (as Mastodon >= 4.3 does, mastodon#31994).

    Raises:
        ValueError: the URL is not absolute http(s), or the private key is not RSA.
    """
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.host:
        raise ValueError("signed requests need an absolute http(s) URL")
    if not isinstance(load_private_key(private_pem), rsa.RSAPrivateKey):
        raise ValueError("draft-cavage signatures are made with RSA keys only")
    added = {"Host": target.netloc.decode("ascii"), "Date": http_date(now)}
    signed = [_REQUEST_TARGET, "host", "date"]
    values = {"host": added["Host"], "date": added["Date"]}
    if body is not None or method.upper() == "POST":
        added["Digest"] = values["digest"] = digest_header(body or b"")
        signed.append("digest")
        content_type = _header_fields(headers).get("content-type")
        if content_type is not None:
            values["content-type"] = content_type
            signed.append("content-type")
    request_target = f"{method.lower()} {target.raw_path.decode('ascii')}"
    signature = _rsa_signer(private_pem)(_signing_string(signed, values, request_target))
    added["Signature"] = (
        f'keyId={_quote(key_id)},algorithm="rsa-sha256",'
        f'headers="{" ".join(signed)}",signature="{signature}"'
    )
    return added


def parse_signature(header_value: str) -> SignatureParams:
    """Parse a `Signature` header as Mastodon's SignatureParser does: keys unique, `keyId` and
    `signature` required, `algorithm` hs2019 if absent, `headers` `(created)` for hs2019 else
    `date` if absent, and the spurious `Signature ` prefix of old node-http-signature tolerated.

    Raises:
        SignatureError: "malformed_signature".
    """
    params = _parse_params(header_value)
    key_id, encoded = params.get("keyId"), params.get("signature")
    if not key_id or not encoded:
        raise SignatureError("malformed_signature", "keyId and signature are required")
    algorithm = params.get("algorithm", "hs2019").lower()
    default_headers = _CREATED if algorithm == "hs2019" else "date"
    try:
        signature = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise SignatureError("malformed_signature", "the signature is not base64") from None
    return SignatureParams(
        key_id=key_id,
        algorithm=algorithm,
        headers=tuple(params.get("headers", default_headers).lower().split()),
        signature=signature,
        created=_timestamp(params, "created"),
        expires=_timestamp(params, "expires"),
        params=types.MappingProxyType(params),
    )


def key_id_of(headers: Mapping[str, str]) -> str:
    """The keyId of a request's signature, to find the key to verify with.

    Raises:
        SignatureError: "missing_signature", "rfc9421_only" or "malformed_signature".
    """
    return _signature_params(_header_fields(headers)).key_id


def verify(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes | None,
    public_pem: str,
    now: datetime,
    max_body_bytes: int | None = None,
    expected_host: str | None = None,
) -> VerifiedSignature:
    """Verify a request's draft-cavage signature with the signer's public key.

    Args:
        method: the HTTP method.
        path: the request target exactly as received: raw (still percent-encoded) path, then
            `?query` if there was one.
        headers: the request headers; names in any case, repeated names allowed.
        body: the raw body, or None for a request without one.
        public_pem: the PEM public key of `key_id_of(headers)`, found by the caller.
        now: the current time (timezone-aware).
        max_body_bytes: refuse larger bodies before hashing them.
        expected_host: when given, the Host header must be this host (attacks.md A5).

    Raises:
        SignatureError: with a `reason` saying which rule the request broke.
    """
    fields = _header_fields(headers)
    params = _signature_params(fields)
    if max_body_bytes is not None and body is not None and len(body) > max_body_bytes:
        raise SignatureError("body_too_large", f"the body is over {max_body_bytes} bytes")
    public_key = _rsa_public_key(public_pem, params.algorithm)
    _check_coverage(method.upper(), params)
    _check_present(fields, params, expected_host)
    _check_time_window(fields, params, _aware(now))
    if "digest" in params.headers:
        _check_digest(fields["digest"], body or b"")
    _check_signature(public_key, params, fields, method, path)
    return VerifiedSignature(key_id=params.key_id, signed_headers=params.headers)


def _signature_params(fields: Mapping[str, str]) -> SignatureParams:
    """Find and parse the draft-cavage signature of a request (headers already lowercased)."""
    if "signature-input" in fields:
        # RFC 9421: refuse with 401 so that double-knocking senders (Fedify, Mastodon 4.7+)
        # retry with draft-cavage. https://swicg.github.io/activitypub-http-signature/
        raise SignatureError("rfc9421_only", "RFC 9421 signatures are not accepted yet")
    value = fields.get("signature")
    if value is None:
        raise SignatureError("missing_signature", "the request has no Signature header")
    return parse_signature(value)


def _parse_params(value: str) -> dict[str, str]:
    """Split `k1="v1",k2=v2` into a dict; any syntax error or repeated key is refused."""
    if len(value) > MAX_SIGNATURE_HEADER:
        raise SignatureError("malformed_signature", "the Signature header is too long")
    text = value.removeprefix("Signature ")
    params: dict[str, str] = {}
    position = 0
    while True:
        match = _SIGNATURE_PARAM.match(text, position)
        if match is None:
            raise SignatureError("malformed_signature", "the Signature header cannot be parsed")
        key, raw = match.groups()
        if key in params:
            raise SignatureError("malformed_signature", f"the parameter {key} is repeated")
        params[key] = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
        position = match.end()
        if position == len(text):
            return params
        if text[position] != ",":
            raise SignatureError("malformed_signature", "the Signature header cannot be parsed")
        position += 1


def _timestamp(params: Mapping[str, str], name: str) -> int | None:
    """A `created`/`expires` parameter as whole Unix seconds (decimals allowed, dropped)."""
    raw = params.get(name)
    if raw is None:
        return None
    if not _TIMESTAMP.fullmatch(raw):
        raise SignatureError("malformed_signature", f"{name} is not a Unix timestamp")
    return int(raw.partition(".")[0])


def _rsa_public_key(public_pem: str, algorithm: str) -> rsa.RSAPublicKey:
    """The key to verify with; the header may only name what an RSA key implies (A3)."""
    if algorithm not in ACCEPTED_ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"algorithm {algorithm!r} is refused")
    try:
        key = load_public_key(public_pem)
    except InvalidDocument as exc:
        raise SignatureError("unsupported_key", exc.detail) from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("unsupported_key", "only RSA keys are accepted for now")
    return key


def _check_coverage(method: str, params: SignatureParams) -> None:
    """Mastodon's `verify_signature_strength!`, plus its rules on pseudo-headers."""
    signed = params.headers
    for pseudo, value in ((_CREATED, params.created), (_EXPIRES, params.expires)):
        if pseudo in signed and (params.algorithm != "hs2019" or value is None):
            raise SignatureError("malformed_signature", f"{pseudo} needs hs2019 and its parameter")
    if "date" not in signed and _CREATED not in signed:
        raise SignatureError("date_not_signed", "date or (created) must be signed")
    if _REQUEST_TARGET not in signed and "digest" not in signed:
        raise SignatureError("target_not_signed", "(request-target) or digest must be signed")
    if method in ("GET", "HEAD") and "host" not in signed:
        raise SignatureError("host_not_signed", f"a {method} must sign host")
    if method == "POST" and "digest" not in signed:
        raise SignatureError("digest_not_signed", "a POST must sign digest")


def _check_present(
    fields: Mapping[str, str], params: SignatureParams, expected_host: str | None
) -> None:
    """Every signed header must be in the request, and Host must be ours when we know it."""
    for name in params.headers:
        if name not in (_REQUEST_TARGET, _CREATED, _EXPIRES) and name not in fields:
            raise SignatureError("header_missing", f"the signed header {name} is absent")
    if expected_host is not None and fields.get("host", "").lower() != expected_host.lower():
        raise SignatureError("host_mismatch", "the request was not addressed to this host")


def _check_time_window(fields: Mapping[str, str], params: SignatureParams, now: datetime) -> None:
    """Mastodon's `matches_time_window?`: created not in the future, not yet expired.

    Unlike Mastodon, `created`/`expires` parameters count only when signed: an unsigned
    `expires` could otherwise stretch a replayed signature's life from 5 minutes to 12 hours.
    """
    if _CREATED in params.headers and params.created is not None:
        created = datetime.fromtimestamp(params.created, UTC)
    else:
        try:
            created = email.utils.parsedate_to_datetime(fields.get("date", ""))
        except (TypeError, ValueError, IndexError):
            raise SignatureError("invalid_date", "the Date header is not an HTTP date") from None
        created = created if created.tzinfo is not None else created.replace(tzinfo=UTC)
    if created > now + CLOCK_SKEW:
        raise SignatureError("date_out_of_window", "the signature was made in the future")
    expires = created + DEFAULT_LIFETIME
    if _EXPIRES in params.headers and params.expires is not None:
        expires = datetime.fromtimestamp(params.expires, UTC)
    if now > min(expires, created + MAX_LIFETIME) + CLOCK_SKEW:
        raise SignatureError("date_out_of_window", "the signature has expired")


def _check_digest(value: str, body: bytes) -> None:
    """Mastodon's `verify_body_digest!`: a SHA-256 value (token in any case) equal to the body's.

    bovine sends `sha-256=`, Mastodon and Fedify `SHA-256=` (peers-and-tools.md §1.1).
    """
    offered: dict[str, str] = {}
    for part in value.split(","):
        name, sep, text = part.strip().partition("=")
        if sep:
            offered.setdefault(name.strip().lower(), text.strip())
    encoded = offered.get("sha-256")
    if encoded is None:
        names = ", ".join(offered) or "none"
        raise SignatureError("unsupported_digest", f"only SHA-256 is accepted; offered: {names}")
    try:
        given = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise SignatureError("malformed_digest", "the SHA-256 digest is not base64") from None
    if len(given) != hashlib.sha256().digest_size:
        raise SignatureError("malformed_digest", "the SHA-256 digest is not 32 bytes long")
    if not hmac.compare_digest(given, hashlib.sha256(body).digest()):
        raise SignatureError("digest_mismatch", "the Digest does not match the body")


def _check_signature(
    key: rsa.RSAPublicKey,
    params: SignatureParams,
    fields: Mapping[str, str],
    method: str,
    path: str,
) -> None:
    """Verify RSASSA-PKCS1-v1_5/SHA-256 over the signing string built in `headers=` order.

    `(request-target)` is tried with the query string, then without it, for signers from
    before Mastodon 4.3 that dropped it (mastodon#31994; GoToSocial does the same).
    """
    values = {**fields}
    for pseudo in ("created", "expires"):
        if pseudo in params.params:
            values[f"({pseudo})"] = params.params[pseudo]
    targets = [path]
    if "?" in path and _REQUEST_TARGET in params.headers:
        targets.append(path.partition("?")[0])
    for target in targets:
        message = _signing_string(params.headers, values, f"{method.lower()} {target}")
        try:
            key.verify(params.signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return
    raise SignatureError("bad_signature", "the signature does not verify with the key")


def _signing_string(names: Sequence[str], values: Mapping[str, str], request_target: str) -> bytes:
    """`name: value` lines in the given order; Latin-1, the bytes the headers had on the wire."""
    lines = [
        f"{name}: {request_target if name == _REQUEST_TARGET else values[name]}" for name in names
    ]
    try:
        return "\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise SignatureError("bad_signature", "a signed value is not Latin-1") from None


def _header_fields(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers by lowercase name; repeated fields joined with ", " (draft-cavage §2.3)."""
    fields: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        fields[key] = f"{fields[key]}, {value.strip()}" if key in fields else value.strip()
    return fields


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("the clock must give timezone-aware datetimes")
    return now


# Making a signer costs ~28 ms (key parsing and validation); an instance signing for many
# entry actors needs them all warm (15 vs 301 deliveries/s with 256 keys, bench/README.md).
SIGNER_CACHE_SIZE = 1024


@functools.lru_cache(maxsize=SIGNER_CACHE_SIZE)
def _rsa_signer(private_pem: str) -> Callable[[bytes], str]:
    """httpsig's RSA signer (base64 out), algorithm pinned; cached, parsing a key is slow."""
    sign: Callable[[bytes], str] = _httpsig().Signer(private_pem, algorithm="rsa-sha256").sign
    return sign


@functools.cache
def _httpsig() -> types.ModuleType:
    """Import httpsig on first use, with a stand-in pkg_resources if there is none.

    httpsig 1.3.0 imports pkg_resources for its version string only; setuptools >= 82 and
    venvs without setuptools have none (peers-and-tools.md §1.1). The stub goes afterwards.
    """
    with _IMPORT_LOCK:
        try:
            with warnings.catch_warnings():
                # setuptools 67.5 to 81 warn that pkg_resources is deprecated.
                warnings.filterwarnings("ignore", message=".*pkg_resources", category=Warning)
                return importlib.import_module("httpsig")
        except ModuleNotFoundError as exc:
            if exc.name != "pkg_resources":
                raise
        had, previous = "pkg_resources" in sys.modules, sys.modules.get("pkg_resources")
        sys.modules["pkg_resources"] = _pkg_resources_stub()
        try:
            return importlib.import_module("httpsig")
        finally:
            del sys.modules["pkg_resources"]
            if had:  # None in sys.modules blocks the import; put the blocker back
                sys.modules["pkg_resources"] = previous  # type: ignore[assignment]


def _pkg_resources_stub() -> types.ModuleType:
    """The two names httpsig 1.3.0 imports from pkg_resources; its version stays unknown."""
    not_found = type("DistributionNotFound", (Exception,), {})

    def get_distribution(name: str) -> None:
        raise not_found(name)

    stub = types.ModuleType("pkg_resources", "A stand-in for httpsig's import; not setuptools.")
    vars(stub).update(DistributionNotFound=not_found, get_distribution=get_distribution)
    return stub
