"""Hirondelle against Fedify 2.3.6, a real third-party ActivityPub server (fedify_peer.mjs).

Fedify looks our entry actor up (WebFinger over https, then a signed fetch), follows it (its
RFC 9421 first knock gets 401, its draft-cavage retry gets 202), receives our signed Accept,
unfollows, and, once bob lists our entry actor in alsoKnownAs, receives our Update and Move.

Hirondelle always serves TLS here (Fedify looks handles up over https only). Fedify's bob is
served over https and, for the tests that `any_fedify` runs twice, over plain http too
(HIRONDELLE_UNSAFE_ALLOW_HTTP): a Move needs https, since Hirondelle's WebFinger of bob is.
"""

from __future__ import annotations

from typing import Any

from directory.services.moves import Moved, NotConfirmed, confirm_move
from tests.factories import published_entry
from tests.interop.conftest import EVENT_TIMEOUT, FedifyPeer, Hirondelle, eventually

X_ID = 1234567890123456789
HANDLE = "jack"


async def _entry(hirondelle: Hirondelle, fedify: FedifyPeer) -> str:
    """A published, findable entry whose fediverse account is Fedify's bob; its actor id."""
    await published_entry(
        hirondelle.pool,
        x_account_id=str(X_ID),
        x_handle=HANDLE,
        display_name="Jack",
        fediverse=fedify.handle,
        findable=True,
    )
    return hirondelle.actor_id(X_ID)


async def _lookup(fedify: FedifyPeer, hirondelle: Hirondelle) -> dict[str, Any]:
    response = await fedify.hook("lookup", q=f"@{HANDLE}@{hirondelle.domain}")
    assert response.status_code == 200, f"{response.text}\n{fedify.output()}"
    found: dict[str, Any] = response.json()
    return found


async def _follow(fedify: FedifyPeer, hirondelle: Hirondelle, actor_id: str) -> dict[str, Any]:
    """bob follows the entry actor; return the Accept Fedify received."""
    response = await fedify.hook("follow", q=f"@{HANDLE}@{hirondelle.domain}")
    assert response.status_code == 200, f"{response.text}\n{fedify.output()}"
    follow_id = response.json()["id"]
    return await fedify.wait_for("inbox_accept", actor=actor_id, object=follow_id)


async def _followers(hirondelle: Hirondelle) -> list[str]:
    rows = await hirondelle.pool.fetch("SELECT actor_uri FROM followers ORDER BY actor_uri")
    return [row["actor_uri"] for row in rows]


async def test_lookup__fedify_resolves_the_handle_and_reads_our_actor(
    hirondelle: Hirondelle, any_fedify: FedifyPeer
) -> None:
    fedify = any_fedify
    # Given a published, findable entry whose move is not confirmed yet
    actor_id = await _entry(hirondelle, fedify)
    # When Fedify looks up @jack@localhost:<port> (WebFinger, then a signed fetch of the actor)
    found = await _lookup(fedify, hirondelle)
    # Then it gets our entry actor, with its key, and no movedTo
    assert found["type"] == "Person"
    assert found["id"] == actor_id
    assert found["preferredUsername"] == HANDLE
    assert found["inbox"] == f"{actor_id}/inbox"
    assert found["publicKey"] == f"{actor_id}#main-key"
    assert found["movedTo"] is None
    assert "movedTo" not in found["json"]
    # And the requests were the ones we expect: WebFinger, then a signed GET of the actor
    seen = hirondelle.recorder.seen
    webfinger = [s for s in seen if s.path.startswith("/.well-known/webfinger")]
    assert [s.status for s in webfinger] == [200], hirondelle.recorder.describe()
    actor_gets = [s for s in seen if s.method == "GET" and s.path == f"/x/{X_ID}"]
    assert actor_gets, hirondelle.recorder.describe()
    assert all(s.signature != "none" for s in actor_gets), hirondelle.recorder.describe()
    assert actor_gets[-1].status == 200, hirondelle.recorder.describe()


async def test_follow__fedify_follows_and_receives_our_signed_accept(
    hirondelle: Hirondelle, any_fedify: FedifyPeer
) -> None:
    fedify = any_fedify
    # Given a published, findable entry
    actor_id = await _entry(hirondelle, fedify)
    # When bob (Fedify) follows the entry actor
    accept = await _follow(fedify, hirondelle, actor_id)
    # Then Fedify verified our signed Accept (it fetched our key) and recorded it
    assert accept["actor"] == actor_id
    # And bob is a follower of the entry
    assert await _followers(hirondelle) == [fedify.bob]
    # And Fedify knocked first with RFC 9421 (401 from us), then retried with draft-cavage
    posts = [
        s for s in hirondelle.recorder.seen if s.method == "POST" and s.path == f"/x/{X_ID}/inbox"
    ]
    assert [(s.signature, s.status) for s in posts] == [("rfc9421", 401), ("cavage", 202)], (
        hirondelle.recorder.describe()
    )


