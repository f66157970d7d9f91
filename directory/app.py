"""Build the Starlette application: routes, error handling, body cap and database pool."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

import asyncpg
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from activitypub.safehttp import make_client
from directory import db
from directory.errors import DirectoryError
from directory.limits import BodyLimit, BodyTooLarge
from directory.routes import actors, api, health, inbox, mastodon, pages, wellknown
from directory.routes.responses import error
from directory.services.actor_cache import ActorCache
from directory.services.cache_listener import CacheListener, listening
from directory.services.federation import (
    Federation,
    fetch_policy,
    make_rsa_key,
    utc_now,
)
from directory.settings import Settings
from directory.store.keys import KeyMaker
from directory.urls import Urls
from directory.worker import Worker

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    dsn: str | None = None,
    pool: asyncpg.Pool | None = None,
    client: httpx.AsyncClient | None = None,
    now: Callable[[], datetime] = utc_now,
    make_key: KeyMaker = make_rsa_key,
    run_worker: bool = False,
) -> Starlette:
    """The web application; it opens a pool on `dsn` at start-up unless given one.

    With `run_worker`, the background worker runs in the same process (`hirondelle serve`).
    While the application runs, one pooled connection listens to entry changes for the actor
    cache (HIRONDELLE_CACHE_ENTRIES > 0); the pool opened here has one connection more for it.
    """
    if (dsn is None) == (pool is None):
        raise ValueError("give create_app either a dsn or a pool")
    policy = fetch_policy(settings)
    cache = ActorCache(settings.cache_entries)

    def federation(pool: asyncpg.Pool, client: httpx.AsyncClient) -> Federation:
        urls = Urls(settings.domain)
        return Federation(urls, pool, client, policy, now=now, make_key=make_key, actor_cache=cache)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if pool is None:
                assert dsn is not None
                listener_connections = 1 if settings.cache_entries else 0
                opened = await db.create_pool(
                    dsn, max_size=settings.db_pool_size + listener_connections
                )
                stack.push_async_callback(opened.close)
                http = client or make_client(policy, verify=settings.ca_bundle or True)
                if client is None:
                    stack.push_async_callback(http.aclose)
                app.state.pool = opened
                app.state.federation = federation(opened, http)
            # Start-up objects live as long as the process: keep the collector off them
            # (a 100,000-id match spent ~100 ms in collections, bench/README.md).
            gc.freeze()
            if settings.cache_entries:
                listener = CacheListener(app.state.pool, cache)
                app.state.cache_listener = listener
                await stack.enter_async_context(listening(listener))
            if run_worker:
                worker = Worker(app.state.federation, lease_seconds=settings.worker_lease_seconds)
                await stack.enter_async_context(_background_worker(worker))
            yield

    app = Starlette(
        routes=all_routes(),
        middleware=[Middleware(BodyLimit, limit=settings.max_body_bytes)],
        exception_handlers={
            DirectoryError: _directory_error,
            BodyTooLarge: _too_large,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    if pool is not None:
        app.state.pool = pool
        app.state.federation = federation(pool, client or make_client(policy))
    return app


def all_routes() -> list[BaseRoute]:
    """Every route of the application."""
    return [
        *api.routes,
        *health.routes,
        *wellknown.routes,
        *actors.routes,
        *inbox.routes,
        *mastodon.routes,
        *pages.routes,
    ]


@contextlib.asynccontextmanager
async def _background_worker(worker: Worker) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="hirondelle-worker")
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _directory_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DirectoryError)
    return error(exc.status, exc.code, exc.detail)


async def _too_large(request: Request, exc: Exception) -> Response:
    return error(413, "body_too_large", str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error(exc.status_code, code, exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error(500, "internal_error", "the server failed; the error was logged")
