"""Generate a synthetic directory of N published entries (default 10,000,000), fast.

    python -m bench.generate --entries 100000       # a quick data set
    python -m bench.generate                        # 10M entries

The benchmark database is dropped and recreated, the project's real migrations are applied
(`directory.migrate.apply_migrations`), then the rows are generated in SQL:

* one transaction that TRUNCATEs the tables (so that, with wal_level=minimal, nothing is
  WAL-logged), runs with `session_replication_role = replica` (no user triggers, no foreign-key
  triggers) and INSERTs … SELECT FROM generate_series in chunks, entries then accounts;
* the secondary indexes of the migration are dropped before and rebuilt after (on
  `--index-jobs` connections at once), the constraint indexes (primary keys, unique
  constraints) are kept;
* `--doc inline` (default) renders each entry's `doc` in the INSERT itself from the generated
  values, with the json functions entry_document() uses; the result is checked against
  entry_document() on a sample (the run fails on any difference). `--doc update` inserts
  without doc and then runs `UPDATE entries e SET doc = entry_document(e)` (generic, slower,
  leaves a heap twice the size);
* VACUUM (FREEZE, ANALYZE), then pg_prewarm of the heap and the indexes the API reads.

Data: X ids are unique 64-bit values, ~35 % "legacy" ids below 2^32 and ~65 % snowflakes
(above 2^53). Handles are stems made of French and English names (`mariedupont`,
`marie_dupont`, `MDupont`, `dupont_marie`, …) plus a number that makes them unique; display
names are "First Last" (accents, compound names), a few rare ones; name_key is
`matching.identifiers.search_key(display_name)` (computed in Python for each name, checked on a
sample). Every entry is published, vouched (X proof level 1), listed and public, and links a
fediverse account (~82 %) and/or a Bluesky one (~35 %, always when there is no fediverse one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import urllib.parse
from typing import Any

import asyncpg

from bench import names
from bench.common import Timer, print_table, write_results
from bench.server import database_dsn
from directory.migrate import apply_migrations
from matching import identifiers as ids

LEGACY_PERCENT = 35  # X ids from before snowflakes (below 2^32)

# Parameters: $1 first row, $2 last row, $3 number of stems, $4 fediverse hosts,
# $5 rare display names, $6 their name keys, $7 legacy percent, $8 seed.
# The inner subquery is a fence (OFFSET 0) so that each column is computed once per row.
_SOURCE = f"""
SELECT s.g AS id, s.x_account_id, s.x_handle, s.display_name, s.name_key, s.ts,
       s.has_fedi, (s.has_bsky OR NOT s.has_fedi) AS has_bsky,
       s.x_handle || '@' || s.host AS fedi_handle,
       'https://' || s.host || '/@' || s.x_handle AS fedi_url,
       replace(lower(s.x_handle), '_', '-') || '.bsky.social' AS bsky_handle
