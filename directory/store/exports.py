"""Stream every local entry, tombstones included, as JSON text for `hirondelle export`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from directory.db import Conn

_EXPORT = """
SELECT CASE WHEN e.status = 'withdrawn' THEN
    json_build_object('type', 'tombstone', 'x_account_id', e.x_account_id::text,
                      'created_at', e.created_at, 'withdrawn_at', e.withdrawn_at)::text
ELSE
    (jsonb_build_object('type', 'entry') || e.doc::jsonb || jsonb_build_object(
        'created_at', e.created_at,
        'consents', (SELECT coalesce(jsonb_object_agg(c.purpose, c.granted), '{}'::jsonb) FROM (
            SELECT DISTINCT ON (purpose) purpose, granted FROM consents
            WHERE entry_id = e.id ORDER BY purpose, id DESC) c)))::text
END
FROM entries e WHERE e.origin_host IS NULL ORDER BY e.id
"""


async def stream_local_entries(conn: Conn, *, prefetch: int = 2000) -> AsyncIterator[str]:
    """Yield one JSON object per local entry; the caller must hold a transaction open."""
    async for record in conn.cursor(_EXPORT, prefetch=prefetch):
        yield record[0]
