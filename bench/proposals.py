"""Prototypes of proposed application fixes, measured by monkeypatching a benchmark process.

Nothing here changes directory/: `python -m bench.serve app --proposals …` applies these to
its own process before building the application, so that bench/activitypub.py can measure a
fix next to the code as it is. They are sketches for the application's owners, not code to
copy as is (see bench/README.md, "ActivityPub surface", for the proposed changes).

* `webfinger-columns`: WebFinger reads the two columns it uses (`x_account_id`, `x_handle`)
  instead of the whole actor row (the accounts `json_agg` subquery and the key join, then
  `orjson.loads` and a dataclass per account), for the same answer.
* `actor-cache`: entry actor documents are kept in process, keyed by X id and validated on
  every request by a one-row query of the entry's `(id, updated_at)` on the same partial
  index: any change that can alter the document (the entry, its consents, its accounts via
  the `accounts_touch_entry` trigger, `moved_to`) rewrites the entry row and so bumps
  `updated_at` (`entries_render`); a miss takes the application's own path (410, 404, key
  creation), unchanged.
* `webfinger-cache`: WebFinger answers kept in process by resource, so that a hit costs no
  query. The sketch expires them after 60 s; the proposed fix would instead drop them when
  PostgreSQL notifies a change of the entry (a trigger on the columns WebFinger depends on:
  status, consent_findable, x_handle), and clear everything when the listening connection
  drops. What it measures is the cost of a hit.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from activitypub import webfinger
from directory.errors import NotFound
from directory.services import discovery
from directory.services.federation import Federation
from matching import identifiers as ids

PROPOSALS = ("webfinger-columns", "actor-cache", "webfinger-cache")
DEFAULT = ("webfinger-columns", "actor-cache")  # the exact ones: always the current answer
CACHE_SECONDS = 60.0

_FINDABLE = "origin_host IS NULL AND status = 'published' AND consent_findable"
_BY_HANDLE = f"SELECT x_account_id, x_handle FROM entries WHERE {_FINDABLE} AND x_handle_key = $1"
_VERSION = f"SELECT id, updated_at FROM entries WHERE {_FINDABLE} AND x_account_id = $1"


async def resolve_resource(fed: Federation, resource: str) -> discovery.Found:
    """discovery.resolve_resource, reading two columns."""
    parsed = webfinger.parse_resource(resource)
    if isinstance(parsed, webfinger.Invalid) or parsed.host.lower() != fed.urls.domain.lower():
        raise NotFound(f"{resource!r} is not an account of this server")
    if parsed.user.lower() in (fed.urls.host.lower(), fed.urls.domain.lower()):
        subject = fed.urls.acct(fed.urls.host)
        return discovery.Found(subject, fed.urls.instance_actor(), f"{fed.urls.base}/")
    handle = ids.parse_x_handle(parsed.user)
    if isinstance(handle, ids.Invalid):
        raise NotFound(f"no account {parsed.user!r} here")
    row = await fed.pool.fetchrow(_BY_HANDLE, ids.x_handle_key(handle))
    if row is None:
        raise NotFound(f"no account {parsed.user!r} here")
    x_account_id, x_handle = row[0], row[1]
    return discovery.Found(
        fed.urls.acct(x_handle),
        fed.urls.entry_actor(x_account_id),
        fed.urls.entry_page(x_handle),
    )


ActorDocument = Callable[[Federation, str], Awaitable[dict[str, Any]]]


def cached_actor_documents(original: ActorDocument) -> ActorDocument:
    """discovery.entry_actor_document behind a cache validated by (id, updated_at)."""
    cache: dict[int, tuple[tuple[int, datetime], dict[str, Any]]] = {}

    async def entry_actor_document(fed: Federation, raw_x_id: str) -> dict[str, Any]:
        x_id = ids.parse_x_account_id(raw_x_id)
        if isinstance(x_id, ids.Invalid):
            raise NotFound("no such actor")
        row = await fed.pool.fetchrow(_VERSION, x_id)
        if row is None:
            cache.pop(x_id, None)
            return await original(fed, raw_x_id)  # 410 or 404, as the application answers
        version = (int(row[0]), row[1])
        hit = cache.get(x_id)
        if hit is not None and hit[0] == version:
            return hit[1]
        # Read after the version: a change in between stores a newer document under the older
        # version, which the next request finds stale. The sketch has no size bound.
        document = await original(fed, raw_x_id)
        cache[x_id] = (version, document)
        return document

    return entry_actor_document


Resolver = Callable[[Federation, str], Awaitable[discovery.Found]]


def cached_webfinger(original: Resolver) -> Resolver:
    """discovery.resolve_resource behind a cache of found resources (misses are not kept)."""
    cache: dict[str, tuple[float, discovery.Found]] = {}

    async def resolve(fed: Federation, resource: str) -> discovery.Found:
        now = time.monotonic()
        hit = cache.get(resource)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        found = await original(fed, resource)
        cache[resource] = (now, found)
        return found

    return resolve


def apply(names: Sequence[str]) -> None:
    """Patch this process's modules (call before building the application)."""
    for name in names:
        if name == "webfinger-columns":
            discovery.resolve_resource = resolve_resource
        elif name == "actor-cache":
            cached = cached_actor_documents(discovery.entry_actor_document)
            discovery.entry_actor_document = cached  # type: ignore[assignment]
        elif name == "webfinger-cache":
            discovery.resolve_resource = cached_webfinger(discovery.resolve_resource)  # type: ignore[assignment]
        else:
            raise ValueError(f"unknown proposal {name!r}: one of {', '.join(PROPOSALS)}")
