"""Apply stored inbox activities: Follow, Undo Follow, Update and Delete of remote actors.

Each handler runs for a stored, authenticated activity whose actor is the signer. An activity
is applied at most once: the inbox keeps one row per activity id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from activitypub import jsonld
from activitypub.errors import FetchError
from directory.services import outbound, remote
from directory.services.federation import Federation
from directory.store import federation as entries_store, followers, remote_actors
from directory.store.inbox import InboxItem

Handler = Callable[[Federation, InboxItem], Awaitable[str]]


async def handle(fed: Federation, item: InboxItem) -> str:
    """Apply one activity and say what was done (for logs and tests)."""
    kind = (jsonld.get_types(item.payload) or ["?"])[0]
    handler = HANDLERS.get(kind)
    if handler is None:
        return f"ignored {kind}"
    return await handler(fed, item)


async def on_follow(fed: Federation, item: InboxItem) -> str:
    """Follow of an entry actor: record the follower and Accept (Reject if it has moved)."""
    follow = item.payload
    target = jsonld.get_id(follow.get("object"))
    x_id = fed.urls.parse_entry_actor(target or "")
    if x_id is None:
        return "ignored Follow of an unknown actor"
    entry = await entries_store.findable_by_x_id(fed.pool, x_id)
    if not isinstance(entry, entries_store.ActorEntry):
        return "ignored Follow of an entry that is not findable"
    follower = await _actor(fed, item.actor_uri)
    actor_id = fed.urls.entry_actor(x_id)
    async with fed.pool.acquire() as conn, conn.transaction():
        if entry.moved_to is not None:  # Mastodon refuses to follow moved accounts too
            await outbound.reject_follow(
                conn,
                fed.urls,
                entry_id=entry.id,
                actor_id=actor_id,
                follow=follow,
                inbox=follower.inbox,
            )
            return "rejected Follow: the entry has moved"
        await followers.add(
            conn, entry_id=entry.id, actor_uri=follower.uri, inbox=follower.delivery_inbox,
            follow_id=str(follow["id"]),
        )  # fmt: skip
        await outbound.accept_follow(
            conn,
            fed.urls,
            entry_id=entry.id,
            actor_id=actor_id,
            follow=follow,
            inbox=follower.inbox,
        )
    return "accepted Follow"


async def on_undo(fed: Federation, item: InboxItem) -> str:
    """Undo of a Follow (embedded, or by id): the follower leaves."""
    undone = item.payload.get("object")
    if isinstance(undone, dict):
        if (
            "Follow" not in jsonld.get_types(undone)
            or jsonld.get_id(undone.get("actor")) != item.actor_uri
        ):
            return "ignored Undo of something else"
        x_id = fed.urls.parse_entry_actor(jsonld.get_id(undone.get("object")) or "")
        entry = None if x_id is None else await entries_store.findable_by_x_id(fed.pool, x_id)
        entry_id = entry.id if isinstance(entry, entries_store.ActorEntry) else None
        if entry_id is None:
            return "ignored Undo of a Follow of an unknown actor"
        removed = await followers.remove(fed.pool, entry_id=entry_id, actor_uri=item.actor_uri)
    else:
        removed = await followers.remove_by_follow_id(
            fed.pool, follow_id=jsonld.get_id(undone) or "", actor_uri=item.actor_uri
        )
    return "removed follower" if removed else "ignored Undo: was not following"


async def on_update(fed: Federation, item: InboxItem) -> str:
    """Update of the sender's own actor: refresh our copy from its origin."""
    if jsonld.get_id(item.payload.get("object")) != item.actor_uri:
        return "ignored Update of something else"
    await _refresh(fed, item.actor_uri)
    return "refreshed actor"


async def on_delete(fed: Federation, item: InboxItem) -> str:
    """Delete of the sender's own actor: forget it and its follows."""
    if jsonld.get_id(item.payload.get("object")) != item.actor_uri:
        return "ignored Delete of something else"
    await remote_actors.mark_gone(fed.pool, [item.actor_uri])
    count = await followers.remove_actor(fed.pool, item.actor_uri)
    return f"forgot deleted actor ({count} follows)"


async def _actor(fed: Federation, uri: str) -> remote_actors.RemoteActor:
    cached = await remote_actors.by_uri(fed.pool, uri)
    return cached if cached is not None else await remote.fetch_actor(fed, uri)


async def _refresh(fed: Federation, uri: str) -> None:
    try:
        await remote.fetch_actor(fed, uri)
    except FetchError as exc:
        if exc.reason == "gone":
            await remote_actors.mark_gone(fed.pool, [uri])
            await followers.remove_actor(fed.pool, uri)
            return
        raise


HANDLERS: Mapping[str, Handler] = {
    "Follow": on_follow,
    "Undo": on_undo,
    "Update": on_update,
    "Delete": on_delete,
}
