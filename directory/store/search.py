"""Search published, public entries: prefix on handles and names, then fuzzy on names.

Prefix tiers use range scans on COLLATE "C" btrees (a LIKE with a parameter cannot use the
index once PostgreSQL switches to a generic plan). When they leave room, the query's words are
corrected against the words of visible names (`name_words`, migrations/0005) and the corrected
name is looked up by prefix; then the fuzzy tier uses the pg_trgm GIN index over names. Both are
skipped below 3 characters, where trigrams cannot help (performance-baseline.md F2, Search).
"""

from __future__ import annotations

import dataclasses

import asyncpg

from directory.db import Conn

# Keys are compared bytewise (COLLATE "C"): every continuation of a prefix sorts before this.
_TOP = "\U0010ffff"
# The fuzzy tier ranks at most this many trigram candidates, so common words stay fast.
FUZZY_CANDIDATES = 2000

_X_PREFIX = "x_handle_key >= $1 AND x_handle_key < $2"
_NEW_PREFIX = (
    "EXISTS (SELECT 1 FROM accounts a WHERE a.entry_id = entries.id"
    " AND a.handle_key >= $1 AND a.handle_key < $2)"
)
_NAME_PREFIX = f"name_key >= $3 AND name_key < $3 || '{_TOP}'"
_VISIBLE = "status = 'published' AND consent_public"

# The prefix tiers are disjoint (each leaves out what an earlier tier finds) and the outer LIMIT
# stops the Append as soon as the page is full.
_PREFIXES = f"""
SELECT id, doc, tier FROM (
  (SELECT id, doc, 0 AS tier FROM entries
    WHERE {_X_PREFIX} AND {_VISIBLE}
    ORDER BY x_handle_key LIMIT $4)
  UNION ALL
  (SELECT e.id, e.doc, 1 FROM accounts a JOIN entries e ON e.id = a.entry_id
    WHERE a.handle_key >= $1 AND a.handle_key < $2
      AND e.status = 'published' AND e.consent_public
      AND NOT (e.x_handle_key >= $1 AND e.x_handle_key < $2)
    ORDER BY a.handle_key LIMIT $4)
  UNION ALL
  (SELECT id, doc, 2 FROM entries
    WHERE {_NAME_PREFIX} AND {_VISIBLE} AND NOT ({_X_PREFIX}) AND NOT {_NEW_PREFIX}
    ORDER BY name_key LIMIT $4)
) AS tiers
LIMIT $4
"""

# Each word of the query (3 characters or more) and the most similar word of a visible name,
# itself when it is one; NULL when none is similar enough (pg_trgm.similarity_threshold).
_CORRECTIONS = """
SELECT asked, (SELECT n.word FROM name_words n WHERE n.word % asked
               ORDER BY similarity(n.word, asked) DESC, n.entries DESC, n.word LIMIT 1)
FROM unnest($1::text[]) AS asked
"""
_CORRECTED_NAME = f"""
SELECT id, doc, 3 FROM entries WHERE name_key >= $1 AND name_key < $1 || '{_TOP}' AND {_VISIBLE}
ORDER BY name_key LIMIT $2
"""

# Names that resemble the query and that no prefix tier found. A misspelt common name makes the
# trigram index collect tens of thousands of candidates (~150 ms at 10M entries), so this tier
# runs only when the prefixes leave room, and under a time budget.
_FUZZY = f"""
SELECT id, doc, 4 FROM (
    SELECT id, doc, word_similarity($3, name_key) AS score FROM entries
    WHERE $3 <% name_key AND {_VISIBLE}
      AND NOT ({_NAME_PREFIX}) AND NOT ({_X_PREFIX}) AND NOT {_NEW_PREFIX}
    LIMIT {FUZZY_CANDIDATES}) AS candidates
ORDER BY score DESC, id LIMIT $4
"""
FUZZY_BUDGET_MS = 150


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One search result: the entry id, its document and the tier that found it."""

    entry_id: int
    doc: str
    tier: int


async def search_entries(
    conn: Conn, *, handle_prefix: str, name_prefix: str, fuzzy: bool, limit: int
) -> list[SearchHit]:
    """Up to `limit` hits, best tier first (an entry may repeat: the caller keeps its best tier).

    The fuzzy tier is skipped when it would not run in time: its results are then missing, and
    the other results stand alone.
    """
    args = (handle_prefix, handle_prefix + _TOP, name_prefix, limit)
    rows = list(await conn.fetch(_PREFIXES, *args))
    if fuzzy and len(rows) < limit:
        corrected = await correct_words(conn, name_prefix)
        if corrected != name_prefix:
            rows += await conn.fetch(_CORRECTED_NAME, corrected, limit)
    if fuzzy and len(rows) < limit:
        try:
            async with conn.transaction(readonly=True):
                await conn.execute(f"SET LOCAL statement_timeout = {FUZZY_BUDGET_MS}")
                rows += await conn.fetch(_FUZZY, *args[:3], limit - len(rows))
        except asyncpg.QueryCanceledError:
            pass
    return [SearchHit(row[0], row[1], row[2]) for row in rows]


async def correct_words(conn: Conn, name_key: str) -> str:
    """`name_key` with each word of 3 characters or more replaced by the closest name word."""
    words = name_key.split(" ")
    asked = sorted({word for word in words if len(word) >= 3})
    if not asked:
        return name_key
    found: dict[str, str | None] = {row[0]: row[1] for row in await conn.fetch(_CORRECTIONS, asked)}
    return " ".join(found.get(word) or word for word in words)
