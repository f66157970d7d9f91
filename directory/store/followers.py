"""Store who follows our actors (entry actors, or the instance actor when entry_id is None)."""

from __future__ import annotations

from directory.db import Executor


async def add(
    conn: Executor, *, entry_id: int | None, actor_uri: str, inbox: str, follow_id: str
) -> bool:
    """Record a follower; True if new, False if it already followed (its Follow id is updated)."""
    inserted: bool = await conn.fetchval(
        """INSERT INTO followers (entry_id, actor_uri, inbox, follow_id) VALUES ($1, $2, $3, $4)
           ON CONFLICT (coalesce(entry_id, 0), actor_uri)
           DO UPDATE SET inbox = EXCLUDED.inbox, follow_id = EXCLUDED.follow_id
           RETURNING xmax = 0""",
        entry_id,
        actor_uri,
        inbox,
        follow_id,
    )
    return inserted


async def remove(conn: Executor, *, entry_id: int | None, actor_uri: str) -> bool:
    """Forget a follower; False if it was not following."""
    status: str = await conn.execute(
        "DELETE FROM followers WHERE coalesce(entry_id, 0) = coalesce($1, 0) AND actor_uri = $2",
        entry_id,
        actor_uri,
    )
    return status != "DELETE 0"


async def remove_by_follow_id(conn: Executor, *, follow_id: str, actor_uri: str) -> bool:
    """Forget the follow with this Follow id, if this actor made it."""
    status: str = await conn.execute(
        "DELETE FROM followers WHERE follow_id = $1 AND actor_uri = $2", follow_id, actor_uri
    )
    return status != "DELETE 0"


async def remove_by_inbox(conn: Executor, inbox: str) -> int:
    """Drop every follower delivered through an inbox that answered 410 Gone."""
    status: str = await conn.execute("DELETE FROM followers WHERE inbox = $1", inbox)
    return int(status.split()[-1])


async def remove_actor(conn: Executor, actor_uri: str) -> int:
    """Drop every follow by an actor that was deleted."""
    status: str = await conn.execute("DELETE FROM followers WHERE actor_uri = $1", actor_uri)
    return int(status.split()[-1])


async def count(conn: Executor, entry_id: int | None) -> int:
    """How many actors follow one of our actors."""
    value: int = await conn.fetchval(
        "SELECT count(*) FROM followers WHERE coalesce(entry_id, 0) = coalesce($1, 0)", entry_id
    )
    return value


async def page(
    conn: Executor, entry_id: int | None, *, after_id: int, limit: int
) -> list[tuple[int, str]]:
    """(row id, actor uri) of followers after a row id, for the followers collection."""
    rows = await conn.fetch(
        """SELECT id, actor_uri FROM followers
           WHERE coalesce(entry_id, 0) = coalesce($1, 0) AND id > $2 ORDER BY id LIMIT $3""",
        entry_id,
        after_id,
        limit,
    )
    return [(row["id"], row["actor_uri"]) for row in rows]
