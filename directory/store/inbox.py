"""Store received activities and hand them to the worker (claimed with SKIP LOCKED)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import orjson

from directory.db import Conn, Executor


@dataclasses.dataclass(frozen=True)
class InboxItem:
    """A received activity waiting to be processed."""

    id: int
    activity_id: str
    actor_uri: str
    addressed_x_id: int | None
    payload: dict[str, Any]
    attempts: int


async def record(
    conn: Executor,
    *,
    activity_id: str,
    actor_uri: str,
    addressed_x_id: int | None,
    payload: bytes,
) -> bool:
    """Store an activity once; False if this activity id was received before (a replay)."""
    inserted: int | None = await conn.fetchval(
        """INSERT INTO inbox_items (activity_id, actor_uri, addressed_x_id, payload)
           VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (activity_id) DO NOTHING RETURNING id""",
        activity_id,
        actor_uri,
        addressed_x_id,
        payload.decode(),
    )
    return inserted is not None


async def claim_due(
    conn: Conn, *, now: datetime, limit: int, lease_seconds: int
) -> list[InboxItem]:
    """Lock up to `limit` due items for this worker for `lease_seconds`."""
    rows = await conn.fetch(
        """UPDATE inbox_items SET locked_until = $1 + make_interval(secs => $3)
           WHERE id IN (SELECT id FROM inbox_items
                        WHERE state = 'pending' AND next_attempt_at <= $1
                          AND (locked_until IS NULL OR locked_until < $1)
                        ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING id, activity_id, actor_uri, addressed_x_id, payload::text, attempts""",
        now,
        limit,
        lease_seconds,
    )
    return [
        InboxItem(
            r["id"],
            r["activity_id"],
            r["actor_uri"],
            r["addressed_x_id"],
            orjson.loads(r[4]),
            r["attempts"],
        )
        for r in rows
    ]


async def mark_done(conn: Executor, item_id: int) -> None:
    await conn.execute(
        "UPDATE inbox_items SET state = 'done', locked_until = NULL, error = NULL WHERE id = $1",
        item_id,
    )


async def mark_retry(conn: Executor, item_id: int, *, at: datetime | None, error: str) -> None:
    """Try again at `at`, or give up (state failed) when `at` is None."""
    await conn.execute(
        """UPDATE inbox_items SET attempts = attempts + 1, locked_until = NULL, error = $3,
               state = CASE WHEN $2::timestamptz IS NULL THEN 'failed'::work_state
                            ELSE 'pending'::work_state END,
               next_attempt_at = coalesce($2, next_attempt_at)
           WHERE id = $1""",
        item_id,
        at,
        error[:500],
    )