async def test_move__confirmed_when_bob_lists_our_actor_as_alias(
    hirondelle: Hirondelle, fedify: FedifyPeer
) -> None:
    # Given a findable entry that bob follows, and bob listing our entry actor in alsoKnownAs
    actor_id = await _entry(hirondelle, fedify)
    await _follow(fedify, hirondelle, actor_id)
    assert (await fedify.hook("alias", uri=actor_id)).status_code == 200
    try:
        # When the move is confirmed
        result = await confirm_move(hirondelle.federation, X_ID)
    finally:
        await fedify.hook("alias", uri="")
    # Then it is, with bob as the target
    assert result == Moved(target=fedify.bob, already=False)
    # And Fedify now sees movedTo = bob on our actor
    found = await _lookup(fedify, hirondelle)
    assert found["movedTo"] == fedify.bob
    # And bob, a follower, receives our Update(actor) and then our Move
    update = await fedify.wait_for("inbox_update", actor=actor_id)
    assert (update["object"], update["objectType"], update["movedTo"]) == (
        actor_id,
        "Person",
        fedify.bob,
    )
    move = await fedify.wait_for("inbox_move", actor=actor_id)
    assert (move["object"], move["target"]) == (actor_id, fedify.bob)
    # And a new Follow of the moved actor gets a Reject, as Mastodon refuses it too
    response = await fedify.hook("follow", q=actor_id)
    assert response.status_code == 200, f"{response.text}\n{fedify.output()}"
    await fedify.wait_for("inbox_reject", actor=actor_id, object=response.json()["id"])


async def test_move__not_confirmed_without_the_alias(
    hirondelle: Hirondelle, fedify: FedifyPeer
) -> None:
    # Given a findable entry that bob follows, and bob listing no alias
    actor_id = await _entry(hirondelle, fedify)
    await _follow(fedify, hirondelle, actor_id)
    assert (await fedify.hook("alias", uri="")).status_code == 200
    # When the move is checked
    result = await confirm_move(hirondelle.federation, X_ID)
    # Then it is not confirmed: bob was found, but does not name our actor
    assert isinstance(result, NotConfirmed), result
    assert result.target == fedify.bob
    assert actor_id in result.reason
    # And our actor has no movedTo, and nothing was sent to bob
    assert (await _lookup(fedify, hirondelle))["movedTo"] is None
    assert await fedify.matching("inbox_move", actor=actor_id) == []
    assert await fedify.matching("inbox_update", actor=actor_id) == []


async def test_unfollow__fedify_undo_removes_the_follower(
    hirondelle: Hirondelle, any_fedify: FedifyPeer
) -> None:
    fedify = any_fedify
    # Given bob follows the entry actor
    actor_id = await _entry(hirondelle, fedify)
    await _follow(fedify, hirondelle, actor_id)
    assert await _followers(hirondelle) == [fedify.bob]
    # When bob unfollows (Fedify sends Undo(Follow), the Follow embedded)
    response = await fedify.hook("unfollow", q=actor_id)
    assert response.status_code == 200, f"{response.text}\n{fedify.output()}"

    # Then the worker removes bob from the followers
    async def gone() -> bool:
        return await _followers(hirondelle) == []

    await eventually(
        gone, seconds=EVENT_TIMEOUT, what="bob's Undo", explain=hirondelle.recorder.describe
    )


async def test_move__to_a_plain_http_peer_with_allow_http(
    hirondelle: Hirondelle, fedify_http: FedifyPeer
) -> None:
    # With HIRONDELLE_UNSAFE_ALLOW_HTTP (local tests only), WebFinger falls back to http when
    # https cannot connect, as an http-only peer such as the reference Fedify setup needs.
    fedify = fedify_http
    # Given a findable entry whose fediverse account is bob on an http peer that lists our actor
    actor_id = await _entry(hirondelle, fedify)
    assert (await fedify.hook("alias", uri=actor_id)).status_code == 200
    try:
        # When the move is confirmed
        result = await confirm_move(hirondelle.federation, X_ID)
    finally:
        await fedify.hook("alias", uri="")
    # Then it is, as it is over https
    assert result == Moved(target=fedify.bob, already=False), result
