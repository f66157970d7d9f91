"""The JSON API: every route, its answers and its refusals (never a 500 for bad input)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import orjson
import pytest

from directory.services import entries
from directory.store import search as search_store
from tests.factories import published_entry

API = "/api/directory/v1"


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, str] = response.json()
    assert set(body) == {"error", "detail"}
    assert body["detail"]
    if code is not None:
        assert body["error"] == code
    return body


# --- GET /entries/{x_account_id} ---------------------------------------------------------


async def test_get_entry__published(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await published_entry(pool, x_account_id="1234567890123456789", bluesky="jack.bsky.test")
    response = await client.get(f"{API}/entries/1234567890123456789")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert '"x_account_id":"1234567890123456789"' in response.text.replace(" ", "")
    body = response.json()
    assert body["x_handle"] == "jack"
    assert {a["network"] for a in body["accounts"]} == {"fediverse", "bluesky"}


async def test_get_entry__non_public_is_found_by_id(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # Knowing the X id is how an archive lists someone: id lookups see every published entry.
    await published_entry(pool, public=False)
    assert (await client.get(f"{API}/entries/12")).status_code == 200


async def test_get_entry__pending_and_withdrawn_are_not_found(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await entries.create_entry(pool, x_account_id="13", x_handle="pending", display_name="")
    withdrawn = await published_entry(pool)
    await entries.withdraw_entry(pool, withdrawn.id)
    _error(await client.get(f"{API}/entries/13"), 404, "not_found")
    _error(await client.get(f"{API}/entries/12"), 404, "not_found")
    _error(await client.get(f"{API}/entries/777"), 404, "not_found")


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "-1",
        "0",
        "1.5",
        "99999999999999999999",
        "%D9%A1%D9%A2",  # Arabic-Indic digits
        "%EF%BC%91%EF%BC%92",  # fullwidth digits
        "12%E2%80%8B",  # zero-width space
        "1" * 5000,
    ],
)
async def test_get_entry__malformed_id(client: httpx.AsyncClient, raw: str) -> None:
    _error(await client.get(f"{API}/entries/{raw}"), 422, "invalid_x_account_id")


# --- GET /entries?x_handle= | ?account= ---------------------------------------------------


async def test_find_by_x_handle__case_insensitive(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await published_entry(pool, x_handle="Jack_D")
    response = await client.get(f"{API}/entries", params={"x_handle": "@JACK_d"})
    assert response.status_code == 200
    assert response.json()["x_handle"] == "Jack_D"


async def test_find_by_x_handle__only_public_entries(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await published_entry(pool, public=False)
    _error(await client.get(f"{API}/entries", params={"x_handle": "jack"}), 404)


@pytest.mark.parametrize(
    "handle",
    ["sixteen_chars_xx", "jack\u200b", "jаck", "ｊａｃｋ", "jack\u202e", "", "a b", "<script>"],
)
async def test_find_by_x_handle__malformed(client: httpx.AsyncClient, handle: str) -> None:
    _error(await client.get(f"{API}/entries", params={"x_handle": handle}), 422, "invalid_x_handle")


async def test_find_by_new_handle(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await published_entry(pool, fediverse="@Jack@Mastodon.test", bluesky="jack.bsky.test")
    for handle in (
        "@jack@mastodon.test",
        "JACK@MASTODON.TEST",
        "jack.bsky.test",
        "@jack.bsky.test",
    ):
        response = await client.get(f"{API}/entries", params={"account": handle})
        assert response.status_code == 200, handle
        assert [r["x_handle"] for r in response.json()["results"]] == ["jack"], handle
    response = await client.get(f"{API}/entries", params={"account": "nobody@mastodon.test"})
    assert response.json() == {"results": []}
    _error(await client.get(f"{API}/entries", params={"account": "not a handle"}), 422)


async def test_find__needs_exactly_one_parameter(client: httpx.AsyncClient) -> None:
    _error(await client.get(f"{API}/entries"), 422, "missing_parameter")
    both = {"x_handle": "jack", "account": "jack@m.test"}
    _error(await client.get(f"{API}/entries", params=both), 422, "missing_parameter")


# --- GET /search --------------------------------------------------------------------------


async def _directory(pool: asyncpg.Pool) -> None:
    people = [
        ("1", "jo", "Jo March", "jo@m.test"),
        ("2", "john_doe", "John Doe", "johnd@m.test"),
        ("3", "joanna", "Joanna Lumley", "jl@m.test"),
        ("4", "marie_curie", "Marie Curie", "mc@sciences.test"),
        ("5", "pierre", "Pierre Curie", "marie@other.test"),
        ("6", "elodie", "Élodie Martin", "elodie@m.test"),
    ]
    for x_id, handle, name, fedi in people:
        await published_entry(
            pool, x_account_id=x_id, x_handle=handle, display_name=name, fediverse=fedi
        )
    await published_entry(
        pool, x_account_id="7", x_handle="johnny_hidden", display_name="Johnny", public=False
    )


async def test_search__prefix_ranked_and_public_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _directory(pool)
    response = await client.get(f"{API}/search", params={"q": "jo"})
    assert response.status_code == 200
    handles = [r["x_handle"] for r in response.json()["results"]]
    assert handles[:3] == ["jo", "joanna", "john_doe"]  # exact first, then alphabetical
    assert "johnny_hidden" not in handles


async def test_search__new_handles_names_and_accents(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _directory(pool)
    marie = [r["x_handle"] for r in (await client.get(f"{API}/search?q=marie")).json()["results"]]
    assert marie[:2] == ["marie_curie", "pierre"]  # X handle prefix, then new-handle prefix
    elodie = (await client.get(f"{API}/search", params={"q": "ELODIE mar"})).json()["results"]
    assert [r["x_handle"] for r in elodie] == ["elodie"]


async def test_search__fuzzy(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _directory(pool)
    results = (await client.get(f"{API}/search", params={"q": "lumley"})).json()["results"]
    assert [r["x_handle"] for r in results] == ["joanna"]
    results = (await client.get(f"{API}/search", params={"q": "curi"})).json()["results"]
    assert {r["x_handle"] for r in results} == {"marie_curie", "pierre"}


async def test_search__an_entry_appears_once(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    # Given an entry whose X handle, both new handles and name all start with the query
    await published_entry(
        pool,
        x_handle="camille",
        display_name="Camille Claudel",
        fediverse="camille@art.test",
        bluesky="camille.bsky.test",
    )
    # When searching for it, Then it is listed once
    response = await client.get(f"{API}/search", params={"q": "camille"})
    assert [r["x_handle"] for r in response.json()["results"]] == ["camille"]
    assert response.json()["next_cursor"] is None


async def test_search__pages_with_cursor(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _directory(pool)
    seen: list[str] = []
    params: dict[str, str] = {"q": "jo", "limit": "1"}
    for _ in range(10):
        body = (await client.get(f"{API}/search", params=params)).json()
        seen += [r["x_handle"] for r in body["results"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert seen == ["jo", "joanna", "john_doe"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "invalid_query"),
        ({"q": ""}, "invalid_query"),
        ({"q": "   "}, "invalid_query"),
        ({"q": "x" * 101}, "invalid_query"),
        ({"q": "jo", "limit": "0"}, "invalid_limit"),
        ({"q": "jo", "limit": "101"}, "invalid_limit"),
        ({"q": "jo", "limit": "ten"}, "invalid_limit"),
        ({"q": "jo", "limit": "-1"}, "invalid_limit"),
        ({"q": "jo", "cursor": "garbage!"}, "invalid_cursor"),
        ({"q": "jo", "cursor": "bzo5OTk5OQ"}, "invalid_cursor"),  # o:99999, too deep
    ],
)
async def test_search__bad_parameters(
    client: httpx.AsyncClient, params: dict[str, str], code: str
) -> None:
    _error(await client.get(f"{API}/search", params=params), 422, code)


async def test_search__hostile_queries_are_harmless(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _directory(pool)
    for q in ["%", "_", "\\", "'; DROP TABLE entries; --", "j%", "\u200b", "🦋", "\U0010ffff"]:
        response = await client.get(f"{API}/search", params={"q": q})
        assert response.status_code in (200, 422), q
    assert await pool.fetchval("SELECT count(*) FROM entries") == 7


# --- POST /match --------------------------------------------------------------------------


async def test_match__ids(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _directory(pool)
    response = await client.post(
        f"{API}/match", json={"x_account_ids": ["1", "4", "4", "7", "999", " 2 "]}
    )
    assert response.status_code == 200
    body = response.json()
    assert sorted(m["x_handle"] for m in body["matches"]) == [
        "jo",
        "john_doe",
        "johnny_hidden",
        "marie_curie",
    ]
    assert body["unmatched"] == 1  # "999"; duplicates count once
    match = body["matches"][0]
    assert {"x_account_id", "x_handle", "display_name", "accounts"} <= set(match)
    assert {"network", "handle", "url", "proof"} <= set(match["accounts"][0])


async def test_match__handles_are_public_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await _directory(pool)
    response = await client.post(
        f"{API}/match", json={"x_handles": ["@JO", "marie_curie", "johnny_hidden", "nobody"]}
    )
    body = response.json()
    assert sorted(m["x_handle"] for m in body["matches"]) == ["jo", "marie_curie"]
    assert body["unmatched"] == 2


async def test_match__large_list_in_chunks(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await _directory(pool)
    wanted = [str(i) for i in range(1, 25_001)]  # three chunks of 10,000
    response = await client.post(f"{API}/match", json={"x_account_ids": wanted})
    body = response.json()
    assert len(body["matches"]) == 7
    assert body["unmatched"] == 25_000 - 7


async def test_match__empty_list(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/match", json={"x_account_ids": []})
    assert response.json() == {"matches": [], "unmatched": 0}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "invalid_json"),
        (b"[" * 100_000, 400, "invalid_json"),  # deep nesting
        (b'{"x_account_ids": ["1"]', 400, "invalid_json"),
        (b"\xff\xfe", 400, "invalid_json"),
        (b"[]", 422, "invalid_body"),
        (b"{}", 422, "invalid_body"),
        (b'{"x_account_ids": [], "x_handles": []}', 422, "invalid_body"),
        (b'{"x_account_ids": "1,2"}', 422, "invalid_x_account_ids"),
        (b'{"x_account_ids": [12]}', 422, "invalid_x_account_id"),  # numbers lose precision
        (b'{"x_account_ids": [1234567890123456789]}', 422, "invalid_x_account_id"),
        (b'{"x_account_ids": ["1", "abc"]}', 422, "invalid_x_account_id"),
        (b'{"x_account_ids": [null]}', 422, "invalid_x_account_id"),
        (b'{"x_account_ids": [["1"]]}', 422, "invalid_x_account_id"),
        (b'{"x_handles": ["jack\\u200b"]}', 422, "invalid_x_handle"),
        (b'{"x_handles": "jack"}', 422, "invalid_x_handles"),
        (b'{"x_handles": [1]}', 422, "invalid_x_handle"),
    ],
)
async def test_match__bad_bodies(
    client: httpx.AsyncClient, body: bytes, status: int, code: str
) -> None:
    response = await client.post(
        f"{API}/match", content=body, headers={"content-type": "application/json"}
    )
    _error(response, status, code)


async def test_match__too_many_ids(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{API}/match", json={"x_account_ids": ["1"] * 100_001})
    _error(response, 413, "too_many_identifiers")


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
async def test_match__wrong_content_type(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = await client.post(
        f"{API}/match", content=b'{"x_account_ids": ["1"]}', headers=headers
    )
    _error(response, 415, "unsupported_media_type")


async def test_match__charset_parameter_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{API}/match",
        content=b'{"x_account_ids": ["1"]}',
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


async def test_oversized_body__413_by_length(client: httpx.AsyncClient) -> None:
    body = orjson.dumps({"x_account_ids": ["1" * 19] * 250_000})  # about 5.5 MB
    response = await client.post(
        f"{API}/match", content=body, headers={"content-type": "application/json"}
    )
    _error(response, 413, "body_too_large")


async def test_oversized_body__413_when_streamed_without_length(
    client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b" " * 65_536  # 6.5 MB of white space, no Content-Length

    response = await client.post(
        f"{API}/match", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "body_too_large")


# --- the rest -----------------------------------------------------------------------------


async def test_unknown_route_and_method__json_errors(client: httpx.AsyncClient) -> None:
    _error(await client.get("/nope"), 404, "not_found")
    _error(await client.get(f"{API}/match"), 405, "method_not_allowed")
    _error(await client.delete(f"{API}/entries/12"), 405, "method_not_allowed")


async def test_openapi__describes_every_api_route(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) >= {
        f"{API}/entries/{{x_account_id}}",
        f"{API}/entries",
        f"{API}/search",
        f"{API}/match",
        "/healthz",
        "/readyz",
    }
    assert document["servers"] == [{"url": "https://dir.test"}]


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readiness__pending_migration(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute("DELETE FROM schema_migrations")
    _error(await client.get("/readyz"), 503, "migrations_pending")


async def test_readiness__schema_newer_than_the_code(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await pool.execute(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, '0999_x.sql', 'x')"
    )
    _error(await client.get("/readyz"), 503, "schema_mismatch")


async def test_landing_page__html_with_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-robots-tag"] == "noindex"


async def test_search__slow_fuzzy_tier_is_cut_at_its_budget(
    client: httpx.AsyncClient, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a fuzzy tier that would take 2 s
    await _directory(pool)
    slow = "SELECT id, doc, 3 FROM entries, pg_sleep(2) WHERE $1 <> $2 AND $3 <> '' LIMIT $4"
    monkeypatch.setattr(search_store, "_FUZZY", slow)
    monkeypatch.setattr(search_store, "FUZZY_BUDGET_MS", 100)
    # When searching, Then the prefix results come back within the budget, and nothing breaks
    started = time.monotonic()
    response = await client.get(f"{API}/search", params={"q": "marie"})
    assert time.monotonic() - started < 1.5
    assert [r["x_handle"] for r in response.json()["results"]] == ["marie_curie", "pierre"]
    assert (await client.get(f"{API}/search", params={"q": "jo"})).status_code == 200


@pytest.mark.parametrize(("query", "found"), [("lumley", ["joanna"]), ("lumley_1", [])])
async def test_search__handle_like_queries_are_not_fuzzy(
    client: httpx.AsyncClient, pool: asyncpg.Pool, query: str, found: list[str]
) -> None:
    await _directory(pool)
    results = (await client.get(f"{API}/search", params={"q": query})).json()["results"]
    assert [r["x_handle"] for r in results] == found
