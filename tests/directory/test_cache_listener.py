"""The running application keeps actor and WebFinger answers, and drops them when entries change.

The application runs with its lifespan, so that its listener holds a connection of the test
pool; changes go through the real services and reach it as PostgreSQL notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from directory.app import create_app
from directory.models import Network, Purpose
from directory.services import entries, moves
from directory.services.actor_cache import ActorCache
from directory.services.cache_listener import CacheListener
from directory.services.federation import Federation
from directory.settings import Settings
from directory.store.changes import CHANNEL
from tests.factories import published_entry
from tests.peers import Peer

AP = {"accept": "application/activity+json"}
HTML = {"accept": "text/html"}
X_ID = 12
WEBFINGER = "/.well-known/webfinger?resource=acct:{}@dir.test"


@contextlib.asynccontextmanager
async def _running(app: Starlette) -> AsyncIterator[ActorCache]:
    """The application started (its listener listening); its actor cache."""
    cache: ActorCache = app.state.federation.actor_cache
    try:
        async with app.router.lifespan_context(app):
            await _eventually(lambda: cache.enabled)
            yield cache
    finally:
        gc.unfreeze()  # the lifespan froze the test process's objects


@pytest.fixture
async def cache(app: Starlette) -> AsyncIterator[ActorCache]:
    async with _running(app) as cache:
        yield cache


async def _eventually(check: Callable[[], bool | Awaitable[bool]], *, seconds: float = 2.0) -> None:
    """Wait until `check` holds (a notification takes milliseconds to arrive)."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not so after {seconds} s")
        await asyncio.sleep(0.005)


async def _keep(client: httpx.AsyncClient, cache: ActorCache, handle: str | None = None) -> None:
    """Fetch the actor (and the WebFinger answer of `handle`) until the cache keeps them.

    A first read may overlap the notification of the entry's creation, which keeps it out.
    """

    async def kept() -> bool:
        actor = await client.get(f"/x/{X_ID}", headers=AP)
        assert actor.status_code == 200
        if cache.actor(X_ID) != actor.content:
            return False
        if handle is None:
            return True
        jrd = await client.get(WEBFINGER.format(handle))
        return cache.webfinger(handle.lower()) == (X_ID, jrd.content)

    await _eventually(kept)


