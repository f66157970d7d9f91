"""The background worker: apply received activities and deliver ours, from PostgreSQL rows.

Rows are claimed with `FOR UPDATE SKIP LOCKED` and a lease, so several workers share the work
and a killed worker's rows come back when its lease ends; no network call happens inside a
transaction; `LISTEN hirondelle_work` wakes the loop. Nothing lives only in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import asyncpg

from activitypub import deliver, keys, retry
from activitypub.auth import SignedAuth
from activitypub.errors import ActivityPubError
from directory.services import handlers
from directory.services.federation import Federation
from directory.store import deliveries as delivery_store, followers, inbox as inbox_store
from directory.store.deliveries import Delivery
from directory.store.inbox import InboxItem

logger = logging.getLogger(__name__)
CHANNEL = "hirondelle_work"


class Worker:
    """Processes due inbox items and deliveries; `run_once` for tests, `run` for production."""

    def __init__(
        self,
        fed: Federation,
        *,
        batch: int = 50,
        lease_seconds: int = 120,
        concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self.fed = fed
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.gate = asyncio.Semaphore(concurrency)
        self.rng = rng or random.Random()  # noqa: S311  (jitter, not security)

    async def run_once(self) -> int:
        """Do everything due now, once; return how many rows were handled."""
        done = 0
        while True:
            handled = await self._inbox_batch() + await self._delivery_batch()
            done += handled
            if handled == 0:
                return done

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 30.0) -> None:
        """Work until `stop` is set, sleeping until notified or until something falls due."""
        wake = asyncio.Event()

        def notified(*_args: object) -> None:
            wake.set()

        async with self.fed.pool.acquire() as listener:
            await listener.add_listener(CHANNEL, notified)
            try:
                while not stop.is_set():
                    wake.clear()
                    try:
                        await self.run_once()
                    except (OSError, asyncpg.PostgresError):
                        logger.exception("worker pass failed; trying again shortly")
                    await _wait_any(wake, stop, seconds=await self._sleep_time(idle_seconds))
            finally:
                await listener.remove_listener(CHANNEL, notified)
                await listener.execute("UNLISTEN *")  # the connection returns to the pool clean

    async def _sleep_time(self, idle_seconds: float) -> float:
        due = await delivery_store.next_due(self.fed.pool, self.fed.now())
        if due is None:
            return idle_seconds
        return min(max((due - self.fed.now()).total_seconds(), 0.05), idle_seconds)

    async def _inbox_batch(self) -> int:
        async with self.fed.pool.acquire() as conn:
            items = await inbox_store.claim_due(
                conn, now=self.fed.now(), limit=self.batch, lease_seconds=self.lease_seconds
            )
        for item in items:
            await self._apply(item)
        return len(items)

    async def _apply(self, item: InboxItem) -> None:
        try:
            outcome = await handlers.handle(self.fed, item)
        except (ActivityPubError, OSError, asyncpg.PostgresError) as exc:
            at = retry.next_attempt(item.attempts + 1, now=self.fed.now(), rng=self.rng)
            await inbox_store.mark_retry(self.fed.pool, item.id, at=at, error=repr(exc))
            return
        logger.debug("inbox %s: %s", item.activity_id, outcome)
        await inbox_store.mark_done(self.fed.pool, item.id)

    async def _delivery_batch(self) -> int:
        async with self.fed.pool.acquire() as conn:
            due = await delivery_store.claim_due(
                conn, now=self.fed.now(), limit=self.batch, lease_seconds=self.lease_seconds
            )
        await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    async def _deliver(self, delivery: Delivery) -> None:
        async with self.gate:
            auth = await self._auth(delivery)
            outcome = await deliver.post_activity(
                self.fed.client, delivery.inbox, delivery.body, policy=self.fed.policy,
                auth=auth, now=self.fed.now,
            )  # fmt: skip
        await self._record(delivery, outcome)

    async def _auth(self, delivery: Delivery) -> SignedAuth:
        if delivery.entry_id is None:
            private_pem = (await self.fed.instance_key())[0]
        else:
            async with self.fed.pool.acquire() as conn:
                private_pem = (await self.fed.entry_key(conn, delivery.entry_id))[0]
        return SignedAuth(
            key_id=keys.key_id(delivery.actor_uri), private_pem=private_pem, now=self.fed.now
        )

    async def _record(
        self, delivery: Delivery, outcome: deliver.Sent | deliver.Retry | deliver.GiveUp
    ) -> None:
        pool = self.fed.pool
        if isinstance(outcome, deliver.Sent):
            await delivery_store.mark_sent(
                pool, delivery.id, status=outcome.status, host=delivery.host
            )
            return
        if isinstance(outcome, deliver.GiveUp):
            if outcome.reason == "gone":
                await followers.remove_by_inbox(pool, delivery.inbox)
            at = None
        else:
            at = retry.next_attempt(
                delivery.attempts + 1, now=self.fed.now(), retry_after=outcome.at, rng=self.rng
            )
        await delivery_store.mark_failed(
            pool, delivery.id, retry_at=at, status=outcome.status,
            error=outcome.reason, host=delivery.host,
        )  # fmt: skip


async def _wait_any(first: asyncio.Event, second: asyncio.Event, *, seconds: float) -> None:
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
