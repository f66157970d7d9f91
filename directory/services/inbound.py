"""Receive activities at our inboxes: authenticate, check origins, store before answering.

Rules from Mastodon's signature_verification.rb and the attacks catalogue (attacks.md A1-A9,
B3): no signature → 401 (so double-knocking senders retry with draft-cavage); the signer's key
is fetched through the safe client and its owner must be the activity's actor; the activity's
id shares the actor's origin; an activity is stored once (unique id) and only then acknowledged.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson

from activitypub import httpsig, jsonld
from activitypub.errors import FetchError, SignatureError
from directory.errors import DirectoryError, Forbidden, TooLarge, Unauthorized
from directory.services import remote
from directory.services.federation import Federation
from directory.store import inbox as inbox_store, remote_actors
from directory.store.remote_actors import RemoteActor

MAX_INBOX_BYTES = 1024 * 1024  # Mastodon's MAX_JSON_SIZE; larger bodies get 413
MAX_DEPTH = 32
KEY_REFETCH_AFTER = timedelta(minutes=5)  # attacks.md A8: at most one refetch per key per 5 min
# Only these failures can be cured by fetching the key again (it may have been rotated).
_KEY_MAY_HAVE_CHANGED = frozenset({"bad_signature", "unsupported_key"})


class KeyFetchLimiter:
    """At most `per_minute` fetches of unknown keys per host, per process (attacks.md C4).

    Without it, signed POSTs naming many key ids on a victim host would make us send the victim
    as many requests. A refusal is a 401, which senders retry later.
    """

    def __init__(self, per_minute: int = 30) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, list[float]] = {}

    def allow(self, host: str, now: float) -> bool:
        recent = [t for t in self._seen.get(host, []) if now - t < 60.0]
        if len(recent) >= self.per_minute:
            self._seen[host] = recent
            return False
        self._seen[host] = [*recent, now]
        if len(self._seen) > 10_000:  # forget quiet hosts
            self._seen = {h: ts for h, ts in self._seen.items() if ts and now - ts[-1] < 60.0}
        return True


KEY_FETCHES = KeyFetchLimiter()


@dataclasses.dataclass(frozen=True)
class Received:
    """The activity is stored (or was already: a duplicate) and will be processed."""

    activity_id: str
    duplicate: bool


async def receive(
    fed: Federation,
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    entry_x_id: int | None,
) -> Received:
    """Authenticate and store one POSTed activity; raise a DirectoryError (4xx) otherwise."""
    if len(body) > MAX_INBOX_BYTES:
        raise TooLarge("an activity is at most 1 MB", code="too_large")
    if "signature-input" in headers or "signature" not in headers:
        raise Unauthorized("sign the request with draft-cavage HTTP Signatures (rsa-sha256)")
    activity = _parse(body)
    actor_uri, activity_id = jsonld.get_id(activity.get("actor")), activity.get("id")
    if actor_uri is None or not isinstance(activity_id, str) or not _is_http(activity_id):
        raise DirectoryError("an activity needs an id and an actor", code="invalid_activity")
    key_id = _key_id(headers)
    signer = await _verified_signer(fed, key_id, method, path, headers, body)
    if signer is None:  # a Delete from an actor we never met: nothing to delete (A9)
        return Received(activity_id, duplicate=True)
    if signer.uri != actor_uri:
        raise Unauthorized("the request is signed by another actor than the activity's")
    _check_origins(activity, actor_uri, activity_id)
    stored = await inbox_store.record(
        fed.pool,
        activity_id=activity_id,
        actor_uri=actor_uri,
        addressed_x_id=entry_x_id,
        payload=body,
    )
    return Received(activity_id, duplicate=not stored)


async def _verified_signer(
    fed: Federation,
    key_id: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
) -> RemoteActor | None:
    cached = await remote_actors.by_key_id(fed.pool, key_id)
    if cached is None and _is_self_delete(body):
        return None
    actor = cached or await _fetch_owner(fed, key_id)
    try:
        _verify(actor, method, path, headers, body, fed)
    except SignatureError as first:
        stale = cached is not None and fed.now() - cached.fetched_at >= KEY_REFETCH_AFTER
        if first.reason not in _KEY_MAY_HAVE_CHANGED or not stale:
            raise Unauthorized(f"signature refused: {first.reason}") from None
        actor = await _fetch_owner(fed, key_id)  # the key may have been rotated: once
        try:
            _verify(actor, method, path, headers, body, fed)
        except SignatureError as second:
            raise Unauthorized(f"signature refused: {second.reason}") from None
    return actor


def _verify(
    actor: RemoteActor,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    fed: Federation,
) -> None:
    if actor.public_key_pem is None:
        raise Unauthorized(f"{actor.uri} publishes no key")
    httpsig.verify(
        method=method,
        path=path,
        headers=headers,
        body=body,
        public_pem=actor.public_key_pem,
        now=fed.now(),
        max_body_bytes=MAX_INBOX_BYTES,
        expected_host=fed.urls.domain,
    )


async def _fetch_owner(fed: Federation, key_id: str) -> RemoteActor:
    if not KEY_FETCHES.allow(_origin(key_id)[1], fed.now().timestamp()):
        raise Unauthorized(f"too many unknown keys from {_origin(key_id)[1]}; try again later")
    try:
        return await remote.fetch_key_owner(fed, key_id)
    except FetchError as exc:
        raise Unauthorized(f"cannot fetch the signing key {key_id}: {exc.reason}") from None


def _key_id(headers: Mapping[str, str]) -> str:
    try:
        key_id = httpsig.key_id_of(headers)
    except SignatureError as exc:
        if exc.reason == "malformed_signature":  # as Mastodon: 400 for a malformed header
            raise DirectoryError(
                f"malformed Signature header: {exc.detail}", code=exc.reason
            ) from None
        raise Unauthorized(f"signature refused: {exc.reason}") from None
    if not _is_http(key_id):
        raise Unauthorized("keyId must be the https URL of a key (acct: keyIds are refused)")
    return key_id


def _check_origins(activity: dict[str, Any], actor_uri: str, activity_id: str) -> None:
    origin = _origin(actor_uri)
    if _origin(activity_id) != origin:
        raise Forbidden("the activity id is not on its actor's server")
    if jsonld.get_types(activity)[:1] in (["Create"], ["Update"], ["Delete"]):
        object_id = jsonld.get_id(activity.get("object"))
        if object_id is not None and _origin(object_id) != origin:
            raise Forbidden("the object is not on its actor's server")


def _parse(body: bytes) -> dict[str, Any]:
    try:
        activity = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DirectoryError("the body is not JSON", code="invalid_json") from None
    if not isinstance(activity, dict) or _depth(activity) > MAX_DEPTH:
        raise DirectoryError("the body is not an activity", code="invalid_activity")
    return activity


def _depth(value: object, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _is_self_delete(body: bytes) -> bool:
    activity = orjson.loads(body)
    actor = jsonld.get_id(activity.get("actor"))
    return "Delete" in jsonld.get_types(activity) and jsonld.get_id(activity.get("object")) == actor


def _is_http(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def _origin(uri: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(uri)
    return parts.scheme.lower(), parts.netloc.lower()
