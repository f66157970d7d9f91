"""Inbox: signatures, origins, storage before 202, and the Follow/Undo/Delete handlers.

Each attack test names its row in shared/reference/attacks.md.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from activitypub import httpsig, keys
from directory.services import inbound
from directory.services.federation import Federation
from directory.worker import Worker
from tests.conftest import Clock
from tests.factories import published_entry
from tests.peers import Peer

X_ID = 1234567890123456789
INBOX = f"https://dir.test/x/{X_ID}/inbox"


async def _setup(pool: asyncpg.Pool, peer: Peer, name: str = "alice") -> str:
    await published_entry(pool, x_account_id=str(X_ID), x_handle="jack", findable=True)
    return peer.add_actor(name)


def _follow(actor: str, number: int = 1) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}#follows/{number}",
        "type": "Follow",
        "actor": actor,
        "object": f"https://dir.test/x/{X_ID}",
    }


async def _post(
    client: httpx.AsyncClient, headers: dict[str, str], body: bytes, path: str = INBOX
) -> httpx.Response:
    return await client.post(path.removeprefix("https://dir.test"), content=body, headers=headers)


async def _rows(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM inbox_items")
    return count


async def test_follow__accepted_end_to_end(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # Given a findable entry and a remote actor
    alice = await _setup(pool, peer)
    # When alice's server POSTs a signed Follow to the entry's inbox
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    response = await _post(client, headers, body)
    # Then it is stored and acknowledged
    assert response.status_code == 202
    assert await _rows(pool) == 1
    # And when the worker runs, alice follows and her inbox gets a signed Accept
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT actor_uri FROM followers") == alice
    [accept] = [r for r in peer.received if r.activity["type"] == "Accept"]
    assert accept.path == "/users/alice/inbox"
    assert accept.activity["actor"] == f"https://dir.test/x/{X_ID}"
    assert accept.activity["object"]["id"] == f"{alice}#follows/1"
    assert accept.activity["object"]["type"] == "Follow"
    assert accept.headers["content-type"] == "application/activity+json"
    # And the Accept is signed by the entry actor's own key, over the body
    actor = (await client.get(f"/x/{X_ID}", headers={"accept": "application/activity+json"})).json()
    verified = httpsig.verify(
        method="POST",
        path=accept.path,
        headers=accept.headers,
        body=accept.body,
        public_pem=actor["publicKey"]["publicKeyPem"],
        now=clock(),
    )
    assert verified.key_id == f"https://dir.test/x/{X_ID}#main-key"


async def test_follow__replayed_five_times_has_one_effect(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # attacks.md A4, F3: HTTP signatures carry no nonce; the activity id deduplicates
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    statuses = [(await _post(client, headers, body)).status_code for _ in range(5)]
    assert statuses == [202] * 5
    await Worker(federation).run_once()
    assert await _rows(pool) == 1
    assert len([r for r in peer.received if r.activity["type"] == "Accept"]) == 1


async def test_follow__twice_with_new_ids_keeps_one_follower(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    alice = await _setup(pool, peer)
    for number in (1, 2):
        headers, body = peer.signed_post(alice, INBOX, _follow(alice, number), now=clock())
        assert (await _post(client, headers, body)).status_code == 202
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT count(*) FROM followers") == 1
    assert await pool.fetchval("SELECT follow_id FROM followers") == f"{alice}#follows/2"


async def test_undo_follow__embedded_and_by_id(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    alice = await _setup(pool, peer)
    bob = peer.add_actor("bob")
    for actor in (alice, bob):
        headers, body = peer.signed_post(actor, INBOX, _follow(actor), now=clock())
        await _post(client, headers, body)
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT count(*) FROM followers") == 2
    # When alice undoes with the Follow embedded and bob with its id only
    undo_alice = {"id": f"{alice}#undo/1", "type": "Undo", "actor": alice, "object": _follow(alice)}
    undo_bob = {"id": f"{bob}#undo/1", "type": "Undo", "actor": bob, "object": f"{bob}#follows/1"}
    for actor, undo in ((alice, undo_alice), (bob, undo_bob)):
        headers, body = peer.signed_post(actor, INBOX, undo, now=clock())
        assert (await _post(client, headers, body)).status_code == 202
    await Worker(federation).run_once()
    # Then both are gone
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0


async def test_undo__of_someone_elses_follow_is_ignored(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    alice = await _setup(pool, peer)
    mallory = peer.add_actor("mallory")
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    await _post(client, headers, body)
    await Worker(federation).run_once()
    undo = {
        "id": f"{mallory}#undo/1",
        "type": "Undo",
        "actor": mallory,
        "object": f"{alice}#follows/1",
    }
    headers, body = peer.signed_post(mallory, INBOX, undo, now=clock())
    await _post(client, headers, body)
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT count(*) FROM followers") == 1


async def test_follow__of_a_moved_entry_is_rejected(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    alice = await _setup(pool, peer)
    await pool.execute("UPDATE entries SET moved_to = 'https://new.test/users/jack'")
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    await _post(client, headers, body)
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0
    assert [r.activity["type"] for r in peer.received] == ["Reject"]


async def test_delete_of_actor__forgets_its_follows(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    await _post(client, headers, body)
    await Worker(federation).run_once()
    delete = {"id": f"{alice}#delete", "type": "Delete", "actor": alice, "object": alice}
    headers, body = peer.signed_post(alice, "https://dir.test/inbox", delete, now=clock())
    assert (await _post(client, headers, body, "https://dir.test/inbox")).status_code == 202
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT count(*) FROM followers") == 0
    assert await pool.fetchval("SELECT gone_at IS NOT NULL FROM remote_actors") is True


# --- attacks.md A: signatures ----------------------------------------------------------------


async def test_unsigned_post__401_and_nothing_stored(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer
) -> None:
    # A1
    alice = await _setup(pool, peer)
    body = orjson.dumps(_follow(alice))
    response = await _post(client, {"content-type": "application/activity+json"}, body)
    assert response.status_code == 401
    assert await _rows(pool) == 0


async def test_rfc9421_only__401_so_the_sender_retries_with_cavage(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer
) -> None:
    alice = await _setup(pool, peer)
    headers = {
        "content-type": "application/activity+json",
        "signature-input": 'sig1=("@method" "@target-uri");keyid="x";alg="rsa-v1_5-sha256"',
        "signature": "sig1=:AAAA:",
    }
    assert (await _post(client, headers, orjson.dumps(_follow(alice)))).status_code == 401


async def test_tampered_body__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A2
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    tampered = body.replace(b"follows/1", b"follows/2")
    assert (await _post(client, headers, tampered)).status_code == 401
    assert await _rows(pool) == 0


async def test_hmac_signature_made_with_the_public_key__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A3: the algorithm comes from our stored key, never from the header
    alice = await _setup(pool, peer)
    public_pem = peer.actors["alice"]["publicKey"]["publicKeyPem"]
    body = orjson.dumps(_follow(alice))
    date = clock().strftime("%a, %d %b %Y %H:%M:%S GMT")
    digest = httpsig.digest_header(body)
    signed = (
        f"(request-target): post /x/{X_ID}/inbox\nhost: dir.test\ndate: {date}\ndigest: {digest}"
    )
    mac = hmac.new(public_pem.encode(), signed.encode(), hashlib.sha256).digest()
    signature = (
        f'keyId="{keys.key_id(alice)}",algorithm="hmac-sha256",'
        f'headers="(request-target) host date digest",signature="{base64.b64encode(mac).decode()}"'
    )
    headers = {
        "date": date,
        "digest": digest,
        "signature": signature,
        "content-type": "application/activity+json",
    }
    assert (await _post(client, headers, body)).status_code == 401
    assert await _rows(pool) == 0


async def test_stale_signature__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A4
    alice = await _setup(pool, peer)
    clock.advance(hours=-13)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    clock.advance(hours=13)
    assert (await _post(client, headers, body)).status_code == 401


async def test_signature_for_another_inbox__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A5: transplanted to another path
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, "https://dir.test/inbox", _follow(alice), now=clock())
    assert (await _post(client, headers, body, INBOX)).status_code == 401


async def test_signer_is_not_the_actor__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A6: bob's key signs an activity claiming alice as its actor
    alice = await _setup(pool, peer)
    bob = peer.add_actor("bob")
    headers, body = peer.signed_post(bob, INBOX, _follow(alice), now=clock())
    assert (await _post(client, headers, body)).status_code == 401
    assert await _rows(pool) == 0


async def test_delete_from_an_unknown_actor__202_without_fetching(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # A9
    ghost = peer.add_actor("ghost")
    delete = {"id": f"{ghost}#delete", "type": "Delete", "actor": ghost, "object": ghost}
    headers, body = peer.signed_post(ghost, "https://dir.test/inbox", delete, now=clock())
    del peer.actors["ghost"]
    response = await _post(client, headers, body, "https://dir.test/inbox")
    assert response.status_code == 202
    assert await _rows(pool) == 0


@pytest.mark.parametrize("acct_key", ["acct:alice@127.0.0.2", "alice"])
async def test_acct_and_relative_key_ids__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock, acct_key: str
) -> None:
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    headers["signature"] = headers["signature"].replace(
        f'keyId="{keys.key_id(alice)}"', f'keyId="{acct_key}"'
    )
    assert (await _post(client, headers, body)).status_code == 401


# --- attacks.md B: origins and fetched documents -----------------------------------------------


async def test_activity_id_on_another_origin__403(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # B3
    alice = await _setup(pool, peer)
    follow = _follow(alice) | {"id": "https://no.pe/follow/1"}
    headers, body = peer.signed_post(alice, INBOX, follow, now=clock())
    assert (await _post(client, headers, body)).status_code == 403
    assert await _rows(pool) == 0


async def test_key_served_as_plain_json__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # B2 (CVE-2024-25623): the signer's actor must come with an ActivityPub content type
    alice = await _setup(pool, peer)
    peer.content_type = "application/json"
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    assert (await _post(client, headers, body)).status_code == 401


async def test_key_document_with_another_id__401(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # B1 (CVE-2024-23832): the fetched id must equal the URL
    alice = await _setup(pool, peer)
    peer.actors["alice"]["id"] = "https://127.0.0.3/users/alice"
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    assert (await _post(client, headers, body)).status_code == 401


# --- attacks.md D: sizes and shapes ------------------------------------------------------------


async def test_body_over_1_mb__413(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, clock: Clock
) -> None:
    # D1
    alice = await _setup(pool, peer)
    big = _follow(alice) | {"padding": "x" * (1024 * 1024)}
    headers, body = peer.signed_post(alice, INBOX, big, now=clock())
    assert (await _post(client, headers, body)).status_code == 413


@pytest.mark.parametrize("body", [b"[" * 10_000, b"not json", b"[]", b'{"type": "Follow"}'])
async def test_malformed_bodies__400(client: httpx.AsyncClient, body: bytes) -> None:
    # D3
    headers = {"content-type": "application/activity+json", "signature": 'keyId="https://a.test/k"'}
    response = await _post(client, headers, body)
    assert response.status_code == 400


# --- A8, C4: key fetches -----------------------------------------------------------------------


async def test_rotated_key__one_refetch_then_accepted(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # A8: Given alice's key is cached
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice, 1), now=clock())
    assert (await _post(client, headers, body)).status_code == 202
    # When she rotates her key and signs with the new one, soon after: refused (no refetch storm)
    rotated = keys.generate_rsa_keypair()
    peer.private_keys[alice] = rotated.private_pem
    peer.actors["alice"]["publicKey"] = keys.public_key_document(alice, rotated.public_pem)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice, 2), now=clock())
    assert (await _post(client, headers, body)).status_code == 401
    # Then once the cached key is five minutes old, one refetch picks up the new key
    clock.advance(minutes=6)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice, 3), now=clock())
    assert (await _post(client, headers, body)).status_code == 202
    assert await pool.fetchval("SELECT public_key_pem FROM remote_actors") == rotated.public_pem


async def test_many_unknown_keys_on_one_host__fetches_are_capped(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    peer: Peer,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # C4: Given signed POSTs naming 40 different keys on the same host
    monkeypatch.setattr(inbound, "KEY_FETCHES", inbound.KeyFetchLimiter(per_minute=10))
    await _setup(pool, peer)
    fetches_before = len(peer.actor_fetches)
    statuses = []
    for number in range(40):
        name = f"sock{number}"
        actor = peer.add_actor(name)
        headers, body = peer.signed_post(actor, INBOX, _follow(actor), now=clock())
        statuses.append((await _post(client, headers, body)).status_code)
    # Then the host sees at most 10 key fetches, and the rest are told to come back later
    assert len(peer.actor_fetches) - fetches_before == 10
    assert statuses.count(202) == 10
    assert statuses.count(401) == 30


# --- F: federation semantics -------------------------------------------------------------------


async def test_same_activity_ten_times_concurrently__one_effect(
    client: httpx.AsyncClient, pool: asyncpg.Pool, peer: Peer, federation: Federation, clock: Clock
) -> None:
    # F3
    alice = await _setup(pool, peer)
    headers, body = peer.signed_post(alice, INBOX, _follow(alice), now=clock())
    responses = await asyncio.gather(*(_post(client, headers, body) for _ in range(10)))
    assert [r.status_code for r in responses] == [202] * 10
    await Worker(federation).run_once()
    assert await _rows(pool) == 1
    assert await pool.fetchval("SELECT count(*) FROM followers") == 1
    assert len([r for r in peer.received if r.activity["type"] == "Accept"]) == 1


@pytest.mark.parametrize(
    "move",
    [
        {"object": "https://dir.test/x/1234567890123456789"},  # object is not the signer
        {"target": "ALICE"},  # target = origin
        {},  # a well-formed Move of the signer itself
    ],
)
async def test_inbound_move__changes_nothing(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    peer: Peer,
    federation: Federation,
    clock: Clock,
    move: dict[str, str],
) -> None:
    # F2: a directory maps only its own entries; a remote Move is stored and ignored
    alice = await _setup(pool, peer)
    activity = {
        "id": f"{alice}#move", "type": "Move", "actor": alice, "object": alice,
        "target": "https://elsewhere.test/users/alice",
    } | {k: (alice if v == "ALICE" else v) for k, v in move.items()}  # fmt: skip
    headers, body = peer.signed_post(alice, INBOX, activity, now=clock())
    assert (await _post(client, headers, body)).status_code == 202
    await Worker(federation).run_once()
    assert await pool.fetchval("SELECT moved_to FROM entries") is None
    assert await pool.fetchval("SELECT count(*) FROM outbox_activities") == 0
    assert await pool.fetchval("SELECT state::text FROM inbox_items") == "done"
