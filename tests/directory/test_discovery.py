"""How others find us: WebFinger, host-meta, NodeInfo and actor documents."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from directory.services import entries
from tests.factories import published_entry

AP = "application/activity+json"


async def _findable(
    pool: asyncpg.Pool, *, display_name: str = "Jack", bluesky: str | None = None
) -> int:
    entry = await published_entry(
        pool,
        x_account_id="1234567890123456789",
        x_handle="Jack_D",
        display_name=display_name,
        bluesky=bluesky,
        findable=True,
    )
    return entry.x_account_id


# --- WebFinger ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "resource",
    ["acct:Jack_D@dir.test", "acct:jack_d@DIR.TEST", "jack_d@dir.test", "@JACK_D@dir.test"],
)
async def test_webfinger__finds_a_findable_entry(
    client: httpx.AsyncClient, pool: asyncpg.Pool, resource: str
) -> None:
    x_id = await _findable(pool)
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jrd+json"
    jrd = response.json()
    assert jrd["subject"] == "acct:Jack_D@dir.test"  # one canonical casing
    selves = [link for link in jrd["links"] if link["rel"] == "self"]
    assert selves == [{"rel": "self", "type": AP, "href": f"https://dir.test/x/{x_id}"}]


async def test_webfinger__instance_actor(client: httpx.AsyncClient) -> None:
    jrd = (await client.get("/.well-known/webfinger?resource=acct:dir.test@dir.test")).json()
    assert jrd["subject"] == "acct:dir.test@dir.test"
    assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == [
        "https://dir.test/actor"
    ]


@pytest.mark.parametrize(
    "resource",
    [
        "acct:jack_d@other.test",  # another server's account
        "acct:nobody@dir.test",
        "acct:not valid@dir.test",
        "acct:jack_d@dir.test/evil",
        "https://evil.test/",
    ],
)
async def test_webfinger__unknown_is_404(
    client: httpx.AsyncClient, pool: asyncpg.Pool, resource: str
) -> None:
    await _findable(pool)
    response = await client.get("/.well-known/webfinger", params={"resource": resource})
    assert response.status_code == 404


async def test_webfinger__needs_the_findable_consent(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await published_entry(pool, x_handle="quiet", findable=False)
    response = await client.get("/.well-known/webfinger?resource=acct:quiet@dir.test")
    assert response.status_code == 404


async def test_webfinger__missing_resource(client: httpx.AsyncClient) -> None:
    assert (await client.get("/.well-known/webfinger")).status_code == 422


# --- actor documents ------------------------------------------------------------------------


async def test_entry_actor__mastodon_shape(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    x_id = await _findable(pool, bluesky="jack.bsky.test")
    url = f"https://dir.test/x/{x_id}"
    response = await client.get(f"/x/{x_id}", headers={"accept": AP})
    assert response.status_code == 200
    assert response.headers["content-type"] == AP
    actor = response.json()
    assert actor["id"] == url  # served at its id, no redirect
    assert "https://www.w3.org/ns/activitystreams" in actor["@context"]
    assert (actor["type"], actor["preferredUsername"]) == ("Person", "Jack_D")
    assert actor["webfinger"] == "Jack_D@dir.test"
    assert actor["inbox"] == f"{url}/inbox"
    assert actor["endpoints"]["sharedInbox"] == "https://dir.test/inbox"
    assert actor["publicKey"]["id"] == f"{url}#main-key"
    assert actor["publicKey"]["owner"] == url
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["url"] == "https://dir.test/@Jack_D"
    values = [field["value"] for field in actor["attachment"]]
    assert any("https://x.com/Jack_D" in value for value in values)
    assert any('href="https://mastodon.test/@jack"' in value for value in values)
    assert any('href="https://bsky.app/profile/jack.bsky.test"' in value for value in values)
    assert "movedTo" not in actor  # nothing is confirmed: never a movedTo


async def test_entry_actor__same_key_every_time(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    x_id = await _findable(pool)
    first = (await client.get(f"/x/{x_id}", headers={"accept": AP})).json()
    second = (await client.get(f"/x/{x_id}", headers={"accept": AP})).json()
    assert first["publicKey"] == second["publicKey"]


@pytest.mark.parametrize(
    "accept",
    [
        AP,
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
        'application/ld+json; profile="https://www.w3.org/ns/activitystreams", '
        "application/activity+json, text/html;q=0.1",  # Mastodon's URL resolver
    ],
)
async def test_entry_page__negotiates_json(
    client: httpx.AsyncClient, pool: asyncpg.Pool, accept: str
) -> None:
    x_id = await _findable(pool)
    response = await client.get("/@jack_d", headers={"accept": accept})
    assert response.headers["content-type"] == AP
    assert response.json()["id"] == f"https://dir.test/x/{x_id}"


async def test_entry_page__html_for_browsers(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    x_id = await _findable(pool, display_name="<b>Jack</b>")
    for path in ("/@Jack_D", f"/x/{x_id}"):
        response = await client.get(path, headers={"accept": "text/html,application/xhtml+xml"})
        assert response.headers["content-type"].startswith("text/html")
        assert '<a rel="me" href="https://mastodon.test/@jack">' in response.text
        assert "<b>Jack</b>" not in response.text  # remote-facing text is escaped
        assert "&lt;b&gt;Jack&lt;/b&gt;" in response.text
        assert f'type="application/activity+json" href="https://dir.test/x/{x_id}"' in response.text


async def test_entry_actor__withdrawn_is_410(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool, x_account_id="12", findable=True)
    await entries.withdraw_entry(pool, entry.id)
    response = await client.get("/x/12", headers={"accept": AP})
    assert response.status_code == 410
    assert (
        await client.get("/.well-known/webfinger?resource=acct:jack@dir.test")
    ).status_code == 404


@pytest.mark.parametrize(
    "path", ["/x/999", "/x/abc", "/x/-1", "/x/99999999999999999999", "/@ghost"]
)
async def test_entry_actor__unknown_is_404(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path, headers={"accept": AP})).status_code == 404


async def test_entry_actor__not_findable_is_404(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await published_entry(pool, x_account_id="12", findable=False)
    assert (await client.get("/x/12", headers={"accept": AP})).status_code == 404


async def test_collections(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    x_id = await _findable(pool)
    for name in ("followers", "following", "outbox"):
        response = await client.get(f"/x/{x_id}/{name}", headers={"accept": AP})
        assert response.status_code == 200, name
        collection = response.json()
        assert collection["type"] == "OrderedCollection"
        assert collection["id"] == f"https://dir.test/x/{x_id}/{name}"
        assert collection["totalItems"] == 0
    assert (await client.get(f"/x/{x_id}/likes")).status_code == 404


async def test_instance_actor(client: httpx.AsyncClient) -> None:
    response = await client.get("/actor")
    assert response.headers["content-type"] == AP
    actor = response.json()
    assert actor["id"] == "https://dir.test/actor"
    assert actor["type"] == "Application"
    assert actor["preferredUsername"] == "dir.test"
    assert actor["publicKey"]["owner"] == "https://dir.test/actor"


# --- host-meta and NodeInfo -------------------------------------------------------------------


async def test_host_meta__xrd(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/host-meta")
    assert response.headers["content-type"].startswith("application/xrd+xml")
    assert 'xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"' in response.text
    assert "https://dir.test/.well-known/webfinger?resource={uri}" in response.text


async def test_nodeinfo(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _findable(pool)
    links = (await client.get("/.well-known/nodeinfo")).json()["links"]
    for version in ("2.0", "2.1"):
        href = next(link["href"] for link in links if link["rel"].endswith(f"/{version}"))
        assert href == f"https://dir.test/nodeinfo/{version}"
        document = (await client.get(f"/nodeinfo/{version}")).json()
        assert document["version"] == version
        assert document["software"]["name"] == "hirondelle"
        assert document["protocols"] == ["activitypub"]
        assert document["usage"]["users"]["total"] == 1
    assert (await client.get("/nodeinfo/3.0")).status_code == 404
