"""A worker killed with SIGKILL mid-delivery loses nothing: its leased rows come back."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg

from directory.services.federation import Federation
from directory.store import deliveries
from tests.factories import published_entry
from tests.peers import Peer

ACTIVITIES = 30


async def _worker(database_dsn: str, ca_file: str) -> asyncio.subprocess.Process:
    env = dict(os.environ) | {
        "DATABASE_URL": database_dsn,
        "HIRONDELLE_DOMAIN": "dir.test",
        "HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES": "127.0.0.0/8",
        "HIRONDELLE_CA_BUNDLE": ca_file,
        "HIRONDELLE_WORKER_LEASE_SECONDS": "2",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "directory", "worker", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def _wait_for(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached within {seconds} s")


async def test_sigkill_mid_delivery__every_activity_arrives_once(
    pool: asyncpg.Pool, peer: Peer, federation: Federation, database_dsn: str, ca_file: str
) -> None:
    # Given 30 activities queued for a slow receiver
    entry = await published_entry(pool, x_account_id="12", findable=True)
    peer.inbox_delay = 0.2
    inbox = f"{peer.base}/inbox"
    async with pool.acquire() as conn:
        for number in range(ACTIVITIES):
            activity_id = f"https://dir.test/activities/test/{number}"
            await deliveries.enqueue(
                conn, activity_id=activity_id, entry_id=entry.id,
                actor_uri=federation.urls.entry_actor(12), kind="Update",
                payload={"id": activity_id, "type": "Update"}, inboxes=[inbox],
            )  # fmt: skip
    # When a worker process is killed with SIGKILL while it delivers
    first = await _worker(database_dsn, ca_file)
    await _wait_for(lambda: _received_at_least(peer, 5), 30)
    first.send_signal(signal.SIGKILL)
    await first.wait()
    in_flight = await pool.fetchval(
        "SELECT count(*) FROM deliveries WHERE state = 'pending' AND locked_until IS NOT NULL"
    )
    assert 0 < len(peer.received) < ACTIVITIES, "the kill must land mid-delivery"
    # And another worker starts
    second = await _worker(database_dsn, ca_file)
    try:
        await _wait_for(lambda: _all_done(pool), 60)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    # Then every activity arrived, and only those in flight at the kill can have arrived twice
    # (a receiver deduplicating by activity id, as real servers do, applies each once)
    ids = [r.activity["id"] for r in peer.received]
    expected = {f"https://dir.test/activities/test/{n}" for n in range(ACTIVITIES)}
    assert set(ids) == expected
    assert len(ids) - len(expected) <= in_flight
    assert second.returncode == 0


async def _received_at_least(peer: Peer, count: int) -> bool:
    return len(peer.received) >= count


async def _all_done(pool: asyncpg.Pool) -> bool:
    pending: int = await pool.fetchval("SELECT count(*) FROM deliveries WHERE state <> 'done'")
    return pending == 0
