"""Shared fixtures: a real PostgreSQL, a database per test, the app and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from directory import db
from directory.app import create_app
from directory.settings import Settings, load_settings
from tests import postgres


@pytest.fixture(scope="session")
def server_dsn() -> Iterator[str]:
    yield from postgres.server_dsn()


@pytest.fixture(scope="session")
async def template(server_dsn: str) -> str:
    await postgres.create_template(server_dsn)
    return postgres.TEMPLATE


@pytest.fixture
async def database_dsn(server_dsn: str, template: str) -> AsyncIterator[str]:
    """A migrated database of this test's own."""
    name = await postgres.create_test_database(server_dsn)
    yield postgres.with_database(server_dsn, name)
    await postgres.drop_database(server_dsn, name)


@pytest.fixture
async def pool(database_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await db.create_pool(database_dsn, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def settings() -> Settings:
    return load_settings({"HIRONDELLE_DOMAIN": "dir.test", "HIRONDELLE_MAX_BODY_BYTES": "4194304"})


@pytest.fixture
def app(settings: Settings, pool: asyncpg.Pool) -> Starlette:
    return create_app(settings, pool=pool)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dir.test") as client:
        yield client
