"""Read the public directory: rendered entry documents by X id, X handle or new handle.

Every function returns the stored JSON documents (text) that the API serves as they are: the
document is rendered by PostgreSQL when the entry changes (migrations/0001, entries_render).
"""

from __future__ import annotations

from collections.abc import Sequence

from directory.db import Executor

# The newest, best-proven published entry wins when several origins claim one X id (DESIGN §5).
_BEST = "ORDER BY x_proof_level DESC, updated_at DESC LIMIT 1"


async def doc_by_x_account_id(conn: Executor, x_account_id: int) -> str | None:
    """The document of the published entry for an X id."""
    doc: str | None = await conn.fetchval(
        f"SELECT doc FROM entries WHERE x_account_id = $1 AND status = 'published' {_BEST}",
        x_account_id,
    )
    return doc


async def doc_by_x_handle(conn: Executor, x_handle_key: str) -> str | None:
    """The document of the published, public entry with this X handle."""
    doc: str | None = await conn.fetchval(
        "SELECT doc FROM entries WHERE x_handle_key = $1 AND status = 'published'"
        f" AND consent_public {_BEST}",
        x_handle_key,
    )
    return doc


async def docs_by_new_handle(conn: Executor, handle_key: str) -> list[str]:
    """Documents of the published, public entries that link this new handle."""
    rows = await conn.fetch(
        """SELECT e.doc FROM accounts a JOIN entries e ON e.id = a.entry_id
           WHERE a.handle_key = $1 AND e.status = 'published' AND e.consent_public
           ORDER BY e.x_proof_level DESC, e.updated_at DESC LIMIT 20""",
        handle_key,
    )
    return [row["doc"] for row in rows]


async def match_x_account_ids(
    conn: Executor, x_account_ids: Sequence[int]
) -> list[tuple[int, str]]:
    """(X id, document) of published entries among these ids (several per id is possible)."""
    rows = await conn.fetch(
        "SELECT x_account_id, doc FROM entries"
        " WHERE x_account_id = ANY($1::bigint[]) AND status = 'published'",
        x_account_ids,
    )
    return [(row[0], row[1]) for row in rows]


async def match_x_handles(conn: Executor, x_handle_keys: Sequence[str]) -> list[tuple[str, str]]:
    """(X handle key, document) of published, public entries among these handle keys."""
    rows = await conn.fetch(
        "SELECT x_handle_key, doc FROM entries"
        " WHERE x_handle_key = ANY($1::text[]) AND status = 'published' AND consent_public",
        x_handle_keys,
    )
    return [(row[0], row[1]) for row in rows]
