"""Entry changes: one notification per statement, naming the X ids changed, or '*'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from directory import db
from directory.models import Network, Purpose
from directory.services import entries
from directory.store.changes import CHANNEL, parse_payload
from tests.factories import published_entry

_END = "end"  # sent last: everything notified before it has arrived once it does


@pytest.fixture
async def heard(database_dsn: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The payloads notified on the entry changes channel, in order."""
    conn = await db.connect(database_dsn)
    queue: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(CHANNEL, lambda *args: queue.put_nowait(str(args[3])))
    yield queue
    await conn.close()


async def _drain(pool: asyncpg.Pool, heard: asyncio.Queue[str]) -> list[str]:
    """Every payload notified so far."""
    await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, _END)
    payloads = []
    while (payload := await asyncio.wait_for(heard.get(), timeout=2)) != _END:
        payloads.append(payload)
    return payloads


async def _bulk_insert(conn: db.Executor, count: int, *, origin: str | None = None) -> None:
    """`count` pending entries written by one statement."""
    await conn.execute(
        """INSERT INTO entries (x_account_id, x_handle, display_name, name_key, origin_host)
           SELECT 1000000 + n, 'bulk' || n, 'Bulk', 'bulk', $2 FROM generate_series(1, $1) n""",
        count,
        origin,
    )


async def test_each_change_of_an_entry_names_it(
    pool: asyncpg.Pool, heard: asyncio.Queue[str]
) -> None:
    # Given a published entry
    entry = await published_entry(pool, x_account_id="12", findable=True)
    assert set(await _drain(pool, heard)) == {"12"}
    # When its name, its accounts, its consents or its status change
    await entries.update_entry(pool, entry.id, x_handle="jack_d", display_name="Jack D")
    await entries.add_account(pool, entry.id, network=Network.BLUESKY, handle="j.bsky.test",
                              proof=None)  # fmt: skip
    await entries.set_consents(pool, entry.id, {Purpose.FINDABLE: False}, source="self")
    await entries.withdraw_entry(pool, entry.id)
    # Then each change (a transaction of several statements) was notified once, by its X id
    assert await _drain(pool, heard) == ["12", "12", "12", "12"]


async def test_one_statement_one_notification_with_every_id(
    pool: asyncpg.Pool, heard: asyncio.Queue[str]
) -> None:
    # Given 100 entries written by one statement
    await _bulk_insert(pool, 100)
    [payload] = await _drain(pool, heard)
    assert sorted(int(x) for x in payload.split(",")) == list(range(1000001, 1000101))
    # When one statement changes two of them, Then one notification names both
    await pool.execute(
        "UPDATE entries SET display_name = 'B' WHERE x_account_id IN (1000001, 1000002)"
    )
    assert await _drain(pool, heard) == ["1000001,1000002"]
    # When a statement changes nothing, Then nothing is notified
    await pool.execute("UPDATE entries SET display_name = 'B' WHERE x_account_id = 1")
    assert await _drain(pool, heard) == []


async def test_large_statements_notify_everything(
    pool: asyncpg.Pool, heard: asyncio.Queue[str]
) -> None:
    # When one statement inserts, updates or deletes more entries than a payload can name
    await _bulk_insert(pool, 4000)
    await pool.execute("UPDATE entries SET display_name = 'B'")
    await pool.execute("DELETE FROM entries")
    # Then each notifies '*', which fits any payload
    assert await _drain(pool, heard) == ["*", "*", "*"]


async def test_peer_entries_and_rolled_back_changes_are_not_notified(
    pool: asyncpg.Pool, heard: asyncio.Queue[str]
) -> None:
    # When entries that came from a peer directory change (we never serve them as actors)
    await _bulk_insert(pool, 5000, origin="peer.test")
    await pool.execute("UPDATE entries SET display_name = 'B'")
    # Or a change is rolled back
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await _bulk_insert(conn, 3)
        await transaction.rollback()
    # Then nothing is notified
    assert await _drain(pool, heard) == []


async def test_key_changes_name_the_entry(pool: asyncpg.Pool, heard: asyncio.Queue[str]) -> None:
    # Given an entry whose key was made (its first fetch makes it: no notification needed)
    entry = await published_entry(pool, x_account_id="12", findable=True)
    await _drain(pool, heard)
    await pool.execute(
        "INSERT INTO entry_keys (entry_id, private_pem, public_pem) VALUES ($1, 'k1', 'p1')",
        entry.id,
    )
    assert await _drain(pool, heard) == []
    # When the key is rotated, or deleted
    await pool.execute("UPDATE entry_keys SET private_pem = 'k2', public_pem = 'p2'")
    await pool.execute("DELETE FROM entry_keys")
    # Then the entry's X id is notified each time
    assert await _drain(pool, heard) == ["12", "12"]


async def test_truncate_notifies_everything(pool: asyncpg.Pool, heard: asyncio.Queue[str]) -> None:
    await published_entry(pool, x_account_id="12", findable=True)
    await _drain(pool, heard)
    await pool.execute("TRUNCATE entries CASCADE")
    assert await _drain(pool, heard) == ["*"]


@pytest.mark.parametrize(
    ("payload", "ids"),
    [
        ("12", frozenset({12})),
        ("12,13,12", frozenset({12, 13})),
        ("9223372036854775807", frozenset({9223372036854775807})),
        ("*", None),
        ("", None),  # anything that is not a list of X ids means "everything"
        ("12,", None),
        ("12,x", None),
        ("-12", None),
        ("１２", None),  # non-ASCII digits
        ("12345678901234567890", None),
    ],
)
def test_parse_payload(payload: str, ids: frozenset[int] | None) -> None:
    assert parse_payload(payload) == ids
