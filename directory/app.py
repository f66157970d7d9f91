"""Build the Starlette application: routes, error handling, body cap and database pool."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory import db
from directory.errors import DirectoryError
from directory.limits import BodyLimit, BodyTooLarge
from directory.routes import api, health, pages
from directory.routes.responses import error
from directory.settings import Settings

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, dsn: str | None = None, pool: asyncpg.Pool | None = None
) -> Starlette:
    """The web application; it opens a pool on `dsn` at start-up unless given one."""
    if (dsn is None) == (pool is None):
        raise ValueError("give create_app either a dsn or a pool")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if pool is not None:
            app.state.pool = pool
            yield
            return
        assert dsn is not None
        app.state.pool = await db.create_pool(dsn, max_size=settings.db_pool_size)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = Starlette(
        routes=[*api.routes, *health.routes, *pages.routes],
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
    return app


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


def route_paths() -> list[str]:
    """Every route path (for documentation and tests)."""
    return [r.path for r in [*api.routes, *health.routes, *pages.routes] if isinstance(r, Route)]
