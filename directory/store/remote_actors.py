"""Cache the remote actors we met: their keys (to check signatures) and inboxes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from directory.db import Executor


@dataclasses.dataclass(frozen=True)
class RemoteActor:
    """What we keep of a remote actor document."""

    uri: str
    host: str
    inbox: str
    shared_inbox: str | None
    key_id: str | None
    public_key_pem: str | None
    username: str | None
    also_known_as: tuple[str, ...]
    fetched_at: datetime

    @property
    def delivery_inbox(self) -> str:
        """Where to deliver: the shared inbox when there is one (Mastodon `Account.inboxes`)."""
        return self.shared_inbox or self.inbox


_COLUMNS = (
    "uri, host, inbox, shared_inbox, key_id, public_key_pem, username, also_known_as, fetched_at"
)


async def save(conn: Executor, actor: RemoteActor) -> None:
    """Insert or refresh a remote actor."""
    await conn.execute(
        f"""INSERT INTO remote_actors ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (uri) DO UPDATE SET host = $2, inbox = $3, shared_inbox = $4,
                key_id = $5, public_key_pem = $6, username = $7, also_known_as = $8,
                fetched_at = $9, gone_at = NULL""",
        actor.uri,
        actor.host,
        actor.inbox,
        actor.shared_inbox,
        actor.key_id,
        actor.public_key_pem,
        actor.username,
        list(actor.also_known_as),
        actor.fetched_at,
    )


async def by_uri(conn: Executor, uri: str) -> RemoteActor | None:
    """A cached, not-gone actor by its id."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM remote_actors WHERE uri = $1 AND gone_at IS NULL", uri
    )
    return None if row is None else _to_actor(row)


async def by_key_id(conn: Executor, key_id: str) -> RemoteActor | None:
    """A cached, not-gone actor by the id of its key."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM remote_actors WHERE key_id = $1 AND gone_at IS NULL"
        " ORDER BY fetched_at DESC LIMIT 1",
        key_id,
    )
    return None if row is None else _to_actor(row)


async def mark_gone(conn: Executor, uris: Sequence[str]) -> None:
    """Remember that these actors were deleted at their origin."""
    await conn.execute(
        "UPDATE remote_actors SET gone_at = now() WHERE uri = ANY($1::text[])", list(uris)
    )


def _to_actor(row: asyncpg.Record) -> RemoteActor:
    return RemoteActor(
        uri=row["uri"],
        host=row["host"],
        inbox=row["inbox"],
        shared_inbox=row["shared_inbox"],
        key_id=row["key_id"],
        public_key_pem=row["public_key_pem"],
        username=row["username"],
        also_known_as=tuple(row["also_known_as"]),
        fetched_at=row["fetched_at"],
    )
