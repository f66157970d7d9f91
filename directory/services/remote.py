"""Fetch remote actors through the safe client, signed by our instance actor, and cache them."""

from __future__ import annotations

import urllib.parse
from typing import Any

from activitypub import jsonld, vocab
from activitypub.errors import FetchError
from activitypub.safehttp import fetch_json
from directory.services.federation import Federation
from directory.store import remote_actors
from directory.store.remote_actors import RemoteActor


async def fetch_actor(fed: Federation, uri: str) -> RemoteActor:
    """Fetch an actor at its id (signed GET), check it, cache it; FetchError on any failure."""
    if _host(uri) == fed.urls.domain.lower():
        raise FetchError("own_host", "a remote actor cannot live on this server's own host")
    auth = fed.instance_auth((await fed.instance_key())[0])
    fetched = await fetch_json(fed.client, uri, policy=fed.policy, auth=auth)
    actor = actor_from_document(fetched.document, fed)
    await remote_actors.save(fed.pool, actor)
    return actor


async def fetch_key_owner(fed: Federation, key_id: str) -> RemoteActor:
    """The actor that owns a key id, fetched and checked: its document must list that key."""
    actor = await fetch_actor(fed, urllib.parse.urldefrag(key_id).url)
    if actor.key_id != key_id:
        raise FetchError("key_not_listed", f"{actor.uri} does not list the key {key_id}")
    return actor


def actor_from_document(document: dict[str, Any], fed: Federation) -> RemoteActor:
    """Read what we keep of an actor document, refusing what Mastodon would refuse."""
    uri = jsonld.get_id(document)
    types = set(jsonld.get_types(document))
    if uri is None or not types & set(vocab.ACTOR_TYPES):
        raise FetchError("not_an_actor", "the document is not an actor")
    inbox = _url(jsonld.get_id(document.get("inbox")))
    if inbox is None:
        raise FetchError("not_an_actor", "the actor has no inbox")
    endpoints = document.get("endpoints")
    shared = (
        _url(jsonld.get_id(endpoints.get("sharedInbox"))) if isinstance(endpoints, dict) else None
    )
    key_id, pem = _public_key(document, uri)
    aliases = [
        a for a in (jsonld.get_id(v) for v in jsonld.as_list(document.get("alsoKnownAs"))) if a
    ]
    username = document.get("preferredUsername")
    return RemoteActor(
        uri=uri,
        host=_host(uri),
        inbox=inbox,
        shared_inbox=shared,
        key_id=key_id,
        public_key_pem=pem,
        username=username if isinstance(username, str) else None,
        also_known_as=tuple(aliases[:256]),
        fetched_at=fed.now(),
    )


def _public_key(document: dict[str, Any], uri: str) -> tuple[str | None, str | None]:
    """The first publicKey whose owner is the actor (Mastodon ≤ 4.5 reads only the first)."""
    for key in jsonld.as_list(document.get("publicKey"))[:10]:
        if not isinstance(key, dict):
            continue
        key_id, owner, pem = key.get("id"), jsonld.get_id(key.get("owner")), key.get("publicKeyPem")
        if isinstance(key_id, str) and owner == uri and isinstance(pem, str):
            return key_id, pem
    return None, None


def _url(value: str | None) -> str | None:
    if value is None or not value.startswith(("https://", "http://")):
        return None
    return value


def _host(uri: str) -> str:
    return (urllib.parse.urlsplit(uri).netloc or "").lower()