FROM (
    SELECT g,
           CASE WHEN r.h % 100 < $7 THEN r.p * 2 + (r.h >> 8) % 2
                ELSE ((80000000000 + r.p * 170 + (r.h >> 9) % 170) << 22)
                     | ((r.h >> 17) % 4194304)
           END AS x_account_id,
           CASE WHEN (r.h >> 40) % 10 < 6 THEN pr.lower ELSE pr.camel END
             || CASE WHEN (g - 1) / $3 > 0 THEN ((g - 1) / $3)::text ELSE '' END AS x_handle,
           CASE WHEN g % {names.RARE_EVERY} = {names.RARE_AT}
                THEN ($5::text[])[1 + (g / {names.RARE_EVERY}) % cardinality($5::text[])]
                ELSE pr.display_name END AS display_name,
           CASE WHEN g % {names.RARE_EVERY} = {names.RARE_AT}
                THEN ($6::text[])[1 + (g / {names.RARE_EVERY}) % cardinality($6::text[])]
                ELSE pr.name_key END AS name_key,
           timestamptz '2024-11-06 00:00:00+00'
             + make_interval(secs => (r.h2 % 31536000)::double precision) AS ts,
           (r.h2 >> 30) % 100 < 82 AS has_fedi,
           (r.h2 >> 37) % 100 < 35 AS has_bsky,
           ($4::text[])[1 + (r.h2 >> 44) % cardinality($4::text[])] AS host
    FROM generate_series($1::bigint, $2::bigint) AS g
    CROSS JOIN LATERAL (
        SELECT hashint8extended(g, $8::bigint) & 9223372036854775807 AS h,
               hashint8extended(g, $8::bigint + 1) & 9223372036854775807 AS h2,
               (g * 48271) % 2147483647 AS p
    ) AS r
    JOIN bench.prefixes pr ON pr.k = (g - 1) % $3 + 1
    OFFSET 0
) AS s
"""

_ACCOUNT_JSON = """json_build_object(
    'network', '{network}'::network, 'handle', {handle}, 'url', {url}, 'primary', true,
    'proof', json_build_object('method', 'vouched'::text, 'verified_at', ts))"""
_FEDI_JSON = _ACCOUNT_JSON.format(network="fediverse", handle="fedi_handle", url="fedi_url")
_BSKY_JSON = _ACCOUNT_JSON.format(
    network="bluesky", handle="bsky_handle", url="'https://bsky.app/profile/' || bsky_handle"
)
# --doc json: the same json functions, in the same order, as entry_document() (migration 0001).
_DOC_JSON = f"""json_build_object(
    'x_account_id', x_account_id::text,
    'x_handle', x_handle,
    'display_name', display_name,
    'status', 'published'::entry_status,
    'x_proof', json_build_object('method', 'vouched'::text, 'level', 1::smallint),
    'origin', 'local'::text,
    'published_at', ts,
    'updated_at', ts,
    'accounts', CASE WHEN has_fedi AND has_bsky THEN json_build_array({_FEDI_JSON}, {_BSKY_JSON})
                     WHEN has_fedi THEN json_build_array({_FEDI_JSON})
                     ELSE json_build_array({_BSKY_JSON}) END)"""

# --doc inline: the text json_build_object() would produce, concatenated (4-5x cheaper per row).
# Valid because generated strings need no JSON escaping (no '"', '\\' or control characters)
# and timestamps are whole seconds in UTC; `verify` compares a sample with entry_document().
_TS_JSON = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"
_ACCOUNT_TEXT = (
    """'{{"network" : "{network}", "handle" : "' || {handle} || '", "url" : "' || {url}"""
    """ || '", "primary" : true, "proof" : {{"method" : "vouched", "verified_at" : "' || tsj"""
    """ || '"}}}}'"""
)
_FEDI_TEXT = _ACCOUNT_TEXT.format(network="fediverse", handle="fedi_handle", url="fedi_url")
_BSKY_TEXT = _ACCOUNT_TEXT.format(
    network="bluesky", handle="bsky_handle", url="'https://bsky.app/profile/' || bsky_handle"
)
_DOC_TEXT = f"""('{{"x_account_id" : "' || x_account_id || '", "x_handle" : "' || x_handle
    || '", "display_name" : "' || display_name || '", "status" : "published", "x_proof" : '
    || '{{"method" : "vouched", "level" : 1}}, "origin" : "local", "published_at" : "' || tsj
    || '", "updated_at" : "' || tsj || '", "accounts" : ['
    || CASE WHEN has_fedi AND has_bsky THEN {_FEDI_TEXT} || ', ' || {_BSKY_TEXT}
            WHEN has_fedi THEN {_FEDI_TEXT}
            ELSE {_BSKY_TEXT} END
    || ']}}')::json"""

_DOCS = {"inline": _DOC_TEXT, "json": _DOC_JSON, "update": "NULL"}

_INSERT_ENTRIES = """
INSERT INTO entries (id, x_account_id, x_handle, display_name, name_key, status,
                     x_proof_method, x_proof_level, consent_listed, consent_public,
                     created_at, updated_at, published_at, doc)
OVERRIDING SYSTEM VALUE
SELECT id, x_account_id, x_handle, display_name, name_key, 'published',
       'vouched', 1, true, true, ts, ts, ts, {doc}
FROM ({source}) AS src0
CROSS JOIN LATERAL (SELECT {ts_json} AS tsj) AS t
"""

_INSERT_ACCOUNTS = f"""
INSERT INTO accounts (entry_id, network, handle, handle_key, profile_url, proof_method,
                      verified_at, is_primary)
SELECT src.id, a.network, a.handle, lower(a.handle), a.url, 'vouched', src.ts, true
FROM ({_SOURCE}) AS src
CROSS JOIN LATERAL (VALUES
    ('fediverse'::network, src.fedi_handle, src.fedi_url, src.has_fedi),
    ('bluesky'::network, src.bsky_handle, 'https://bsky.app/profile/' || src.bsky_handle,
     src.has_bsky)
) AS a(network, handle, url, present)
WHERE a.present
"""

_INSERT_PROOFS = """
INSERT INTO proofs (entry_id, method, level, statement, recorded_by)
SELECT g, 'vouched', 1, 'vouched for by the benchmark organisation', 'bench:generate'
FROM generate_series($1::bigint, $2::bigint) AS g
"""

_INSERT_CONSENTS = """
INSERT INTO consents (entry_id, purpose, granted, text_version, source)
SELECT g, p.purpose, true, '2026-11-v1', 'organisation'
FROM generate_series($1::bigint, $2::bigint) AS g
CROSS JOIN unnest('{listed,public}'::consent_purpose[]) AS p(purpose)
"""

_TABLES = ("entries", "accounts", "proofs", "consents")

# Indexes that are not behind a constraint: dropped before the load, rebuilt after.
_SECONDARY_INDEXES = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition,
       i.indrelid::regclass::text AS table_name,
       am.amname AS method
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam
WHERE i.indrelid = ANY($1::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY 1
"""

# Relations to load into shared buffers after the load, hottest last (they evict the heap).
_PREWARM_HEAPS = ("accounts", "entries")
_PREWARM_INDEXES = (
    "accounts_handle_key",
    "entries_pkey",
    "entries_public_name_trgm",
    "entries_public_name",
    "entries_public_x_handle",
    "entries_published_x_account_id",
)


def with_database(dsn: str, name: str) -> str:
    parts = urllib.parse.urlsplit(dsn)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def database_of(dsn: str) -> str:
    return urllib.parse.urlsplit(dsn).path.lstrip("/")


