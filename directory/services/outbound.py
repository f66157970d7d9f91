"""Build the activities our actors send and queue them in the caller's transaction.

Shapes follow Mastodon's serializers (mastodon-interop.md §4-5): Accept embeds the Follow it
accepts; Move has actor = object = the entry actor and target = the new account.
"""

from __future__ import annotations

import uuid
from typing import Any

from activitypub import vocab
from directory.db import Conn
from directory.store import deliveries
from directory.urls import Urls


def _new_id(urls: Urls, kind: str) -> str:
    return urls.activity(kind, str(uuid.uuid4()))


async def accept_follow(
    conn: Conn,
    urls: Urls,
    *,
    entry_id: int | None,
    actor_id: str,
    follow: dict[str, Any],
    inbox: str,
) -> str:
    """Queue an Accept of a Follow, embedding it, to the follower's inbox; return its id."""
    return await _reply(conn, urls, "Accept", entry_id, actor_id, follow, inbox)


async def reject_follow(
    conn: Conn,
    urls: Urls,
    *,
    entry_id: int | None,
    actor_id: str,
    follow: dict[str, Any],
    inbox: str,
) -> str:
    """Queue a Reject of a Follow (for example to an entry that has moved)."""
    return await _reply(conn, urls, "Reject", entry_id, actor_id, follow, inbox)


async def update_actor(conn: Conn, urls: Urls, *, entry_id: int, actor: dict[str, Any]) -> str:
    """Queue `Update(actor)` to the entry's followers, so their servers refresh it now."""
    activity_id = _new_id(urls, "update")
    payload = {
        "@context": vocab.AS_CONTEXT,
        "id": activity_id,
        "type": "Update",
        "actor": actor["id"],
        "to": [vocab.PUBLIC],
        "object": {k: v for k, v in actor.items() if k != "@context"},
    }
    payload["@context"] = actor["@context"]
    await deliveries.enqueue_to_followers(
        conn, activity_id=activity_id, entry_id=entry_id, actor_uri=actor["id"], kind="Update",
        payload=payload,
    )  # fmt: skip
    return activity_id


async def move(conn: Conn, urls: Urls, *, entry_id: int, actor_id: str, target: str) -> str:
    """Queue `Move` to the entry's followers: their servers move the follows to `target`."""
    activity_id = _new_id(urls, "move")
    payload = {
        "@context": vocab.AS_CONTEXT,
        "id": activity_id,
        "type": "Move",
        "actor": actor_id,
        "object": actor_id,
        "target": target,
    }
    await deliveries.enqueue_to_followers(
        conn, activity_id=activity_id, entry_id=entry_id, actor_uri=actor_id, kind="Move",
        payload=payload,
    )  # fmt: skip
    return activity_id


async def delete_actor(conn: Conn, urls: Urls, *, entry_id: int, actor_id: str) -> str:
    """Queue `Delete(actor)` to the entry's followers when the person withdraws (J2)."""
    activity_id = _new_id(urls, "delete")
    payload = {
        "@context": vocab.AS_CONTEXT,
        "id": activity_id,
        "type": "Delete",
        "actor": actor_id,
        "object": actor_id,
        "to": [vocab.PUBLIC],
    }
    await deliveries.enqueue_to_followers(
        conn, activity_id=activity_id, entry_id=entry_id, actor_uri=actor_id, kind="Delete",
        payload=payload,
    )  # fmt: skip
    return activity_id


async def _reply(
    conn: Conn,
    urls: Urls,
    kind: str,
    entry_id: int | None,
    actor_id: str,
    follow: dict[str, Any],
    inbox: str,
) -> str:
    activity_id = _new_id(urls, kind.lower())
    embedded = {k: follow[k] for k in ("id", "type", "actor", "object") if k in follow}
    payload = {
        "@context": vocab.AS_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_id,
        "object": embedded,
    }
    await deliveries.enqueue(
        conn, activity_id=activity_id, entry_id=entry_id, actor_uri=actor_id, kind=kind,
        payload=payload, inboxes=[inbox],
    )  # fmt: skip
    return activity_id
