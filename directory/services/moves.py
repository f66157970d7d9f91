"""Point an entry at its new fediverse account once that account names our entry actor.

Mastodon shows any `movedTo` without checking it, so we publish `movedTo` only after fetching
the new account (signed, id checked) and finding our entry actor's exact id in its
`alsoKnownAs` (mastodon-interop.md §5). Then followers get `Update(actor)` and `Move`, and
their servers move the follows. `movedTo` is kept afterwards.
"""

from __future__ import annotations

import dataclasses

from activitypub import webfinger
from activitypub.errors import ActivityPubError
from directory.errors import Conflict, NotFound
from directory.services import actors, outbound, remote
from directory.services.federation import Federation
from directory.store import federation as entries_store, moves as store


@dataclasses.dataclass(frozen=True)
class Moved:
    """movedTo is published (or already was) and Move was queued for the followers."""

    target: str
    already: bool


@dataclasses.dataclass(frozen=True)
class NotConfirmed:
    """The new account does not (yet) list our entry actor: nothing is published."""

    target: str | None
    reason: str


async def confirm_move(fed: Federation, x_account_id: int) -> Moved | NotConfirmed:
    """Check the entry's primary fediverse account for our alias; publish movedTo and Move."""
    entry = await entries_store.findable_by_x_id(fed.pool, x_account_id)
    if not isinstance(entry, entries_store.ActorEntry):
        raise NotFound("only published, findable entries can move")
    account = next((a for a in entry.accounts if a.network == "fediverse"), None)
    if account is None:
        raise Conflict("the entry has no fediverse account", code="no_fediverse_account")
    actor_id = fed.urls.entry_actor(x_account_id)
    acct = webfinger.parse_resource(account.handle)
    if isinstance(acct, webfinger.Invalid):
        return NotConfirmed(None, f"{account.handle}: {acct.detail}")
    try:
        found = await webfinger.resolve(acct, client=fed.client, policy=fed.policy)
        target = await remote.fetch_actor(fed, found.self_href)
    except ActivityPubError as exc:
        return NotConfirmed(None, f"cannot resolve {account.handle}: {exc}")
    if actor_id not in target.also_known_as:
        return NotConfirmed(target.uri, f"{account.handle} does not list {actor_id} as an alias")
    if entry.moved_to == target.uri:
        return Moved(target.uri, already=True)
    async with fed.pool.acquire() as conn, conn.transaction():
        await store.record_move(conn, entry_id=entry.id, handle=account.handle, target=target.uri)
        moved = dataclasses.replace(entry, moved_to=target.uri)
        public_pem = (await fed.entry_key(conn, entry.id))[1]
        document = actors.entry_actor(fed.urls, moved, public_pem)
        await outbound.update_actor(conn, fed.urls, entry_id=entry.id, actor=document)
        await outbound.move(conn, fed.urls, entry_id=entry.id, actor_id=actor_id, target=target.uri)
    return Moved(target.uri, already=False)
