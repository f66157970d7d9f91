"""The schema itself refuses invalid states, whatever code writes to it."""

from __future__ import annotations

import asyncpg
import pytest

from tests.factories import published_entry

_INSERT = (
    "INSERT INTO entries (x_account_id, x_handle, display_name, name_key{})"
    " VALUES ($1, $2, 'n', 'n'{})"
)


@pytest.mark.parametrize(
    ("columns", "values"),
    [
        (", status, published_at", ", 'published', now()"),  # no consent, no proof
        (", status, published_at, consent_listed", ", 'published', now(), true"),  # no proof
        (
            ", status, consent_listed, x_proof_method, x_proof_level",
            ", 'published', true, 'vouched', 1",
        ),  # no publication date
    ],
)
async def test_published_needs_consent_proof_and_date(
    pool: asyncpg.Pool, columns: str, values: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(_INSERT.format(columns, values), 12, "jack")


@pytest.mark.parametrize(
    "handle", ["sixteen_chars_xx", "jack\u200b", "jаck", "", "ja ck", "jack;drop"]
)
async def test_x_handle_shape(pool: asyncpg.Pool, handle: str) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(_INSERT.format("", ""), 12, handle)


async def test_x_id_positive(pool: asyncpg.Pool) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(_INSERT.format("", ""), 0, "jack")


async def test_one_live_local_entry_per_x_id(pool: asyncpg.Pool) -> None:
    await pool.execute(_INSERT.format("", ""), 12, "jack")
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(_INSERT.format("", ""), 12, "jack2")
    # a remote entry for the same X id may coexist (disputes are resolved by proof strength)
    await pool.execute(_INSERT.format(", origin_host", ", 'peer.test'"), 12, "jack")


async def test_handle_unique_case_insensitively(pool: asyncpg.Pool) -> None:
    await pool.execute(_INSERT.format("", ""), 12, "jack")
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(_INSERT.format("", ""), 13, "JACK")


async def test_tombstone_cannot_keep_personal_data(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "UPDATE entries SET status = 'withdrawn', withdrawn_at = now(), x_handle = NULL"
            " WHERE id = $1",
            entry.id,
        )


async def test_consent_columns_follow_history_trigger(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool, public=False)
    await pool.execute(
        "INSERT INTO consents (entry_id, purpose, granted, text_version, source)"
        " VALUES ($1, 'public', true, 'v', 'self'), ($1, 'public', false, 'v', 'self'),"
        " ($1, 'notify', true, 'v', 'self')",
        entry.id,
    )
    row = await pool.fetchrow(
        "SELECT consent_public, consent_notify FROM entries WHERE id = $1", entry.id
    )
    assert row is not None
    assert (row["consent_public"], row["consent_notify"]) == (False, True)


async def test_accounts_one_primary_per_network(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    with pytest.raises(asyncpg.UniqueViolationError):
        await pool.execute(
            "INSERT INTO accounts (entry_id, network, handle, handle_key, profile_url, is_primary)"
            " VALUES ($1, 'fediverse', 'b@c.test', 'b@c.test', 'https://c.test/@b', true)",
            entry.id,
        )


async def test_verified_account_needs_a_proof_method(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute(
            "INSERT INTO accounts (entry_id, network, handle, handle_key, profile_url,"
            " verified_at) VALUES ($1, 'bluesky', 'b.c.test', 'b.c.test',"
            " 'https://bsky.app/profile/b.c.test', now())",
            entry.id,
        )
