"""Keep the actor cache in step with the database: LISTEN to entry changes, drop what changed.

One connection of the pool is held for LISTEN while the web process runs. The cache serves
only while it listens: when that connection is lost, the cache is emptied and turned off, and
listening starts again after a pause that doubles up to `max_retry_seconds`. A periodic ping
notices a connection that died without closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from directory.db import Conn
from directory.services.actor_cache import ActorCache
from directory.store import changes

logger = logging.getLogger(__name__)
_FAILURES = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


class CacheListener:
    """Listens to entry changes on a pooled connection and invalidates the cache accordingly."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        cache: ActorCache,
        *,
        ping_seconds: float = 30.0,
        first_retry_seconds: float = 0.1,
        max_retry_seconds: float = 30.0,
    ) -> None:
        self.pool = pool
        self.cache = cache
        self.ping_seconds = ping_seconds
        self.first_retry_seconds = first_retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.connections = 0  # how many times listening started (for logs and tests)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop` is set; after a lost connection, flush the cache and listen again."""
        delay = self.first_retry_seconds
        while not stop.is_set():
            started = self.connections
            try:
                await self._listen(stop)
            except _FAILURES as exc:
                logger.warning("entry changes: listening failed (%r); the cache is off", exc)
            except Exception:
                logger.exception("entry changes: the listener failed; the cache is off")
            self.cache.disable()
            if self.connections > started:  # it had listened: try again soon
                delay = self.first_retry_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, self.max_retry_seconds)

    def changed(self, x_account_ids: frozenset[int] | None) -> None:
        """Drop the cached answers of the entries a notification names (None: everything)."""
        if x_account_ids is None:
            self.cache.invalidate_all()
        else:
            self.cache.invalidate(x_account_ids)

    async def _listen(self, stop: asyncio.Event) -> None:
        """Hold one connection that listens, until `stop` or until the connection is lost."""
        async with self.pool.acquire() as conn:
            lost = asyncio.Event()

            def terminated(_conn: Any) -> None:
                lost.set()

            conn.add_termination_listener(terminated)
            listener = None
            try:
                listener = await changes.listen(conn, self.changed)
                self.cache.enable()
                self.connections += 1
                logger.info("entry changes: listening; the actor cache is on")
                await self._watch(conn, lost, stop)
            finally:
                self.cache.disable()
                if not lost.is_set():  # a lost connection is already out of the pool
                    await self._release_clean(conn, listener, terminated)

    async def _watch(self, conn: Conn, lost: asyncio.Event, stop: asyncio.Event) -> None:
        """Return when stopped or when the connection is lost; ping it now and then."""
        while True:
            await _wait_any(lost, stop, seconds=self.ping_seconds)
            if lost.is_set() and not stop.is_set():
                raise ConnectionError("the listening connection was closed")
            if stop.is_set():
                return
            await asyncio.wait_for(changes.ping(conn), timeout=self.ping_seconds)

    async def _release_clean(
        self, conn: Conn, listener: changes.Listener | None, terminated: Any
    ) -> None:
        """Stop listening so that the connection returns to the pool clean, or else close it."""
        try:
            conn.remove_termination_listener(terminated)
            await asyncio.wait_for(changes.unlisten(conn, listener), timeout=5)
        except _FAILURES:
            with contextlib.suppress(asyncpg.InterfaceError):
                conn.terminate()


@contextlib.asynccontextmanager
async def listening(listener: CacheListener) -> AsyncIterator[None]:
    """Run the listener in the background while the block runs; stop it cleanly after."""
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop), name="hirondelle-cache-listener")
    try:
        yield
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=10)
        if not done:  # still waiting for a connection of a busy pool
            task.cancel()
            await asyncio.wait({task})


async def _wait_any(first: asyncio.Event, second: asyncio.Event, *, seconds: float) -> None:
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waiters, return_exceptions=True)
