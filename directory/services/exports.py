"""Export the local directory as JSON lines, tombstones included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from directory.store import exports as store


async def export_lines(pool: asyncpg.Pool) -> AsyncIterator[str]:
    """Yield one JSON object per local entry or tombstone, in creation order."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        async for line in store.stream_local_entries(conn):
            yield line
