"""Move: movedTo is published only once the new account lists our entry actor as an alias."""

from __future__ import annotations

import asyncpg
import httpx

from directory.services import entries, moves
from directory.services.federation import Federation
from directory.urls import Urls
from directory.worker import Worker
from tests.conftest import Clock
from tests.factories import published_entry
from tests.peers import Peer

AP = {"accept": "application/activity+json"}
X_ID = 12
ACTOR = f"https://dir.test/x/{X_ID}"


async def _entry_moving_to(pool: asyncpg.Pool, peer: Peer, *, alias: bool) -> str:
    """An entry whose fediverse account is `jack` on the peer; returns that account's id."""
    target = peer.add_actor("jack", also_known_as=(ACTOR,) if alias else ())
    await published_entry(
        pool, x_account_id=str(X_ID), fediverse=f"jack@{peer.host}:{peer.port}", findable=True
    )
    return target


async def _follow(
    client: httpx.AsyncClient, peer: Peer, federation: Federation, clock: Clock, name: str
) -> None:
    follower = peer.add_actor(name)
    follow = {"id": f"{follower}#f", "type": "Follow", "actor": follower, "object": ACTOR}
    headers, body = peer.signed_post(follower, f"{ACTOR}/inbox", follow, now=clock())
    assert (await client.post(f"/x/{X_ID}/inbox", content=body, headers=headers)).status_code == 202
    await Worker(federation).run_once()


async def test_move__confirmed_alias_publishes_moved_to_and_sends_move(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # Given an entry with a follower, whose new account lists the entry actor as an alias
    target = await _entry_moving_to(pool, peer, alias=True)
    await _follow(client, peer, federation, clock, "follower")
    peer.received.clear()
    # When the move is confirmed
    result = await moves.confirm_move(federation, X_ID)
    # Then movedTo points at the new account's actor id
    assert result == moves.Moved(target, already=False)
    assert (await client.get(f"/x/{X_ID}", headers=AP)).json()["movedTo"] == target
    # And the follower's server gets Update(actor) then Move, signed by the entry actor
    await Worker(federation).run_once()
    kinds = [r.activity["type"] for r in peer.received]
    assert sorted(kinds) == ["Move", "Update"]
    move = next(r.activity for r in peer.received if r.activity["type"] == "Move")
    assert (move["actor"], move["object"], move["target"]) == (ACTOR, ACTOR, target)
    assert all(r.path == "/inbox" for r in peer.received)  # the follower's shared inbox
    # And the account is recorded as proven by its alias
    row = await pool.fetchrow("SELECT canonical_id, proof_method, alias_verified_at FROM accounts")
    assert row is not None
    assert (row["canonical_id"], row["proof_method"]) == (target, "vouched")
    assert row["alias_verified_at"] is not None


async def test_move__twice_sends_one_move(
    pool: asyncpg.Pool, peer: Peer, federation: Federation
) -> None:
    target = await _entry_moving_to(pool, peer, alias=True)
    assert await moves.confirm_move(federation, X_ID) == moves.Moved(target, already=False)
    assert await moves.confirm_move(federation, X_ID) == moves.Moved(target, already=True)
    assert await pool.fetchval("SELECT count(*) FROM outbox_activities WHERE type = 'Move'") == 1


async def test_move__without_the_alias_nothing_is_published(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation
) -> None:
    # Mastodon shows any movedTo without checking it: an unconfirmed entry must never have one
    await _entry_moving_to(pool, peer, alias=False)
    result = await moves.confirm_move(federation, X_ID)
    assert isinstance(result, moves.NotConfirmed)
    assert "does not list" in result.reason
    assert "movedTo" not in (await client.get(f"/x/{X_ID}", headers=AP)).json()
    assert await pool.fetchval("SELECT count(*) FROM outbox_activities") == 0


async def test_move__unresolvable_account_publishes_nothing(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation
) -> None:
    await published_entry(
        pool, x_account_id=str(X_ID), fediverse=f"ghost@{peer.host}:{peer.port}", findable=True
    )
    result = await moves.confirm_move(federation, X_ID)
    assert isinstance(result, moves.NotConfirmed)
    assert "movedTo" not in (await client.get(f"/x/{X_ID}", headers=AP)).json()


async def test_withdraw__deletes_the_actor_at_followers_servers(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # Given an entry with a follower
    await _entry_moving_to(pool, peer, alias=False)
    await _follow(client, peer, federation, clock, "follower")
    peer.received.clear()
    entry_id = await pool.fetchval("SELECT id FROM entries")
    # When the person withdraws
    await entries.withdraw_entry(pool, entry_id, urls=Urls("dir.test"))
    await Worker(federation).run_once()
    # Then the follower's server is told, and the actor answers 410
    [delete] = [r.activity for r in peer.received]
    assert (delete["type"], delete["actor"], delete["object"]) == ("Delete", ACTOR, ACTOR)
    assert (await client.get(f"/x/{X_ID}", headers=AP)).status_code == 410
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0
