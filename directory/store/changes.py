"""Listen to the changes of entries that PostgreSQL notifies (migrations/0004_entry_changes.sql).

Every statement that changes local entries, their accounts (through `accounts_touch_entry`) or
their keys sends one notification on `hirondelle_entries`: the changed X ids, comma-separated,
or `*` when they would not fit in a notification (or after a TRUNCATE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from directory.db import Conn

CHANNEL = "hirondelle_entries"
EVERYTHING = "*"
_MAX_IDS = 4_000  # a payload holds fewer than 8,000 bytes, so fewer ids than this

# Told of each change: the X ids changed, or None for "anything may have changed".
OnChange = Callable[[frozenset[int] | None], None]
# What asyncpg calls: (connection, backend pid, channel, payload).
Listener = Callable[[Any, int, str, object], None]


def parse_payload(payload: str) -> frozenset[int] | None:
    """The X ids a notification names, or None for "anything may have changed".

    A payload that is not a list of positive whole numbers means everything too: dropping too
    much costs a few queries, keeping a stale answer would be wrong.
    """
    if payload == EVERYTHING:
        return None
    parts = payload.split(",")
    if not payload or len(parts) > _MAX_IDS:
        return None
    ids = set()
    for part in parts:
        if not (part.isascii() and part.isdigit()) or len(part) > 19:
            return None
        ids.add(int(part))
    return frozenset(ids)


async def listen(conn: Conn, on_change: OnChange) -> Listener:
    """Start receiving entry changes on `conn`, a connection held for this; see `unlisten`."""

    def notified(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
        on_change(parse_payload(payload) if isinstance(payload, str) else None)

    await conn.add_listener(CHANNEL, notified)
    return notified


async def unlisten(conn: Conn, listener: Listener | None) -> None:
    """Stop receiving them (`listener` as `listen` returned it), leaving the connection clean."""
    if listener is not None:
        await conn.remove_listener(CHANNEL, listener)
    await conn.execute("UNLISTEN *")


async def ping(conn: Conn) -> None:
    """Check that the listening connection still reaches the server."""
    await conn.fetchval("SELECT 1")
