"""Migrations: applied in order, once, under a lock; a changed or misnamed file is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from directory import db
from directory.migrate import (
    Migration,
    MigrationError,
    apply_migrations,
    load_migrations,
    pending_migrations,
)
from tests import postgres


@pytest.fixture
async def empty_conn(server_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    name = await postgres.fresh_empty_database(server_dsn)
    conn = await db.connect(postgres.with_database(server_dsn, name))
    yield conn
    await conn.close()
    await postgres.drop_database(server_dsn, name)


async def test_fresh_database__all_migrations_apply(empty_conn: asyncpg.Connection) -> None:
    applied = await apply_migrations(empty_conn)
    assert [m.name for m in applied] == [m.name for m in load_migrations()]
    assert await pending_migrations(empty_conn) == []
    assert await empty_conn.fetchval("SELECT count(*) FROM schema_migrations") == len(applied)


async def test_rerun__is_a_no_op(empty_conn: asyncpg.Connection) -> None:
    await apply_migrations(empty_conn)
    assert await apply_migrations(empty_conn) == []


async def test_pending__lists_unapplied(empty_conn: asyncpg.Connection) -> None:
    assert [m.name for m in await pending_migrations(empty_conn)] == [
        m.name for m in load_migrations()
    ]


async def test_changed_migration__is_refused(empty_conn: asyncpg.Connection) -> None:
    first = load_migrations()[0]
    await apply_migrations(empty_conn, [first])
    edited = Migration(first.version, first.name, first.sql + "\n-- edited")
    with pytest.raises(MigrationError, match="forward-only"):
        await apply_migrations(empty_conn, [edited])


async def test_failing_migration__leaves_nothing(empty_conn: asyncpg.Connection) -> None:
    broken = Migration(1, "0001_broken.sql", "CREATE TABLE half (id int); SELECT 1/0;")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await apply_migrations(empty_conn, [broken])
    assert await empty_conn.fetchval("SELECT to_regclass('half')") is None
    assert await empty_conn.fetchval("SELECT count(*) FROM schema_migrations") == 0


async def test_concurrent_runs__apply_once(server_dsn: str) -> None:
    name = await postgres.fresh_empty_database(server_dsn)
    dsn = postgres.with_database(server_dsn, name)
    conns = [await db.connect(dsn) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(c) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, len(load_migrations())]
    finally:
        for conn in conns:
            await conn.close()
        await postgres.drop_database(server_dsn, name)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (["0001_a.sql", "0003_c.sql"], "expected migration number 0002"),
        (["0001_a.sql", "notes.sql"], "named NNNN_name.sql"),
        (["0002_b.sql"], "expected migration number 0001"),
    ],
)
def test_load__refuses_gaps_and_stray_names(tmp_path: Path, files: list[str], message: str) -> None:
    for name in files:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)


async def test_database_newer_than_the_code__is_refused(empty_conn: asyncpg.Connection) -> None:
    await apply_migrations(empty_conn)
    await empty_conn.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, '0999_x.sql', 'x')"
    )
    with pytest.raises(MigrationError, match="migrated by a newer Hirondelle"):
        await apply_migrations(empty_conn)
    with pytest.raises(MigrationError, match="0999"):
        await pending_migrations(empty_conn)
