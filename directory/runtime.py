"""Find the database a command should use: DATABASE_URL, or the embedded server."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

from activitypub.safehttp import make_client
from directory import db
from directory.embedded import EmbeddedServer, start_embedded
from directory.migrate import apply_migrations, pending_migrations
from directory.services.federation import Federation, fetch_policy
from directory.settings import Settings
from directory.urls import Urls


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Database:
    """Where to connect, and the embedded server behind it if there is one."""

    dsn: str
    embedded: EmbeddedServer | None

    @property
    def description(self) -> str:
        if self.embedded is None:
            return "the server in DATABASE_URL"
        return "the embedded PostgreSQL"


@contextlib.contextmanager
def open_database(settings: Settings) -> Iterator[Database]:
    """DATABASE_URL when set; otherwise the embedded server in the data directory.

    The embedded server is started if it is not running, and stopped when the block ends only
    if this call started it (a `serve` running beside a command keeps its server).
    """
    if settings.database_url is not None:
        yield Database(settings.database_url, None)
        return
    started_here = not _postmaster_running(settings.embedded_pgdata)
    server = start_embedded(settings.embedded_pgdata, stop_at_exit=started_here)
    try:
        yield Database(server.uri, server)
    finally:
        server.stop()


async def migrate(database: Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    async with _connection(database) as conn:
        return [m.name for m in await apply_migrations(conn)]


async def pending(database: Database) -> list[str]:
    """Names of the migrations not yet applied."""
    async with _connection(database) as conn:
        return [m.name for m in await pending_migrations(conn)]


@contextlib.asynccontextmanager
async def open_pool(database: Database) -> AsyncIterator[asyncpg.Pool]:
    """A small pool for one CLI command; its statements may run as long as they need."""
    try:
        pool = await db.create_pool(database.dsn, min_size=1, max_size=4, command_timeout=None)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot reach {database.description}: {exc}") from None
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def open_federation(settings: Settings, pool: asyncpg.Pool) -> AsyncIterator[Federation]:
    """The federation context for a command: our URLs, the pool and a safe HTTP client."""
    policy = fetch_policy(settings)
    client = make_client(policy, verify=settings.ca_bundle or True)
    try:
        yield Federation(Urls(settings.domain), pool, client, policy)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def _connection(database: Database) -> AsyncIterator[asyncpg.Connection]:
    try:
        conn = await db.connect(database.dsn)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(f"cannot reach {database.description}: {exc}") from None
    try:
        yield conn
    finally:
        await conn.close()


def _postmaster_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, owned by the server's own system user
    except (OSError, ValueError):
        return False
    return True
