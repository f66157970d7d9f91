"""Store and read the signing keys of the instance actor and of entry actors."""

from __future__ import annotations

from collections.abc import Callable

from directory.db import Conn, Executor

KeyMaker = Callable[[], tuple[str, str]]  # -> (private PEM, public PEM)


async def instance_key(conn: Executor, make: KeyMaker) -> tuple[str, str]:
    """The instance actor's (private, public) PEMs, created on first use."""
    row = await conn.fetchrow("SELECT private_pem, public_pem FROM instance_keys WHERE id = 1")
    if row is None:
        private_pem, public_pem = make()
        await conn.execute(
            "INSERT INTO instance_keys (id, private_pem, public_pem) VALUES (1, $1, $2)"
            " ON CONFLICT (id) DO NOTHING",
            private_pem,
            public_pem,
        )
        row = await conn.fetchrow("SELECT private_pem, public_pem FROM instance_keys WHERE id = 1")
    assert row is not None
    return row["private_pem"], row["public_pem"]


async def entry_key(conn: Conn, entry_id: int, make: KeyMaker) -> tuple[str, str]:
    """An entry actor's (private, public) PEMs, created on first use (races keep one)."""
    row = await conn.fetchrow(
        "SELECT private_pem, public_pem FROM entry_keys WHERE entry_id = $1", entry_id
    )
    if row is None:
        private_pem, public_pem = make()
        await conn.execute(
            "INSERT INTO entry_keys (entry_id, private_pem, public_pem) VALUES ($1, $2, $3)"
            " ON CONFLICT (entry_id) DO NOTHING",
            entry_id,
            private_pem,
            public_pem,
        )
        row = await conn.fetchrow(
            "SELECT private_pem, public_pem FROM entry_keys WHERE entry_id = $1", entry_id
        )
    assert row is not None
    return row["private_pem"], row["public_pem"]
