"""Search published, public entries: prefix on handles and names, then fuzzy on names.

Prefix tiers use range scans on COLLATE "C" btrees (a LIKE with a parameter cannot use the
index once PostgreSQL switches to a generic plan); the fuzzy tier uses the pg_trgm GIN index and
is skipped below 3 characters, where trigrams cannot help (performance-baseline.md F2, Search).
"""

from __future__ import annotations

import dataclasses

from directory.db import Executor

# Keys are compared bytewise (COLLATE "C"): every continuation of a prefix sorts before this.
_TOP = "\U0010ffff"
# The fuzzy tier ranks at most this many trigram candidates, so common words stay fast.
FUZZY_CANDIDATES = 2000

_SEARCH = f"""
(SELECT id, doc, 0 AS tier FROM entries
  WHERE x_handle_key >= $1 AND x_handle_key < $2 AND status = 'published' AND consent_public
  ORDER BY x_handle_key LIMIT $4)
UNION ALL
(SELECT e.id, e.doc, 1 FROM accounts a JOIN entries e ON e.id = a.entry_id
  WHERE a.handle_key >= $1 AND a.handle_key < $2 AND e.status = 'published' AND e.consent_public
  ORDER BY a.handle_key LIMIT $4)
UNION ALL
(SELECT id, doc, 2 FROM entries
  WHERE name_key >= $3 AND name_key < $3 || '{_TOP}' AND status = 'published' AND consent_public
  ORDER BY name_key LIMIT $4)
UNION ALL
(SELECT id, doc, 3 FROM (
    SELECT id, doc, word_similarity($3, name_key) AS score FROM entries
    WHERE $5 AND $3 <% name_key AND status = 'published' AND consent_public
    LIMIT {FUZZY_CANDIDATES}) AS candidates
  ORDER BY score DESC, id LIMIT $4)
"""


@dataclasses.dataclass(frozen=True)
class SearchHit:
    """One search result: the entry id, its document and the tier that found it."""

    entry_id: int
    doc: str
    tier: int


async def search_entries(
    conn: Executor, *, handle_prefix: str, name_prefix: str, fuzzy: bool, limit: int
) -> list[SearchHit]:
    """Up to `limit` hits per tier, best tier first; the caller removes duplicates."""
    rows = await conn.fetch(
        _SEARCH,
        handle_prefix,
        handle_prefix + _TOP,
        name_prefix,
        limit,
        fuzzy,
    )
    return [SearchHit(row[0], row[1], row[2]) for row in rows]
