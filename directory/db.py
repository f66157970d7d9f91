"""Open asyncpg connection pools and dedicated connections to Hirondelle's database."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# Pooled connections never hold session state (no SET, LISTEN, advisory locks or open cursors:
# those use a dedicated connection), so the reset asyncpg runs on every release, one extra round
# trip per request, can be skipped. shared/reference/performance-baseline.md F1: +41-49 % req/s.


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release a pooled connection as it is: pooled connections hold no session state."""


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, command_timeout: float | None = 60
) -> asyncpg.Pool:
    """Open a pool (statements time out after `command_timeout` seconds; None: never)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        reset=_keep_session,
        # The default (50,000) replaces every connection at about the same time under steady
        # load, which showed as p99 spikes in bench/lookup.py.
        max_queries=5_000_000,
        command_timeout=command_timeout,
        server_settings={"application_name": "hirondelle", "jit": "off"},
    )
    assert pool is not None
    return pool


async def connect(dsn: str) -> asyncpg.Connection:
    """Open one dedicated connection (migrations, advisory locks, LISTEN, COPY)."""
    return await asyncpg.connect(dsn, server_settings={"application_name": "hirondelle"})


# A connection, dedicated or borrowed from a pool (asyncpg hands out proxies).
Conn = asyncpg.Connection | PoolConnectionProxy
# Store functions that run one statement accept a pool (which borrows a connection for it) or
# a connection (inside a caller's transaction).
Executor = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool
