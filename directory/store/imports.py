"""Bulk-load vouched entries: COPY rows into a temporary table, then set-based SQL.

All of it runs inside the caller's transaction, so an import lands whole or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from directory.db import Conn
from directory.models import CONSENT_TEXT_VERSION, Purpose, XProofMethod


@dataclasses.dataclass(frozen=True)
class ImportRow:
    """One validated row of an import file."""

    line: int
    x_account_id: int
    x_handle: str
    display_name: str
    name_key: str
    fediverse: tuple[str, str, str] | None  # (handle, key, profile url)
    bluesky: tuple[str, str, str] | None


@dataclasses.dataclass(frozen=True)
class Clash:
    """A row that collides with what the directory already holds."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int


_COLUMNS = (
    "line", "x_account_id", "x_handle", "display_name", "name_key",
    "fedi_handle", "fedi_key", "fedi_url", "bsky_handle", "bsky_key", "bsky_url",
)  # fmt: skip

_STAGE = """
CREATE TEMPORARY TABLE import_rows (
    line integer NOT NULL, x_account_id bigint NOT NULL, x_handle text COLLATE "C" NOT NULL,
    display_name text NOT NULL, name_key text COLLATE "C" NOT NULL,
    fedi_handle text, fedi_key text COLLATE "C", fedi_url text,
    bsky_handle text, bsky_key text COLLATE "C", bsky_url text,
    entry_id bigint, is_new boolean
) ON COMMIT DROP
"""

_CLASHES = """
SELECT r.line, 'withdrawn' AS reason, t.withdrawn_at::date::text AS detail
  FROM import_rows r JOIN entries t ON t.x_account_id = r.x_account_id
  WHERE t.origin_host IS NULL AND t.status = 'withdrawn'
    AND NOT EXISTS (SELECT 1 FROM entries l WHERE l.x_account_id = r.x_account_id
                    AND l.origin_host IS NULL AND l.status <> 'withdrawn')
UNION ALL
SELECT r.line, 'exists', e.status::text
  FROM import_rows r JOIN entries e ON e.x_account_id = r.x_account_id
  WHERE e.origin_host IS NULL AND e.status <> 'withdrawn' AND NOT $1
UNION ALL
SELECT r.line, 'handle_taken', e.x_account_id::text
  FROM import_rows r JOIN entries e ON e.x_handle_key = lower(r.x_handle)
  WHERE e.origin_host IS NULL AND e.status <> 'withdrawn' AND e.x_account_id <> r.x_account_id
ORDER BY 1
"""

# Entry ids are assigned first, and accounts inserted before their entries (the foreign key is
# deferred), so that the render trigger sees each new entry's accounts and renders it once.
_ASSIGN_EXISTING = """
UPDATE import_rows r SET entry_id = e.id, is_new = false
FROM entries e
WHERE e.x_account_id = r.x_account_id AND e.origin_host IS NULL AND e.status <> 'withdrawn'
"""

_ASSIGN_NEW = """
UPDATE import_rows SET entry_id = nextval(pg_get_serial_sequence('entries', 'id')), is_new = true
WHERE entry_id IS NULL
"""

_UPDATE_EXISTING = """
UPDATE entries e SET x_handle = r.x_handle, display_name = r.display_name, name_key = r.name_key
FROM import_rows r
WHERE NOT r.is_new AND e.id = r.entry_id
"""

_ACCOUNTS = """
INSERT INTO accounts (entry_id, network, handle, handle_key, profile_url, proof_method,
                      verified_at, is_primary)
SELECT entry_id, 'fediverse'::network, fedi_handle, fedi_key, fedi_url, 'vouched', now(),
       NOT EXISTS (SELECT 1 FROM accounts p WHERE p.entry_id = r.entry_id
                   AND p.network = 'fediverse' AND p.is_primary)
  FROM import_rows r WHERE fedi_handle IS NOT NULL
UNION ALL
SELECT entry_id, 'bluesky'::network, bsky_handle, bsky_key, bsky_url, 'vouched', now(),
       NOT EXISTS (SELECT 1 FROM accounts p WHERE p.entry_id = r.entry_id
                   AND p.network = 'bluesky' AND p.is_primary)
  FROM import_rows r WHERE bsky_handle IS NOT NULL
ON CONFLICT ON CONSTRAINT account_once_per_entry DO NOTHING
"""

_INSERT_NEW = """
INSERT INTO entries (id, x_account_id, x_handle, display_name, name_key, status, published_at,
                     x_proof_method, x_proof_level, consent_listed, consent_federated,
                     consent_findable, consent_public)
OVERRIDING SYSTEM VALUE
SELECT entry_id, x_account_id, x_handle, display_name, name_key, 'published', now(),
       'vouched', $1, true, $2, $3, $4
FROM import_rows WHERE is_new ORDER BY line
"""

_PROOFS = """
INSERT INTO proofs (entry_id, method, level, statement, recorded_by)
SELECT entry_id, 'vouched', $1, $2, $3 FROM import_rows ORDER BY line
"""

_CONSENTS = """
INSERT INTO consents (entry_id, purpose, granted, text_version, source)
SELECT r.entry_id, p.purpose, true, $2, 'organisation'
FROM import_rows r CROSS JOIN unnest($1::consent_purpose[]) AS p(purpose)
WHERE r.is_new
ORDER BY r.line
"""

# Entries that were already here keep their status and the person's own consent choices: the
# organisation's statement of consent covers the entries it creates, nothing more.
_RAISE_PROOF = """
UPDATE entries e SET x_proof_method = 'vouched', x_proof_level = $1
FROM import_rows r
WHERE e.id = r.entry_id AND NOT r.is_new AND e.x_proof_level < $1
"""


async def stage_rows(conn: Conn, rows: Sequence[ImportRow]) -> None:
    """COPY validated rows into this transaction's temporary import table."""
    await conn.execute(_STAGE)
    await conn.copy_records_to_table(
        "import_rows", records=(_record(r) for r in rows), columns=_COLUMNS
    )
    await conn.execute("ANALYZE import_rows")


async def find_clashes(conn: Conn, *, update_existing: bool) -> list[Clash]:
    """Rows that the directory refuses: withdrawn people, existing entries, taken handles."""
    rows = await conn.fetch(_CLASHES, update_existing)
    return [Clash(row["line"], _explain(row["reason"], row["detail"])) for row in rows]


async def drop_lines(conn: Conn, lines: Sequence[int]) -> None:
    """Remove refused rows from the staged rows (for a partial import)."""
    await conn.execute("DELETE FROM import_rows WHERE line = ANY($1::integer[])", lines)


async def apply_staged(
    conn: Conn, *, consents: frozenset[Purpose], recorded_by: str, statement: str
) -> ImportCounts:
    """Create or update entries from the staged rows, link accounts, record proof and consent."""
    level = XProofMethod.VOUCHED.level
    await conn.execute(_ASSIGN_EXISTING)
    await conn.execute(_ASSIGN_NEW)
    await conn.execute(_UPDATE_EXISTING)
    await conn.execute("SET CONSTRAINTS accounts_entry DEFERRED")
    await conn.execute(_ACCOUNTS)
    await conn.execute(
        _INSERT_NEW,
        level,
        Purpose.FEDERATED in consents,
        Purpose.FINDABLE in consents,
        Purpose.PUBLIC in consents,
    )
    await conn.execute("SET CONSTRAINTS accounts_entry IMMEDIATE")
    await conn.execute(_PROOFS, level, statement, recorded_by)
    await conn.execute(_CONSENTS, sorted(p.value for p in consents), CONSENT_TEXT_VERSION)
    await conn.execute(_RAISE_PROOF, level)
    counts = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE is_new) AS created,"
        " count(*) FILTER (WHERE NOT is_new) AS updated FROM import_rows"
    )
    assert counts is not None
    return ImportCounts(created=counts["created"], updated=counts["updated"])


def _record(r: ImportRow) -> tuple[object, ...]:
    fedi = r.fediverse or (None, None, None)
    bsky = r.bluesky or (None, None, None)
    return (r.line, r.x_account_id, r.x_handle, r.display_name, r.name_key, *fedi, *bsky)


def _explain(reason: str, detail: str) -> str:
    if reason == "withdrawn":
        return f"this person withdrew from the directory on {detail}; only they can register again"
    if reason == "exists":
        return f"this X account is already in the directory ({detail}); use --update to update it"
    return f"this X handle belongs to another entry (X id {detail}) in the directory"
