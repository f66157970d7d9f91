"""Read what our ActivityPub surface shows: findable entries (one query each) and tombstones."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import asyncpg
import orjson

from directory.db import Executor


@dataclasses.dataclass(frozen=True)
class LinkedHandle:
    """A new account as the actor document shows it."""

    network: str
    handle: str
    url: str
    verified: bool


@dataclasses.dataclass(frozen=True)
class ActorEntry:
    """What an entry actor document is built from."""

    id: int
    x_account_id: int
    x_handle: str
    display_name: str
    created_at: datetime
    public: bool
    moved_to: str | None
    public_key_pem: str | None  # None until the entry's key is first made
    accounts: tuple[LinkedHandle, ...]


@dataclasses.dataclass(frozen=True)
class Gone:
    """The entry was withdrawn: answer 410 so that servers delete their copy."""

    withdrawn_at: datetime


_ACTOR = """
SELECT e.id, e.x_account_id, e.x_handle, e.display_name, e.created_at, e.consent_public,
       e.moved_to, k.public_pem,
       (SELECT json_agg(json_build_array(a.network, a.handle, a.profile_url,
                                         a.verified_at IS NOT NULL)
                        ORDER BY a.network, NOT a.is_primary, a.id)
        FROM accounts a WHERE a.entry_id = e.id)::text AS accounts
FROM entries e LEFT JOIN entry_keys k ON k.entry_id = e.id
WHERE e.origin_host IS NULL AND e.status = 'published' AND e.consent_findable
"""


async def findable_by_x_id(conn: Executor, x_account_id: int) -> ActorEntry | Gone | None:
    """The findable local entry with this X id, its tombstone, or None."""
    row = await conn.fetchrow(_ACTOR + " AND e.x_account_id = $1", x_account_id)
    if row is not None:
        return _to_actor(row)
    return await _tombstone(conn, x_account_id)


async def findable_by_handle(conn: Executor, x_handle_key: str) -> ActorEntry | None:
    """The findable local entry with this X handle (compared lowercased)."""
    row = await conn.fetchrow(_ACTOR + " AND e.x_handle_key = $1", x_handle_key)
    return None if row is None else _to_actor(row)


async def findable_id_by_handle(conn: Executor, x_handle_key: str) -> tuple[int, str] | None:
    """(X id, X handle) of the findable local entry with this handle: all WebFinger needs."""
    row = await conn.fetchrow(
        "SELECT x_account_id, x_handle FROM entries WHERE x_handle_key = $1"
        " AND origin_host IS NULL AND status = 'published' AND consent_findable",
        x_handle_key,
    )
    return None if row is None else (row[0], row[1])


async def findable_page(conn: Executor, *, offset: int, limit: int) -> list[ActorEntry]:
    """Findable, public entries, newest first (the Mastodon profile directory)."""
    rows = await conn.fetch(
        _ACTOR + " AND e.consent_public ORDER BY e.published_at DESC, e.id DESC OFFSET $1 LIMIT $2",
        offset,
        limit,
    )
    return [_to_actor(row) for row in rows]


async def findable_by_prefix(conn: Executor, prefix: str, *, limit: int) -> list[ActorEntry]:
    """Findable, public entries whose X handle starts with `prefix` (lowercase)."""
    rows = await conn.fetch(
        _ACTOR + " AND e.consent_public AND e.x_handle_key >= $1 AND e.x_handle_key < $2"
        " ORDER BY e.x_handle_key LIMIT $3",
        prefix,
        prefix + "\x7f",
        limit,
    )
    return [_to_actor(row) for row in rows]


async def count_findable(conn: Executor) -> int:
    """How many local entries are published and findable."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM entries WHERE origin_host IS NULL AND status = 'published'"
        " AND consent_findable"
    )
    return count


async def _tombstone(conn: Executor, x_account_id: int) -> Gone | None:
    withdrawn_at = await conn.fetchval(
        """SELECT max(withdrawn_at) FROM entries WHERE x_account_id = $1 AND origin_host IS NULL
           AND status = 'withdrawn'""",
        x_account_id,
    )
    return None if withdrawn_at is None else Gone(withdrawn_at)


def _to_actor(row: asyncpg.Record) -> ActorEntry:
    accounts = orjson.loads(row["accounts"]) if row["accounts"] else []
    return ActorEntry(
        id=row["id"],
        x_account_id=row["x_account_id"],
        x_handle=row["x_handle"],
        display_name=row["display_name"],
        created_at=row["created_at"],
        public=row["consent_public"],
        moved_to=row["moved_to"],
        public_key_pem=row["public_pem"],
        accounts=tuple(LinkedHandle(a[0], a[1], a[2], a[3]) for a in accounts),
    )
