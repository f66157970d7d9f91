"""Search's store: the name words that correct misspelt queries, and the tiers that use them."""

from __future__ import annotations

import json

import asyncpg
import pytest

from directory.models import Purpose
from directory.services import entries
from directory.store import search as search_store
from tests.factories import published_entry


async def words(pool: asyncpg.Pool) -> dict[str, int]:
    rows = await pool.fetch("SELECT word, entries FROM name_words")
    return {row["word"]: row["entries"] for row in rows}


async def test_name_words__count_visible_names(pool: asyncpg.Pool) -> None:
    # Given two public names sharing a word, and a hidden one
    await published_entry(pool, x_account_id="1", x_handle="mc", display_name="Marie Curie")
    await published_entry(pool, x_account_id="2", x_handle="pc", display_name="Pierre Curie")
    await published_entry(
        pool, x_account_id="3", x_handle="hid", display_name="Hidden Person", public=False
    )
    # Then only the public names' words are counted (words under 3 letters left out)
    assert await words(pool) == {"marie": 1, "pierre": 1, "curie": 2}


async def test_name_words__follow_renames_consents_and_withdrawals(pool: asyncpg.Pool) -> None:
    marie = await published_entry(pool, x_account_id="1", x_handle="mc", display_name="Marie Curie")
    pierre = await published_entry(
        pool, x_account_id="2", x_handle="pc", display_name="Pierre Curie"
    )
    # When Marie changes her name, the old word goes and the new one comes
    await entries.update_entry(pool, marie.id, x_handle="mc", display_name="Marie Sklodowska")
    assert await words(pool) == {"marie": 1, "pierre": 1, "curie": 1, "sklodowska": 1}
    # When Pierre hides his entry from search, his words go
    await entries.set_consents(pool, pierre.id, {Purpose.PUBLIC: False}, source="self")
    assert await words(pool) == {"marie": 1, "sklodowska": 1}
    # When Marie withdraws, nothing of her name is left
    await entries.withdraw_entry(pool, marie.id)
    assert await words(pool) == {}


async def test_name_words__unchanged_names_lock_nothing(pool: asyncpg.Pool) -> None:
    # Given an entry whose row is updated without a change of name or visibility
    entry = await published_entry(pool, x_account_id="1", x_handle="mc", display_name="Marie Curie")
    await pool.execute("UPDATE entries SET updated_at = now() WHERE id = $1", entry.id)
    # Then the counts are unchanged
    assert await words(pool) == {"marie": 1, "curie": 1}


@pytest.mark.parametrize(
    ("asked", "corrected"),
    [
        ("mari curi", "marie curie"),
        ("marie curie", "marie curie"),
        ("pierr", "pierre"),
        ("jo curi", "jo curie"),  # too short to correct
        ("zzqxv", "zzqxv"),  # nothing similar
        ("", ""),
    ],
)
async def test_correct_words(pool: asyncpg.Pool, asked: str, corrected: str) -> None:
    await published_entry(pool, x_account_id="1", x_handle="mc", display_name="Marie Curie")
    await published_entry(pool, x_account_id="2", x_handle="pc", display_name="Pierre Curie")
    async with pool.acquire() as conn:
        assert await search_store.correct_words(conn, asked) == corrected


async def test_search_entries__misspelt_name_found_by_its_corrected_prefix(
    pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a directory, and a fuzzy tier that finds nothing
    await published_entry(pool, x_account_id="1", x_handle="mc", display_name="Marie Curie")
    monkeypatch.setattr(
        search_store, "_FUZZY", "SELECT 1, '', 4 WHERE $1 = $2 AND $3 = '' LIMIT $4"
    )
    # When searching a misspelt first and last name
    async with pool.acquire() as conn:
        hits = await search_store.search_entries(
            conn, handle_prefix="maricuri", name_prefix="mari curi", fuzzy=True, limit=10
        )
    # Then the corrected name's prefix tier found the entry
    assert [(hit.tier, json.loads(hit.doc)["x_handle"]) for hit in hits] == [(3, "mc")]
