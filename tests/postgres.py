"""A real PostgreSQL for the tests: one server per session, one database per test.

The server is the embedded one (the same the application uses by default), or the server named
by HIRONDELLE_TEST_DATABASE_URL (a role that may CREATE DATABASE). Migrations are applied once,
to a template database; each test gets `CREATE DATABASE … TEMPLATE` (tens of milliseconds).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from directory import db
from directory.embedded import start_embedded
from directory.migrate import apply_migrations

TEMPLATE = "hirondelle_template"
_counter = itertools.count(1)


def with_database(dsn: str, name: str) -> str:
    """The same server DSN, pointing at another database."""
    parts = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def server_dsn() -> Iterator[str]:
    """Yield the DSN of a server the tests may create databases on; stop it afterwards."""
    given = os.environ.get("HIRONDELLE_TEST_DATABASE_URL", "").strip()
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="hirondelle-test-") as base:
        os.chmod(base, 0o755)  # noqa: S103  (as root, the server runs as its own system user)
        server = start_embedded(Path(base) / "pg", stop_at_exit=True)
        try:
            asyncio.run(_make_disposable(server.uri))
            yield server.uri
        finally:
            server.stop()


async def _make_disposable(dsn: str) -> None:
    """A throwaway server need not survive a crash: skip the disk flushes."""
    conn = await db.connect(dsn)
    try:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            await conn.execute(f"ALTER SYSTEM SET {setting} = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def create_template(dsn: str) -> None:
    """(Re)create the migrated template database."""
    admin = await db.connect(dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {TEMPLATE}")
    finally:
        await admin.close()
    conn = await db.connect(with_database(dsn, TEMPLATE))
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


async def create_test_database(dsn: str) -> str:
    """A new database copied from the template; returns its name."""
    name = f"hirondelle_test_{os.getpid()}_{next(_counter)}"
    admin = await db.connect(dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    finally:
        await admin.close()
    return name


async def drop_database(dsn: str, name: str) -> None:
    admin = await db.connect(dsn)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()


async def fresh_empty_database(dsn: str) -> str:
    """An empty database (no migrations), for migration tests."""
    name = f"hirondelle_empty_{os.getpid()}_{next(_counter)}"
    admin: asyncpg.Connection = await db.connect(dsn)
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return name
