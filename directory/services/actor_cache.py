"""Keep the encoded answers of entry actors and their WebFinger lookups in process.

Serving them from memory spares the database a query per request (performance-baseline F4).
What is kept is always a positive answer (never a 404 or 410), as the bytes sent. It stays
right because PostgreSQL notifies every change of an entry (migrations/0004_entry_changes.sql)
and `cache_listener` drops the answers of the entries named; while nothing listens, the cache
neither serves nor stores. Two more guards:

* a reader takes `generation` before it queries and stores with that token: any invalidation
  in between bumps the generation, so an answer read before a change is never stored after it;
* every answer expires after `ttl_seconds`, in case a notification was lost.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

DEFAULT_CAPACITY = 50_000
DEFAULT_TTL_SECONDS = 300.0

_K = TypeVar("_K")
_V = TypeVar("_V")


class _Lru(Generic[_K, _V]):
    """A bounded map in least-recently-used order whose values expire."""

    def __init__(self, capacity: int, dropped: Callable[[_K, _V], None] | None = None) -> None:
        self.capacity = capacity
        self.items: OrderedDict[_K, tuple[float, _V]] = OrderedDict()
        self._dropped = dropped  # told of every value evicted, expired or popped

    def get(self, key: _K, now: float) -> _V | None:
        """The value under `key` unless it is missing or expired (expired ones are dropped)."""
        found = self.items.get(key)
        if found is None:
            return None
        if found[0] <= now:
            self.pop(key)
            return None
        self.items.move_to_end(key)
        return found[1]

    def put(self, key: _K, value: _V, expires: float) -> None:
        """Store a value in place of any other under `key`, evicting the least recently used."""
        self.pop(key)
        self.items[key] = (expires, value)
        while len(self.items) > self.capacity:
            self.pop(next(iter(self.items)))

    def pop(self, key: _K) -> None:
        """Drop the value under `key`, if any."""
        found = self.items.pop(key, None)
        if found is not None and self._dropped is not None:
            self._dropped(key, found[1])


class ActorCache:
    """Actor bodies by X id and WebFinger bodies by lowercased handle, for one process."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 0:
            raise ValueError("capacity must be 0 (no cache) or more")
        self.capacity = capacity
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._actors: _Lru[int, bytes] = _Lru(capacity)
        self._jrds: _Lru[str, tuple[int, bytes]] = _Lru(capacity, self._unlink)
        self._handles: dict[int, set[str]] = {}  # X id -> handle keys of its cached JRDs
        self._generation = 0
        self._enabled = False

    @property
    def generation(self) -> int:
        """The token a reader takes before it queries, and gives back to `put_*`."""
        return self._generation

    @property
    def enabled(self) -> bool:
        """True while changes are being listened to: only then does the cache serve and store."""
        return self._enabled

    def enable(self) -> None:
        """Start serving (call once listening): empty, and no read begun earlier may store."""
        self.invalidate_all()
        self._enabled = self.capacity > 0

    def disable(self) -> None:
        """Stop serving and storing (listening stopped or was lost), and forget everything."""
        self._enabled = False
        self.invalidate_all()

    def actor(self, x_account_id: int) -> bytes | None:
        """The cached actor document of this X id, if any."""
        if not self._enabled:
            return None
        return self._actors.get(x_account_id, self.clock())

    def webfinger(self, handle_key: str) -> tuple[int, bytes] | None:
        """(X id, JRD body) cached for this lowercased handle, if any."""
        if not self._enabled:
            return None
        return self._jrds.get(handle_key, self.clock())

    def put_actor(self, x_account_id: int, body: bytes, token: int) -> bool:
        """Keep an actor body read under `token`; refused if anything was invalidated since."""
        if not self._accepts(token):
            return False
        self._actors.put(x_account_id, body, self.clock() + self.ttl_seconds)
        return True

    def put_webfinger(self, handle_key: str, x_account_id: int, body: bytes, token: int) -> bool:
        """Keep a JRD body read under `token`; refused if anything was invalidated since."""
        if not self._accepts(token):
            return False
        self._jrds.put(handle_key, (x_account_id, body), self.clock() + self.ttl_seconds)
        self._handles.setdefault(x_account_id, set()).add(handle_key)
        return True

    def invalidate(self, x_account_ids: Iterable[int]) -> None:
        """Forget everything cached about these entries (their actor and their JRDs)."""
        self._generation += 1
        for x_id in x_account_ids:
            self._actors.pop(x_id)
            for handle_key in self._handles.pop(x_id, ()):
                self._jrds.pop(handle_key)

    def invalidate_all(self) -> None:
        """Forget everything."""
        self._generation += 1
        self._actors.items.clear()
        self._jrds.items.clear()
        self._handles.clear()

    @property
    def size(self) -> int:
        """How many answers are kept (actors and JRDs)."""
        return len(self._actors.items) + len(self._jrds.items)

    def _accepts(self, token: int) -> bool:
        return self._enabled and token == self._generation

    def _unlink(self, handle_key: str, jrd: tuple[int, bytes]) -> None:
        """Forget that a dropped JRD belonged to its entry."""
        keys = self._handles.get(jrd[0])
        if keys is not None:
            keys.discard(handle_key)
            if not keys:
                del self._handles[jrd[0]]