class Steps:
    """Timed steps, printed as they finish and kept for the results file."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def add(self, step: str, seconds: float, note: str = "") -> None:
        self.rows.append((step, seconds, note))
        print(f"  {step:<48} {seconds:8.1f} s  {note}", flush=True)


async def recreate_database(dsn: str) -> None:
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        name = database_of(dsn)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def stage_prefixes(conn: asyncpg.Connection, stems: list[names.Prefix]) -> None:
    strings = [text for s in stems for text in (s.display_name, s.camel)] + names.RARE_NAMES
    if any(ch in text for text in strings for ch in '"\\'):
        raise ValueError("generated names must need no JSON escaping (see _DOC_TEXT)")
    await conn.execute(
        """CREATE SCHEMA IF NOT EXISTS bench;
           CREATE TABLE bench.prefixes (k integer PRIMARY KEY, lower text NOT NULL,
               camel text NOT NULL, display_name text NOT NULL, name_key text NOT NULL);
           CREATE TABLE bench.meta (entries bigint, seed integer, doc_method text,
               generated_at timestamptz DEFAULT now(), steps jsonb)"""
    )
    await conn.copy_records_to_table(
        "prefixes",
        schema_name="bench",
        records=[(k, s.lower, s.camel, s.display_name, s.name_key) for k, s in enumerate(stems, 1)],
    )
    await conn.execute("ANALYZE bench.prefixes")


def source_args(first: int, last: int, stems: int, seed: int) -> list[Any]:
    rare_keys = [ids.search_key(name) for name in names.RARE_NAMES]
    return [
        first,
        last,
        stems,
        names.FEDIVERSE_HOSTS,
        names.RARE_NAMES,
        rare_keys,
        LEGACY_PERCENT,
        seed,
    ]


async def load_rows(
    dsn: str,
    *,
    entries: int,
    stems: int,
    seed: int,
    chunk: int,
    jobs: int,
    doc_method: str,
    history: bool,
    steps: Steps,
) -> None:
    """Insert entries and accounts, `chunk` rows per statement.

    jobs == 1: one transaction that TRUNCATEs first, so that nothing is WAL-logged
    (wal_level=minimal). jobs > 1: that many connections at once, one transaction per chunk
    (WAL-logged, but both cores busy). Triggers (and foreign-key checks) are off throughout.
    """
    insert_entries = _INSERT_ENTRIES.format(source=_SOURCE, doc=_DOCS[doc_method], ts_json=_TS_JSON)
    pending = [(lo, min(lo + chunk - 1, entries)) for lo in range(1, entries + 1, chunk)]
    totals = {"entries": 0.0, "accounts": 0.0, "entries rows": 0, "accounts rows": 0}
    done = 0

    async def insert(conn: asyncpg.Connection, lo: int, hi: int) -> None:
        nonlocal done
        for label, sql in (("entries", insert_entries), ("accounts", _INSERT_ACCOUNTS)):
            with Timer() as timer:
                status = await conn.execute(sql, *source_args(lo, hi, stems, seed))
            totals[label] += timer.seconds
            totals[f"{label} rows"] += int(status.split()[-1])
        done += hi - lo + 1
        print(f"    {done:,} of {entries:,} entries", file=sys.stderr, flush=True)

    async def prepare(conn: asyncpg.Connection) -> None:
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("SET LOCAL timezone = 'UTC'")  # entry_document() renders in it

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while pending:
                lo, hi = pending.pop(0)
                async with conn.transaction():
                    await prepare(conn)
                    await insert(conn, lo, hi)
        finally:
            await conn.close()

    with Timer() as whole:
        if jobs == 1:
            conn = await asyncpg.connect(dsn)
            try:
                async with conn.transaction():
                    await prepare(conn)
                    await conn.execute(f"TRUNCATE {', '.join(_TABLES)}")
                    for lo, hi in pending:
                        await insert(conn, lo, hi)
            finally:
                await conn.close()
        else:
            await asyncio.gather(*(worker() for _ in range(jobs)))
    for label in ("entries", "accounts"):
        rows = totals[f"{label} rows"]
        steps.add(f"insert {label} (sum over jobs)", totals[label], f"{rows:,} rows")
    steps.add(f"insert entries and accounts ({jobs} at once, wall)", whole.seconds)

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await prepare(conn)
            if doc_method == "update":
                with Timer() as timer:
                    await conn.execute("UPDATE entries e SET doc = entry_document(e)")
                steps.add("UPDATE entries SET doc = entry_document(e)", timer.seconds)
            if history:
                for label, sql in (("proofs", _INSERT_PROOFS), ("consents", _INSERT_CONSENTS)):
                    with Timer() as timer:
                        status = await conn.execute(sql, 1, entries)
                    steps.add(f"insert {label}", timer.seconds, status.split()[-1] + " rows")
            for table in _TABLES:
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" greatest((SELECT max(id) FROM {table}), 1))"
                )
    finally:
        await conn.close()


async def build_indexes(dsn: str, indexes: list[asyncpg.Record], jobs: int, steps: Steps) -> None:
    """Rebuild the dropped indexes, slowest (GIN) first, on `jobs` connections at once."""
    queue = sorted(indexes, key=lambda r: (r["method"] != "gin", r["table_name"] != "entries"))
    pending = list(queue)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while pending:
                index = pending.pop(0)
                with Timer() as timer:
                    await conn.execute(index["definition"])
                size = await conn.fetchval(
                    "SELECT pg_size_pretty(pg_relation_size($1::regclass))", index["name"]
                )
                steps.add(f"index {index['name']}", timer.seconds, size)
        finally:
            await conn.close()

    with Timer() as whole:
        await asyncio.gather(*(worker() for _ in range(max(1, jobs))))
    steps.add(f"all secondary indexes ({jobs} at once)", whole.seconds)


async def verify(conn: asyncpg.Connection, entries: int, seed: int) -> dict[str, int]:
    """Check a sample: doc equals entry_document(), name_key equals search_key(), handles."""
    rng = random.Random(seed)
    rare = list(range(names.RARE_AT, entries + 1, names.RARE_EVERY))[:200]
    sample = sorted({*rng.sample(range(1, entries + 1), min(entries, 3000)), *rare})
    different = await conn.fetchval(
        """SELECT count(*) FROM entries e WHERE id = ANY($1::bigint[])
           AND doc::text IS DISTINCT FROM entry_document(e)::text""",
        sample,
    )
    rows = await conn.fetch(
        """SELECT e.x_handle, e.display_name, e.name_key, e.x_account_id,
                  array_agg(a.network::text) AS networks, array_agg(a.handle) AS handles,
                  array_agg(a.handle_key) AS keys, array_agg(a.profile_url) AS urls
           FROM entries e JOIN accounts a ON a.entry_id = e.id
           WHERE e.id = ANY($1::bigint[]) GROUP BY e.id""",
        sample,
    )
    problems = 0
    for row in rows:
        if ids.search_key(row["display_name"]) != row["name_key"]:
            problems += 1
        if ids.parse_x_handle(row["x_handle"]) != row["x_handle"]:
            problems += 1
        for network, handle, key, url in zip(
            row["networks"], row["handles"], row["keys"], row["urls"], strict=True
        ):
            parsed = (
                ids.parse_fediverse_handle(handle)
                if network == "fediverse"
                else ids.parse_bluesky_handle(handle)
            )
            if isinstance(parsed, ids.Invalid) or (parsed.key, parsed.profile_url) != (key, url):
                problems += 1
    counts = await conn.fetchrow(
        """SELECT count(*) FILTER (WHERE x_account_id > 9007199254740992) AS above_2_53,
                  count(*) AS total FROM entries"""
    )
    assert counts is not None
    if different or problems or len(rows) != len(sample):
        raise SystemExit(
            f"verification failed: {different} documents differ from entry_document(),"
            f" {problems} bad names/handles, {len(sample) - len(rows)} entries without accounts"
        )
    return {
        "sampled": len(sample),
        "above_2_53": int(counts["above_2_53"]),
        "total": int(counts["total"]),
    }


async def prewarm(conn: asyncpg.Connection, steps: Steps) -> None:
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    with Timer() as timer:
        blocks = 0
        for relation in (*_PREWARM_HEAPS, *_PREWARM_INDEXES):
            exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", relation)
            if exists:
                blocks += await conn.fetchval("SELECT pg_prewarm($1::regclass, 'buffer')", relation)
    steps.add("pg_prewarm (heaps, then hot indexes)", timer.seconds, f"{blocks * 8 // 1024} MB")


async def maintain(args: argparse.Namespace) -> None:
    """--migrate-only and --prewarm-only: work on the loaded database, keep its rows."""
    dsn = database_dsn(args.dsn)
    steps = Steps()
    conn = await asyncpg.connect(dsn)
    try:
        if args.migrate_only:
            with Timer() as timer:
                applied = await apply_migrations(conn)
            names_applied = ", ".join(m.name for m in applied) or "none pending"
            steps.add("apply pending migrations", timer.seconds, names_applied)
        if args.prewarm_only:
            await prewarm(conn, steps)
    finally:
        await conn.close()


async def generate(args: argparse.Namespace) -> None:
    dsn = database_dsn(args.dsn)
    if not database_of(dsn).startswith("hirondelle_bench") and not args.force:
        raise SystemExit(f"refusing to drop {database_of(dsn)!r}: not a hirondelle_bench database")
    steps = Steps()
    print(f"generating {args.entries:,} entries in {dsn} (doc: {args.doc})", flush=True)
    with Timer() as total:
        with Timer() as timer:
            await recreate_database(dsn)
            conn = await asyncpg.connect(dsn)
            await apply_migrations(conn)
        steps.add("create database, apply migrations", timer.seconds)
        try:
            with Timer() as timer:
                stems = names.prefixes_for(args.entries, args.seed)
                await stage_prefixes(conn, stems)
            steps.add("handle stems (bench.prefixes)", timer.seconds, f"{len(stems):,} stems")
            indexes = await conn.fetch(_SECONDARY_INDEXES, list(_TABLES))
            if not args.keep_indexes:
                for index in indexes:
                    await conn.execute(f"DROP INDEX {index['name']}")
            for table in _TABLES:  # our VACUUM follows the load; no autovacuum during it
                await conn.execute(f"ALTER TABLE {table} SET (autovacuum_enabled = false)")
            await load_rows(
                dsn,
                entries=args.entries,
                stems=len(stems),
                seed=args.seed,
                chunk=args.chunk,
                jobs=args.load_jobs,
                doc_method=args.doc,
                history=args.history,
                steps=steps,
            )
            if not args.keep_indexes:
                await build_indexes(dsn, list(indexes), args.index_jobs, steps)
            with Timer() as timer:
                for table in _TABLES:
                    await conn.execute(f"ALTER TABLE {table} RESET (autovacuum_enabled)")
                    await conn.execute(f"VACUUM (FREEZE, ANALYZE) {table}")
            steps.add("VACUUM (FREEZE, ANALYZE)", timer.seconds)
            with Timer() as timer:
                await conn.execute("CHECKPOINT")  # and recycle the load's WAL
            steps.add("CHECKPOINT", timer.seconds)
            with Timer() as timer:
                checked = await verify(conn, args.entries, args.seed)
            steps.add("verify a sample", timer.seconds, json.dumps(checked))
            await prewarm(conn, steps)
            sizes = await conn.fetch(
                """SELECT relname AS table, pg_size_pretty(pg_table_size(oid)) AS heap,
                          pg_size_pretty(pg_indexes_size(oid)) AS indexes
                   FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname""",
                list(_TABLES),
            )
            database_size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            )
            await conn.execute(
                "INSERT INTO bench.meta (entries, seed, doc_method, steps) VALUES ($1, $2, $3, $4)",
                args.entries,
                args.seed,
                args.doc,
                json.dumps([list(row) for row in steps.rows]),
            )
        finally:
            await conn.close()
    steps.add("total", total.seconds)
    print()
    print_table(["step", "seconds", "note"], [(s, f"{t:.1f}", n) for s, t, n in steps.rows])
    print()
    print_table(["table", "heap", "indexes"], [tuple(row) for row in sizes])
    print(f"\ndatabase size: {database_size}")
    write_results(
        f"generate-{args.entries}",
        {
            "entries": args.entries,
            "doc_method": args.doc,
            "history": args.history,
            "keep_indexes": args.keep_indexes,
            "index_jobs": args.index_jobs,
            "load_jobs": args.load_jobs,
            "steps": [{"step": s, "seconds": round(t, 2), "note": n} for s, t, n in steps.rows],
            "sizes": [dict(row) for row in sizes],
            "database_size": database_size,
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--doc", choices=sorted(_DOCS), default="inline")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per INSERT")
    parser.add_argument(
        "--load-jobs",
        type=int,
        default=2,
        help="connections inserting at once (1: one WAL-less transaction)",
    )
    parser.add_argument("--index-jobs", type=int, default=2, help="indexes built at once")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="load with the indexes in place (slower)"
    )
    parser.add_argument(
        "--history", action="store_true", help="also fill proofs (1/entry) and consents (2/entry)"
    )
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    parser.add_argument("--force", action="store_true", help="allow any database name")
    parser.add_argument(
        "--migrate-only",
        action="store_true",
        help="apply the source tree's pending migrations to the loaded database, nothing else",
    )
    parser.add_argument(
        "--prewarm-only",
        action="store_true",
        help="only load the data set into memory again (after a restart)",
    )
    args = parser.parse_args(argv)
    if args.entries < 1:
        parser.error("--entries must be at least 1")
    if args.migrate_only or args.prewarm_only:
        asyncio.run(maintain(args))
    else:
        asyncio.run(generate(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
