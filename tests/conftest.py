"""Shared fixtures: a real PostgreSQL, a database per test, the app and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import trustme
from starlette.applications import Starlette

from activitypub import keys
from activitypub.safehttp import make_client
from directory import db
from directory.app import create_app
from directory.services.federation import Federation, fetch_policy
from directory.settings import Settings, load_settings
from tests import postgres
from tests.peers import Peer


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


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A throwaway certificate authority for the TLS peers of the tests."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def settings(ca_file: str) -> Settings:
    """Test settings: peers on loopback are allowed (never in production) and trusted."""
    return load_settings(
        {
            "HIRONDELLE_DOMAIN": "dir.test",
            "HIRONDELLE_MAX_BODY_BYTES": "4194304",
            "HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES": "127.0.0.0/8",
            "HIRONDELLE_CA_BUNDLE": ca_file,
        }
    )


@pytest.fixture
async def peer(ca: trustme.CA, tmp_path: Path) -> AsyncIterator[Peer]:
    """A remote ActivityPub server on 127.0.0.2 over TLS."""
    server = Peer(ca, tmp_path)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The application's safe outbound client, trusting the test CA."""
    client = make_client(fetch_policy(settings), verify=settings.ca_bundle or True)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> Clock:
    """Starts at the real time (PostgreSQL's now() stamps rows); tests move it forward."""
    return Clock(datetime.now(UTC))


@pytest.fixture
def app(settings: Settings, pool: asyncpg.Pool, http: httpx.AsyncClient, clock: Clock) -> Starlette:
    return create_app(settings, pool=pool, client=http, now=clock, make_key=test_key)


@pytest.fixture
def federation(app: Starlette) -> Federation:
    fed: Federation = app.state.federation
    return fed


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://dir.test") as client:
        yield client


class Clock:
    """A clock the tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


_TEST_KEYS: list[tuple[str, str]] = []


def test_key() -> tuple[str, str]:
    """RSA key pairs for actors, made once per test session (making one takes ~50 ms)."""
    if len(_TEST_KEYS) < 8:
        pair = keys.generate_rsa_keypair()
        _TEST_KEYS.append((pair.private_pem, pair.public_pem))
        return _TEST_KEYS[-1]
    _TEST_KEYS.append(_TEST_KEYS.pop(0))
    return _TEST_KEYS[-1]
