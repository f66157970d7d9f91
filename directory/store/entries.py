"""Store and change entries, their linked accounts, proofs and consents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import asyncpg

from directory.db import Conn
from directory.models import (
    AccountProofMethod,
    ConsentRecord,
    Entry,
    EntryStatus,
    LinkedAccount,
    Network,
    NewAccount,
    Purpose,
    XProofMethod,
)

_ENTRY_COLUMNS = """
    e.id, e.x_account_id, e.x_handle, e.display_name, e.status, e.x_proof_method,
    e.x_proof_level, e.consent_listed, e.consent_federated, e.consent_findable,
    e.consent_public, e.consent_announce, e.consent_notify, e.origin_host,
    e.created_at, e.updated_at, e.published_at, e.withdrawn_at
"""
_ACCOUNT_COLUMNS = """
    a.id, a.entry_id, a.network, a.handle, a.profile_url, a.canonical_id, a.proof_method,
    a.verified_at, a.is_primary
"""


async def insert_entry(
    conn: Conn, *, x_account_id: int, x_handle: str, display_name: str, name_key: str
) -> int:
    """Insert a pending local entry and return its id (UniqueViolationError on a live twin)."""
    entry_id: int = await conn.fetchval(
        "INSERT INTO entries (x_account_id, x_handle, display_name, name_key)"
        " VALUES ($1, $2, $3, $4) RETURNING id",
        x_account_id,
        x_handle,
        display_name,
        name_key,
    )
    return entry_id


async def update_entry(
    conn: Conn, entry_id: int, *, x_handle: str, display_name: str, name_key: str
) -> None:
    """Change the mutable attributes of a live entry."""
    await conn.execute(
        "UPDATE entries SET x_handle = $2, display_name = $3, name_key = $4 WHERE id = $1",
        entry_id,
        x_handle,
        display_name,
        name_key,
    )


async def set_published(conn: Conn, entry_id: int) -> None:
    """Mark a live entry published (the schema refuses it without consent and X proof)."""
    await conn.execute(
        "UPDATE entries SET status = 'published', published_at = coalesce(published_at, now())"
        " WHERE id = $1",
        entry_id,
    )


async def make_tombstone(conn: Conn, entry_id: int) -> None:
    """Erase an entry's personal data, keeping only its id, X id and dates (a tombstone)."""
    await conn.execute("DELETE FROM consents WHERE entry_id = $1", entry_id)
    await conn.execute("DELETE FROM proofs WHERE entry_id = $1", entry_id)
    await conn.execute("DELETE FROM accounts WHERE entry_id = $1", entry_id)
    await conn.execute("DELETE FROM followers WHERE entry_id = $1", entry_id)
    await conn.execute(
        """UPDATE entries SET status = 'withdrawn', withdrawn_at = now(),
               x_handle = NULL, display_name = NULL, name_key = NULL,
               x_proof_method = NULL, x_proof_level = 0, published_at = NULL,
               consent_listed = false, consent_federated = false, consent_findable = false,
               consent_public = false, consent_announce = false, consent_notify = false
           WHERE id = $1""",
        entry_id,
    )


