"""Answer how others find us: WebFinger resources, actor documents, NodeInfo figures.

An entry is visible here only when it is published with the 'findable' consent. A withdrawn
entry answers 410 at its actor id, which makes every Mastodon server that resolves it delete its
copy (mastodon-interop.md §1-2); unknown ones answer 404.

Entry actors and their WebFinger answers are served from the process's actor cache when it
holds them (services/actor_cache.py); only positive answers are kept, as the bytes sent.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from activitypub import webfinger
from directory.errors import Gone, NotFound
from directory.services import actors
from directory.services.federation import Federation
from directory.store import federation as store, followers as followers_store
from matching import identifiers as ids


@dataclasses.dataclass(frozen=True)
class Found:
    """A WebFinger answer: the canonical subject, the actor id and the profile page."""

    subject: str
    actor_id: str
    profile_url: str | None
    x_account_id: int | None = None  # None: the instance actor


@dataclasses.dataclass(frozen=True)
class _EntryName:
    """A WebFinger resource that names an entry: the user part as asked, and its handle key."""

    user: str
    handle_key: str


async def resolve_resource(fed: Federation, resource: str) -> Found:
    """Resolve `acct:user@our-domain` (or the actor URL) to one of our actors."""
    return await _resolve(fed, _parse_resource(fed, resource))


async def webfinger_body(fed: Federation, resource: str) -> bytes:
    """The encoded JRD that answers `resource`; an entry's is kept in the actor cache."""
    name = _parse_resource(fed, resource)
    cache = fed.actor_cache
    hit = None if name is None else cache.webfinger(name.handle_key)
    if hit is not None:
        return hit[1]
    token = cache.generation  # before reading: a change after it keeps this answer out
    found = await _resolve(fed, name)
    aliases = [found.actor_id] + ([found.profile_url] if found.profile_url else [])
    body = orjson.dumps(
        webfinger.build_jrd(
            subject=found.subject,
            self_href=found.actor_id,
            profile_url=found.profile_url,
            aliases=aliases,
        )
    )
    if name is not None and found.x_account_id is not None:
        cache.put_webfinger(name.handle_key, found.x_account_id, body, token)
    return body


def _parse_resource(fed: Federation, resource: str) -> _EntryName | None:
    """The entry a resource names, or None for the instance actor; NotFound if not ours."""
    parsed = webfinger.parse_resource(resource)
    if isinstance(parsed, webfinger.Invalid) or parsed.host.lower() != fed.urls.domain.lower():
        raise NotFound(f"{resource!r} is not an account of this server")
    if parsed.user.lower() in (fed.urls.host.lower(), fed.urls.domain.lower()):
        return None
    handle = ids.parse_x_handle(parsed.user)
    if isinstance(handle, ids.Invalid):
        raise NotFound(f"no account {parsed.user!r} here")
    return _EntryName(parsed.user, ids.x_handle_key(handle))


async def _resolve(fed: Federation, name: _EntryName | None) -> Found:
    """The actor a parsed resource names (one query for an entry)."""
    if name is None:
        subject = fed.urls.acct(fed.urls.host)
        return Found(subject, fed.urls.instance_actor(), f"{fed.urls.base}/")
    found = await store.findable_id_by_handle(fed.pool, name.handle_key)
    if found is None:
        raise NotFound(f"no account {name.user!r} here")
    x_account_id, x_handle = found
    return Found(
        fed.urls.acct(x_handle),
        fed.urls.entry_actor(x_account_id),
        fed.urls.entry_page(x_handle),
        x_account_id,
    )


async def entry_actor_document(fed: Federation, raw_x_id: str) -> dict[str, Any]:
    """The actor document of a findable entry; Gone (410) once withdrawn; NotFound otherwise."""
    return await _actor_document(fed, _x_id(raw_x_id))


async def entry_actor_body(fed: Federation, raw_x_id: str) -> bytes:
    """The encoded actor document of a findable entry, kept in the actor cache; as above."""
    return await _actor_body(fed, _x_id(raw_x_id))


async def entry_actor_body_by_handle(fed: Federation, raw_handle: str) -> bytes:
    """The encoded actor document of the findable entry with this X handle (`/@handle`)."""
    key = _handle_key(raw_handle)
    hit = fed.actor_cache.webfinger(key)
    if hit is not None:
        return await _actor_body(fed, hit[0])
    found = await store.findable_id_by_handle(fed.pool, key)
    if found is None:
        raise NotFound("no such entry")
    return await _actor_body(fed, found[0])


async def entry_by_handle(fed: Federation, raw_handle: str) -> store.ActorEntry:
    """A findable entry by X handle (for its HTML page)."""
    entry = await store.findable_by_handle(fed.pool, _handle_key(raw_handle))
    if entry is None:
        raise NotFound("no such entry")
    return entry


async def instance_actor_document(fed: Federation) -> dict[str, Any]:
    """The instance actor's document (its key is made on first use)."""
    return actors.instance_actor(fed.urls, (await fed.instance_key())[1])


async def published_count(fed: Federation) -> int:
    """How many findable entries this instance serves (NodeInfo `usage.users.total`)."""
    return await store.count_findable(fed.pool)


async def collection_size(fed: Federation, x_account_id: int, name: str) -> int:
    """Items in an entry actor's collection: its followers; it follows and posts nothing."""
    if name != "followers":
        return 0
    entry = await store.findable_by_x_id(fed.pool, x_account_id)
    if not isinstance(entry, store.ActorEntry):
        raise NotFound("no such actor")
    return await followers_store.count(fed.pool, entry.id)


async def _actor_body(fed: Federation, x_id: int) -> bytes:
    """The encoded actor document, from the cache or built and then offered to it."""
    cache = fed.actor_cache
    body = cache.actor(x_id)
    if body is None:
        token = cache.generation  # before reading: a change after it keeps this answer out
        body = orjson.dumps(await _actor_document(fed, x_id))
        cache.put_actor(x_id, body, token)
    return body


async def _actor_document(fed: Federation, x_id: int) -> dict[str, Any]:
    entry = await store.findable_by_x_id(fed.pool, x_id)
    if isinstance(entry, store.Gone):
        raise Gone(f"this entry was withdrawn on {entry.withdrawn_at:%Y-%m-%d}")
    if entry is None:
        raise NotFound("no such actor")
    public_pem = entry.public_key_pem
    if public_pem is None:
        async with fed.pool.acquire() as conn:
            public_pem = (await fed.entry_key(conn, entry.id))[1]
    return actors.entry_actor(fed.urls, entry, public_pem)


def _x_id(raw: str) -> int:
    x_id = ids.parse_x_account_id(raw)
    if isinstance(x_id, ids.Invalid):
        raise NotFound("no such actor")
    return x_id


def _handle_key(raw_handle: str) -> str:
    handle = ids.parse_x_handle(raw_handle)
    if isinstance(handle, ids.Invalid):
        raise NotFound("no such entry")
    return ids.x_handle_key(handle)
