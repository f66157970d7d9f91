"""Record that an entry's fediverse account was confirmed by its alias, and movedTo."""

from __future__ import annotations

from directory.db import Conn


async def record_move(conn: Conn, *, entry_id: int, handle: str, target: str) -> None:
    """Mark the account confirmed (the alias is a proof of ownership) and set movedTo."""
    await conn.execute(
        """UPDATE accounts SET canonical_id = $3, alias_verified_at = now(),
               proof_method = coalesce(proof_method, 'alias'),
               verified_at = coalesce(verified_at, now())
           WHERE entry_id = $1 AND network = 'fediverse' AND handle = $2""",
        entry_id,
        handle,
        target,
    )
    await conn.execute("UPDATE entries SET moved_to = $2 WHERE id = $1", entry_id, target)