async def fetch_entry(conn: Conn, entry_id: int) -> Entry | None:
    """Read one entry (any status) with its accounts."""
    row = await conn.fetchrow(f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.id = $1", entry_id)
    if row is None:
        return None
    return _to_entry(row, await _fetch_accounts(conn, [entry_id]))


async def find_local_entry_id(
    conn: Conn, *, x_account_id: int | None = None, x_handle_key: str | None = None
) -> int | None:
    """The id of the live local entry with this X id or handle, if any."""
    row = await conn.fetchrow(
        """SELECT id FROM entries
           WHERE origin_host IS NULL AND status <> 'withdrawn'
             AND (x_account_id = $1 OR x_handle_key = $2)
           ORDER BY x_account_id = $1 DESC LIMIT 1""",
        x_account_id,
        x_handle_key,
    )
    return None if row is None else int(row["id"])


async def find_tombstone(conn: Conn, x_account_id: int) -> Entry | None:
    """The newest local tombstone for an X id, if that person withdrew."""
    row = await conn.fetchrow(
        f"""SELECT {_ENTRY_COLUMNS} FROM entries e
            WHERE e.x_account_id = $1 AND e.origin_host IS NULL AND e.status = 'withdrawn'
            ORDER BY e.withdrawn_at DESC LIMIT 1""",
        x_account_id,
    )
    return None if row is None else _to_entry(row, {})


async def list_entries(
    conn: Conn, *, status: EntryStatus | None, after_id: int, limit: int
) -> list[Entry]:
    """Entries in id order after `after_id`, optionally of one status."""
    rows = await conn.fetch(
        f"""SELECT {_ENTRY_COLUMNS} FROM entries e
            WHERE e.id > $1 AND ($2::entry_status IS NULL OR e.status = $2)
            ORDER BY e.id LIMIT $3""",
        after_id,
        status,
        limit,
    )
    accounts = await _fetch_accounts(conn, [row["id"] for row in rows])
    return [_to_entry(row, accounts) for row in rows]


async def insert_accounts(conn: Conn, entry_id: int, accounts: Sequence[NewAccount]) -> None:
    """Link new accounts to an entry (UniqueViolationError if one is already linked)."""
    await conn.executemany(
        """INSERT INTO accounts (entry_id, network, handle, handle_key, profile_url,
                                 proof_method, verified_at, is_primary)
           VALUES ($1, $2, $3, $4, $5, $6,
                   CASE WHEN $6::text IS NULL THEN NULL ELSE now() END, $7)""",
        [
            (
                entry_id,
                a.network.value,
                a.handle,
                a.handle_key,
                a.profile_url,
                None if a.proof_method is None else a.proof_method.value,
                a.is_primary,
            )
            for a in accounts
        ],
    )


async def delete_account(conn: Conn, entry_id: int, account_id: int) -> bool:
    """Unlink one account from an entry; False if the entry has no such account."""
    status: str = await conn.execute(
        "DELETE FROM accounts WHERE id = $1 AND entry_id = $2", account_id, entry_id
    )
    return status == "DELETE 1"


async def insert_x_proof(
    conn: Conn,
    entry_id: int,
    *,
    method: XProofMethod,
    statement: str,
    recorded_by: str,
) -> None:
    """Record a proof of the X side and raise the entry's X proof level if it is stronger."""
    await conn.execute(
        "INSERT INTO proofs (entry_id, method, level, statement, recorded_by)"
        " VALUES ($1, $2, $3, $4, $5)",
        entry_id,
        method.value,
        method.level,
        statement,
        recorded_by,
    )
    await conn.execute(
        """UPDATE entries SET x_proof_method = $2, x_proof_level = $3
           WHERE id = $1 AND (x_proof_method IS NULL OR x_proof_level < $3)""",
        entry_id,
        method.value,
        method.level,
    )


async def insert_consents(
    conn: Conn,
    entry_id: int,
    choices: Mapping[Purpose, bool],
    *,
    text_version: str,
    source: str,
) -> None:
    """Append consent choices to the history; a trigger updates the entry's current consents."""
    await conn.executemany(
        "INSERT INTO consents (entry_id, purpose, granted, text_version, source)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(entry_id, p.value, granted, text_version, source) for p, granted in choices.items()],
    )


async def fetch_consent_history(conn: Conn, entry_id: int) -> list[ConsentRecord]:
    """An entry's consent history, oldest first."""
    rows = await conn.fetch(
        "SELECT purpose, granted, text_version, source, recorded_at FROM consents"
        " WHERE entry_id = $1 ORDER BY id",
        entry_id,
    )
    return [
        ConsentRecord(
            Purpose(r["purpose"]), r["granted"], r["text_version"], r["source"], r["recorded_at"]
        )
        for r in rows
    ]


async def _fetch_accounts(conn: Conn, entry_ids: Iterable[int]) -> dict[int, list[LinkedAccount]]:
    rows = await conn.fetch(
        f"""SELECT {_ACCOUNT_COLUMNS} FROM accounts a WHERE a.entry_id = ANY($1::bigint[])
            ORDER BY a.network, NOT a.is_primary, a.id""",
        list(entry_ids),
    )
    found: dict[int, list[LinkedAccount]] = {}
    for r in rows:
        proof = r["proof_method"]
        found.setdefault(r["entry_id"], []).append(
            LinkedAccount(
                id=r["id"],
                network=Network(r["network"]),
                handle=r["handle"],
                profile_url=r["profile_url"],
                canonical_id=r["canonical_id"],
                proof_method=None if proof is None else AccountProofMethod(proof),
                verified_at=r["verified_at"],
                is_primary=r["is_primary"],
            )
        )
    return found


def _to_entry(row: asyncpg.Record, accounts: Mapping[int, list[LinkedAccount]]) -> Entry:
    consents = frozenset(p for p in Purpose if row[f"consent_{p.value}"])
    method = row["x_proof_method"]
    return Entry(
        id=row["id"],
        x_account_id=row["x_account_id"],
        x_handle=row["x_handle"],
        display_name=row["display_name"],
        status=EntryStatus(row["status"]),
        x_proof_method=None if method is None else XProofMethod(method),
        x_proof_level=row["x_proof_level"],
        consents=consents,
        origin_host=row["origin_host"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        withdrawn_at=row["withdrawn_at"],
        accounts=tuple(accounts.get(row["id"], ())),
    )
