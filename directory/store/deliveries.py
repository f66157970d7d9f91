"""Queue outgoing activities with one delivery row per inbox, and track hosts' health.

The activity and its deliveries are written in the caller's transaction, with the change they
announce (transactional outbox, DESIGN §5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from directory.db import Conn, Executor


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One activity to POST to one inbox."""

    id: int
    inbox: str
    host: str
    attempts: int
    entry_id: int | None
    actor_uri: str
    activity_id: str
    body: bytes


async def enqueue(
    conn: Conn,
    *,
    activity_id: str,
    entry_id: int | None,
    actor_uri: str,
    kind: str,
    payload: dict[str, Any],
    inboxes: Sequence[str],
) -> int:
    """Store an outgoing activity and a delivery per distinct inbox; return the outbox row id."""
    outbox_id: int = await conn.fetchval(
        """INSERT INTO outbox_activities (activity_id, entry_id, actor_uri, type, payload)
           VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id""",
        activity_id,
        entry_id,
        actor_uri,
        kind,
        orjson.dumps(payload).decode(),
    )
    await conn.execute(
        """INSERT INTO deliveries (activity_id, inbox, host)
           SELECT $1, inbox, substring(inbox FROM '^https?://([^/?#]+)')
           FROM unnest($2::text[]) AS t(inbox)
           ON CONFLICT ON CONSTRAINT delivery_once DO NOTHING""",
        outbox_id,
        sorted(set(inboxes)),
    )
    return outbox_id


async def enqueue_to_followers(
    conn: Conn,
    *,
    activity_id: str,
    entry_id: int | None,
    actor_uri: str,
    kind: str,
    payload: dict[str, Any],
) -> int:
    """Store an activity addressed to every follower of an actor (one row per shared inbox)."""
    inboxes = await conn.fetch(
        "SELECT DISTINCT inbox FROM followers WHERE coalesce(entry_id, 0) = coalesce($1, 0)",
        entry_id,
    )
    return await enqueue(
        conn,
        activity_id=activity_id,
        entry_id=entry_id,
        actor_uri=actor_uri,
        kind=kind,
        payload=payload,
        inboxes=[row["inbox"] for row in inboxes],
    )


async def claim_due(conn: Conn, *, now: datetime, limit: int, lease_seconds: int) -> list[Delivery]:
    """Lock up to `limit` due deliveries for this worker for `lease_seconds`."""
    rows = await conn.fetch(
        """WITH claimed AS (
               UPDATE deliveries SET locked_until = $1 + make_interval(secs => $3)
               WHERE id IN (SELECT id FROM deliveries
                            WHERE state = 'pending' AND next_attempt_at <= $1
                              AND (locked_until IS NULL OR locked_until < $1)
                            ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING id, activity_id, inbox, host, attempts)
           SELECT c.id, c.inbox, c.host, c.attempts, o.entry_id, o.actor_uri, o.activity_id,
                  o.payload::text AS body
           FROM claimed c JOIN outbox_activities o ON o.id = c.activity_id
           ORDER BY c.id""",
        now,
        limit,
        lease_seconds,
    )
    return [
        Delivery(
            r["id"], r["inbox"], r["host"], r["attempts"], r["entry_id"], r["actor_uri"],
            r["activity_id"], r["body"].encode(),
        )
        for r in rows
    ]  # fmt: skip


async def mark_sent(conn: Executor, delivery_id: int, *, status: int, host: str) -> None:
    """A delivery arrived: close it and reset the host's failure count."""
    await conn.execute(
        """UPDATE deliveries SET state = 'done', attempts = attempts + 1, last_status = $2,
               locked_until = NULL, finished_at = now(), last_error = NULL WHERE id = $1""",
        delivery_id,
        status,
    )
    await conn.execute(
        """INSERT INTO hosts (host, consecutive_failures, last_success_at) VALUES ($1, 0, now())
           ON CONFLICT (host) DO UPDATE SET consecutive_failures = 0, last_success_at = now()""",
        host,
    )


async def mark_failed(
    conn: Executor,
    delivery_id: int,
    *,
    retry_at: datetime | None,
    status: int | None,
    error: str,
    host: str,
) -> None:
    """A delivery failed: retry at `retry_at`, or give up when it is None; count the failure."""
    await conn.execute(
        """UPDATE deliveries SET attempts = attempts + 1, last_status = $3, last_error = $4,
               locked_until = NULL,
               state = CASE WHEN $2::timestamptz IS NULL THEN 'failed'::work_state
                            ELSE 'pending'::work_state END,
               next_attempt_at = coalesce($2, next_attempt_at),
               finished_at = CASE WHEN $2::timestamptz IS NULL THEN now() END
           WHERE id = $1""",
        delivery_id,
        retry_at,
        status,
        error[:500],
    )
    await conn.execute(
        """INSERT INTO hosts (host, consecutive_failures, last_failure_at, last_error)
           VALUES ($1, 1, now(), $2)
           ON CONFLICT (host) DO UPDATE SET consecutive_failures = hosts.consecutive_failures + 1,
               last_failure_at = now(), last_error = $2""",
        host,
        error[:500],
    )


async def next_due(conn: Executor, now: datetime) -> datetime | None:
    """When the next pending delivery or inbox item is due, not before `now` (None: no work)."""
    value: datetime | None = await conn.fetchval(
        """SELECT greatest($1, least(
                   (SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'),
                   (SELECT min(next_attempt_at) FROM inbox_items WHERE state = 'pending')))
           WHERE EXISTS (SELECT 1 FROM deliveries WHERE state = 'pending')
              OR EXISTS (SELECT 1 FROM inbox_items WHERE state = 'pending')""",
        now,
    )
    return value
