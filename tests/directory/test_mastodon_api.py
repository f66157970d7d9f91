"""The Mastodon client API subset: instance documents and Account shapes."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.factories import published_entry


async def _people(pool: asyncpg.Pool) -> None:
    await published_entry(
        pool, x_account_id="1", x_handle="jack", display_name="Jack", findable=True
    )
    await published_entry(
        pool, x_account_id="2", x_handle="jackie", display_name="Jackie", findable=True,
        bluesky="jackie.bsky.test",
    )  # fmt: skip
    await published_entry(pool, x_account_id="3", x_handle="jack_quiet", findable=False)
    await published_entry(
        pool, x_account_id="4", x_handle="jack_private", findable=True, public=False
    )


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_instance_v1__parseable_version(client: httpx.AsyncClient, path: str) -> None:
    body = (await client.get(path)).json()
    assert body["uri"] == "dir.test"
    assert body["version"].split(" ")[0] == "4.3.0"  # Mastodon.py reads up to the first space
    assert body["registrations"] is False


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
async def test_instance_v2__api_versions(
    client: httpx.AsyncClient, pool: asyncpg.Pool, path: str
) -> None:
    await _people(pool)
    body = (await client.get(path)).json()
    assert body["domain"] == "dir.test"
    assert body["api_versions"] == {"mastodon": 2}
    assert body["usage"]["users"]["active_month"] == 3  # the findable entries


async def test_lookup__account_shape(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _people(pool)
    for acct in ("jackie", "JACKIE", "jackie@dir.test", "@jackie@dir.test"):
        response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert response.status_code == 200, acct
    account = response.json()
    assert (account["id"], account["username"], account["acct"]) == ("2", "jackie", "jackie")
    assert account["uri"] == "https://dir.test/x/2"
    assert account["url"] == "https://dir.test/@jackie"
    assert account["display_name"] == "Jackie"
    assert account["created_at"].endswith("T00:00:00.000Z")
    assert {f["name"] for f in account["fields"]} == {"X", "Fediverse", "Bluesky"}
    assert "moved" not in account
    for key in ("avatar", "avatar_static", "header", "header_static", "emojis", "bot", "locked"):
        assert key in account
    assert (await client.get(account["avatar"].removeprefix("https://dir.test"))).headers[
        "content-type"
    ] == "image/png"


@pytest.mark.parametrize("acct", ["jack_quiet", "nobody", "jack@other.test", "not valid", "x" * 40])
async def test_lookup__not_found(client: httpx.AsyncClient, pool: asyncpg.Pool, acct: str) -> None:
    await _people(pool)
    response = await client.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_lookup__moved_account(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _people(pool)
    await pool.execute(
        "UPDATE entries SET moved_to = 'https://mastodon.test/users/jack' WHERE x_account_id = 1"
    )
    account = (await client.get("/api/v1/accounts/lookup?acct=jack")).json()
    assert account["moved"]["uri"] == "https://mastodon.test/users/jack"
    assert account["moved"]["acct"] == "jack@mastodon.test"


async def test_search__prefix_public_and_findable_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _people(pool)
    found = (await client.get("/api/v1/accounts/search?q=jack&following=0&resolve=0")).json()
    assert [a["username"] for a in found] == ["jack", "jackie"]
    v2 = (await client.get("/api/v2/search?q=@jack@dir.test&resolve=1&exclude_unreviewed=1")).json()
    assert [a["username"] for a in v2["accounts"]] == ["jack", "jackie"]
    assert (v2["statuses"], v2["hashtags"]) == ([], [])
    assert (await client.get("/api/v2/search?q=jack&type=statuses")).json()["accounts"] == []
    assert (await client.get("/api/v1/accounts/search?q=jack@elsewhere.test")).json() == []


async def test_directory__pages(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _people(pool)
    first = (await client.get("/api/v1/directory?limit=1&order=new&local=1")).json()
    second = (await client.get("/api/v1/directory?limit=1&offset=1")).json()
    assert len(first) == len(second) == 1
    assert {first[0]["username"], second[0]["username"]} == {"jack", "jackie"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/search?q=jack&limit=ten",
        "/api/v1/directory?offset=-1",
        "/api/v1/directory?offset=5000",
        "/api/v1/accounts/lookup",
    ],
)
async def test_bad_parameters__422(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422
    assert set(response.json()) == {"error", "detail"}