async def _actor(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(f"/x/{X_ID}", headers=AP)
    assert response.status_code == 200
    actor: dict[str, Any] = response.json()
    return actor


async def _entry(pool: asyncpg.Pool, **fields: Any) -> int:
    entry = await published_entry(pool, x_account_id=str(X_ID), findable=True, **fields)
    return entry.id


async def test_cached_answers_are_the_uncached_bytes_and_headers(
    app: Starlette, client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Given the answers of the application without its cache (not started)
    await _entry(pool, x_handle="Jack_D")
    requests = [
        (f"/x/{X_ID}", AP),
        ("/@jack_d", AP),
        (WEBFINGER.format("jack_d"), {"accept": "application/jrd+json, application/json"}),
        (f"/x/{X_ID}", HTML),  # pages are not kept: the same answers, from the database
        ("/@jack_d", HTML),
    ]
    uncached = [await client.get(path, headers=headers) for path, headers in requests]
    assert not app.state.federation.actor_cache.enabled
    # When the application runs and has kept them
    async with _running(app) as cache:
        await _keep(client, cache, "Jack_D")
        assert cache.size == 2
        cached = [await client.get(path, headers=headers) for path, headers in requests]
    # Then it answers with the same status, headers and bytes
    for before, after in zip(uncached, cached, strict=True):
        assert (after.status_code, after.headers, after.content) == (
            before.status_code,
            before.headers,
            before.content,
        )
    assert cached[2].headers["access-control-allow-origin"] == "*"
    assert cached[3].headers["vary"] == "Accept"


async def test_withdrawn__410_and_404_at_once(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    # Given an entry whose actor and WebFinger answers are kept
    entry_id = await _entry(pool)
    await _keep(client, cache, "jack")
    # When the entry is withdrawn
    await entries.withdraw_entry(pool, entry_id)

    # Then its actor answers 410 and WebFinger 404 as soon as the notification arrives
    async def gone() -> bool:
        return (await client.get(f"/x/{X_ID}", headers=AP)).status_code == 410

    await _eventually(gone)
    assert (await client.get(WEBFINGER.format("jack"))).status_code == 404
    assert cache.size == 0  # nothing negative is kept


async def test_name_and_accounts__the_new_document(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    # Given a kept actor
    entry_id = await _entry(pool)
    await _keep(client, cache)
    # When its display name changes, Then the new name is served
    await entries.update_entry(pool, entry_id, x_handle="jack", display_name="Jack Two")
    await _eventually(lambda: _named(client, "Jack Two"))
    # When an account is linked (through accounts_touch_entry), Then it is listed
    await _keep(client, cache)
    await entries.add_account(
        pool, entry_id, network=Network.BLUESKY, handle="jack.bsky.test", proof=None
    )

    async def linked() -> bool:
        values = [field["value"] for field in (await _actor(client))["attachment"]]
        return any("https://bsky.app/profile/jack.bsky.test" in value for value in values)

    await _eventually(linked)


async def _named(client: httpx.AsyncClient, name: str) -> bool:
    return bool((await _actor(client))["name"] == name)


async def test_findable_consent_withdrawn__404(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    entry_id = await _entry(pool)
    await _keep(client, cache, "jack")
    await entries.set_consents(pool, entry_id, {Purpose.FINDABLE: False}, source="self")

    async def unknown() -> bool:
        return (await client.get(WEBFINGER.format("jack"))).status_code == 404

    await _eventually(unknown)
    assert (await client.get(f"/x/{X_ID}", headers=AP)).status_code == 404


async def test_handle_change__old_handle_404s(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    # Given an entry whose answers are kept under its handle
    entry_id = await _entry(pool)
    await _keep(client, cache, "jack")
    # When its X handle changes
    await entries.update_entry(pool, entry_id, x_handle="jack_new", display_name="Jack")

    # Then the old handle is unknown, to WebFinger and to /@handle
    async def unknown() -> bool:
        return (await client.get(WEBFINGER.format("jack"))).status_code == 404

    await _eventually(unknown)
    assert (await client.get("/@jack", headers=AP)).status_code == 404
    # And the new one is found, and the actor shows it
    jrd = (await client.get(WEBFINGER.format("JACK_NEW"))).json()
    assert jrd["subject"] == "acct:jack_new@dir.test"
    assert (await _actor(client))["preferredUsername"] == "jack_new"
    assert (await client.get("/@jack_new", headers=AP)).json()["id"].endswith(f"/x/{X_ID}")


async def test_confirmed_move__moved_to_appears(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    peer: Peer,
    federation: Federation,
    cache: ActorCache,
) -> None:
    # Given a kept actor whose new account lists it as an alias
    actor_id = f"https://dir.test/x/{X_ID}"
    target = peer.add_actor("jack", also_known_as=(actor_id,))
    await _entry(pool, fediverse=f"jack@{peer.host}:{peer.port}")
    await _keep(client, cache)
    assert "movedTo" not in await _actor(client)
    # When the move is confirmed
    assert await moves.confirm_move(federation, X_ID) == moves.Moved(target, already=False)

    # Then movedTo is served
    async def moved() -> bool:
        return (await _actor(client)).get("movedTo") == target

    await _eventually(moved)


async def test_key_rotation__the_new_key(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    await _entry(pool)
    await _keep(client, cache)
    await pool.execute("UPDATE entry_keys SET public_pem = 'rotated', private_pem = 'rotated'")

    async def rotated() -> bool:
        return bool((await _actor(client))["publicKey"]["publicKeyPem"] == "rotated")

    await _eventually(rotated)


async def test_a_payload_it_cannot_read__everything_is_dropped(
    client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    await _entry(pool)
    await _keep(client, cache)
    await pool.execute("SELECT pg_notify($1, 'not ids')", CHANNEL)
    await _eventually(lambda: cache.size == 0)


async def test_lost_connection__cache_off_then_back(
    app: Starlette, client: httpx.AsyncClient, pool: asyncpg.Pool, cache: ActorCache
) -> None:
    # Given a kept actor, and a listener that waits a little before listening again
    listener: CacheListener = app.state.cache_listener
    listener.first_retry_seconds = 0.3
    entry_id = await _entry(pool)
    await _keep(client, cache)
    # When its connection is killed
    killed = await pool.fetchval(
        """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = current_database() AND query LIKE 'LISTEN %hirondelle_entries%'"""
    )
    assert killed
    # Then the cache is emptied and off: answers come from the database
    await _eventually(lambda: not cache.enabled)
    assert cache.size == 0
    assert (await client.get(f"/x/{X_ID}", headers=AP)).status_code == 200
    assert cache.size == 0
    # And it listens again shortly, and changes are followed again
    await _eventually(lambda: cache.enabled and listener.connections == 2)
    await _keep(client, cache)
    await entries.update_entry(pool, entry_id, x_handle="jack", display_name="Jack Three")
    await _eventually(lambda: _named(client, "Jack Three"))


async def test_shutdown__the_connection_returns_clean(app: Starlette, pool: asyncpg.Pool) -> None:
    # Given the application ran and stopped
    async with _running(app):
        pass
    # Then no connection of the pool listens any more
    async with contextlib.AsyncExitStack() as stack:
        conns = [await stack.enter_async_context(pool.acquire()) for _ in range(pool.get_size())]
        for conn in conns:
            assert await conn.fetchval("SELECT count(*) FROM pg_listening_channels()") == 0


async def test_no_capacity__no_cache_and_no_listener(
    settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    # Given HIRONDELLE_CACHE_ENTRIES=0
    app = create_app(dataclasses.replace(settings, cache_entries=0), pool=pool, client=http)
    # When the application runs, Then it holds no listening connection and keeps nothing
    async with app.router.lifespan_context(app):
        assert not hasattr(app.state, "cache_listener")
        assert not app.state.federation.actor_cache.enabled
    gc.unfreeze()
