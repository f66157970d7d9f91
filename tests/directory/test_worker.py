"""The worker's delivery: retries with backoff, Retry-After, 410 drops the follower, give-ups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg

from directory.services.federation import Federation
from directory.store import deliveries
from directory.worker import Worker
from tests.conftest import Clock
from tests.factories import published_entry
from tests.peers import Peer


async def _queue(pool: asyncpg.Pool, peer: Peer, federation: Federation) -> str:
    """One Accept queued from entry 12 to a follower on the peer; returns the follower."""
    entry = await published_entry(pool, x_account_id="12", findable=True)
    follower = peer.add_actor("follower")
    inbox = f"{peer.base}/inbox"
    await pool.execute(
        "INSERT INTO followers (entry_id, actor_uri, inbox, follow_id) VALUES ($1, $2, $3, 'f')",
        entry.id,
        follower,
        inbox,
    )
    payload: dict[str, Any] = {"id": "https://dir.test/activities/t/1", "type": "Accept"}
    async with pool.acquire() as conn:
        await deliveries.enqueue(
            conn, activity_id=payload["id"], entry_id=entry.id,
            actor_uri=federation.urls.entry_actor(12), kind="Accept", payload=payload,
            inboxes=[inbox],
        )  # fmt: skip
    return follower


async def _delivery(pool: asyncpg.Pool) -> asyncpg.Record:
    row = await pool.fetchrow("SELECT * FROM deliveries")
    assert row is not None
    return row


async def test_server_error__retried_later_then_delivered(
    pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # Given a delivery whose inbox first answers 500
    await _queue(pool, peer, federation)
    peer.inbox_statuses = [500]
    # When the worker runs, Then the delivery waits for a later attempt
    await Worker(federation).run_once()
    row = await _delivery(pool)
    assert (row["state"], row["attempts"], row["last_status"]) == ("pending", 1, 500)
    assert row["next_attempt_at"] > clock()
    assert await Worker(federation).run_once() == 0  # not due yet
    # When the time comes, Then it is delivered
    clock.advance(minutes=2)
    await Worker(federation).run_once()
    row = await _delivery(pool)
    assert (row["state"], row["attempts"], row["last_status"]) == ("done", 2, 202)
    assert len(peer.received) == 2
    host = await pool.fetchrow("SELECT * FROM hosts")
    assert host is not None
    assert host["consecutive_failures"] == 0


async def test_retry_after__is_honoured(
    pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    await _queue(pool, peer, federation)
    peer.inbox_statuses = [429]
    peer.retry_after = "600"
    await Worker(federation).run_once()
    row = await _delivery(pool)
    assert row["next_attempt_at"] >= clock() + timedelta(seconds=600)


async def test_gone_inbox__drops_the_follower(
    pool: asyncpg.Pool, peer: Peer, federation: Federation
) -> None:
    await _queue(pool, peer, federation)
    peer.inbox_statuses = [410]
    await Worker(federation).run_once()
    row = await _delivery(pool)
    assert (row["state"], row["last_status"]) == ("failed", 410)
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0


async def test_refused_delivery__is_not_retried(
    pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    await _queue(pool, peer, federation)
    peer.inbox_statuses = [400]
    await Worker(federation).run_once()
    clock.advance(days=1)
    assert await Worker(federation).run_once() == 0
    row = await _delivery(pool)
    assert (row["state"], row["attempts"]) == ("failed", 1)
    assert await pool.fetchval("SELECT count(*) FROM followers") == 1


async def test_dead_host__retried_for_days_then_given_up(
    pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # Given an inbox that always fails
    await _queue(pool, peer, federation)
    peer.inbox_statuses = [503] * 100
    started = clock()
    # When the worker keeps trying as time passes
    for _ in range(100):
        await Worker(federation).run_once()
        row = await _delivery(pool)
        if row["state"] != "pending":
            break
        clock.current = max(clock.current, row["next_attempt_at"]) + timedelta(seconds=1)
    # Then it gave up only after at least three days, and the host's failures are counted
    assert row["state"] == "failed"
    assert clock() - started >= timedelta(days=3)
    assert await pool.fetchval("SELECT consecutive_failures FROM hosts") == row["attempts"]


async def test_concurrent_workers__deliver_once(
    pool: asyncpg.Pool, peer: Peer, federation: Federation
) -> None:
    import asyncio

    await _queue(pool, peer, federation)
    await asyncio.gather(*(Worker(federation).run_once() for _ in range(4)))
    assert len(peer.received) == 1
