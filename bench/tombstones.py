"""What the actor endpoint's 404/410 path costs as withdrawn entries accumulate (scratch database).

    python -m bench.tombstones                            # 10k, 100k and 1M tombstones
    python -m bench.tombstones --counts 100000 --keep     # keep the scratch database

`GET /x/<x_id>` for an entry that is not findable (unknown, withdrawn, or published without
the `findable` consent) runs, after the actor query, `store.federation._tombstone`:
`SELECT max(withdrawn_at) FROM entries WHERE x_account_id = $1 AND origin_host IS NULL AND
status = 'withdrawn'`. No index of migrations/ has x_account_id for withdrawn rows
(`entries_local_x_account_id` and `entries_published_x_account_id` exclude them), so the
planner reads `entries_tombstones (withdrawn_at)`, i.e. every tombstone.

The 10M benchmark database has no tombstone, so this runs in a scratch database
(`<bench database>_tombstones`, dropped afterwards unless --keep) with the real migrations,
1,000 findable entries and N withdrawn ones (as `store.entries` leaves them: no handle, no
name, consents off). For each N it times the statement for an unknown X id and for a
withdrawn one (median of --reps, server-side time from EXPLAIN ANALYZE and round trip from
the client), then again with the index the fix would add:
`CREATE INDEX … ON entries (x_account_id) WHERE status = 'withdrawn'`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.parse

import asyncpg

from bench.common import print_table, write_results
from bench.server import database_dsn
from directory.migrate import apply_migrations

TOMBSTONE = """SELECT max(withdrawn_at) FROM entries WHERE x_account_id = $1 AND origin_host IS NULL
           AND status = 'withdrawn'"""  # directory/store/federation.py _tombstone
INDEX = "CREATE INDEX entries_tombstones_x_id ON entries (x_account_id) WHERE status = 'withdrawn'"


def scratch_dsn(dsn: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(dsn)
    name = parts.path.lstrip("/") + "_tombstones"
    return urllib.parse.urlunsplit(parts._replace(path="/" + name)), name


async def fill(conn: asyncpg.Connection, tombstones: int, first: int) -> None:
    """Add withdrawn entries with X ids first+1 … first+tombstones."""
    await conn.execute(
        """INSERT INTO entries (x_account_id, status, withdrawn_at, created_at, updated_at)
           SELECT g, 'withdrawn', now() - (g % 1000) * interval '1 hour', now(), now()
           FROM generate_series($1::bigint + 1, $1::bigint + $2) AS g""",
        first,
        tombstones,
    )
    await conn.execute("VACUUM (ANALYZE) entries")


async def timed(conn: asyncpg.Connection, x_id: int, reps: int) -> tuple[float, float]:
    """(median server ms from EXPLAIN ANALYZE, median round trip ms) of the statement."""
    statement = await conn.prepare(TOMBSTONE)
    await statement.fetchval(x_id)
    trips, servers = [], []
    for _ in range(reps):
        start = time.perf_counter()
        await statement.fetchval(x_id)
        trips.append((time.perf_counter() - start) * 1000)
        plan = await conn.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + TOMBSTONE.replace("$1", str(int(x_id)))
        )
        servers.append(float(json.loads(plan)[0]["Execution Time"]))
    return statistics.median(servers), statistics.median(trips)


async def run(args: argparse.Namespace) -> None:
    dsn = database_dsn(args.dsn)
    scratch, name = scratch_dsn(dsn)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    rows: list[tuple[int, str, float, float]] = []
    try:
        conn = await asyncpg.connect(scratch, server_settings={"jit": "off"})
        try:
            await apply_migrations(conn)
            await conn.execute(
                """INSERT INTO entries (x_account_id, x_handle, display_name, name_key, status,
                       x_proof_method, x_proof_level, consent_listed, consent_findable,
                       published_at)
                   SELECT 10000000000 + g, 'live' || g, 'Live ' || g, 'live ' || g, 'published',
                          'vouched', 1, true, true, now()
                   FROM generate_series(1, 1000) AS g"""
            )
            total = 0
            for count in sorted(args.counts):
                start = time.perf_counter()
                await fill(conn, count - total, total)
                total = count
                print(f"{total:,} tombstones ({time.perf_counter() - start:.1f} s)", flush=True)
                for indexed in (False, True):
                    if indexed:
                        await conn.execute(INDEX)
                        await conn.execute("ANALYZE entries")
                    for case, x_id in (("unknown X id", 2**62), ("withdrawn", total // 2)):
                        server_ms, trip_ms = await timed(conn, x_id, args.reps)
                        label = f"{case}{', with the index' if indexed else ''}"
                        rows.append((total, label, server_ms, trip_ms))
                        print(
                            f"  {label:<32} server {server_ms:8.3f} ms, round trip"
                            f" {trip_ms:8.3f} ms",
                            flush=True,
                        )
                    if indexed:
                        await conn.execute("DROP INDEX entries_tombstones_x_id")
        finally:
            await conn.close()
    finally:
        if not args.keep:
            admin = await asyncpg.connect(dsn)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            finally:
                await admin.close()
    print()
    print_table(
        ["tombstones", "GET /x/<id> miss", "_tombstone, server ms", "round trip ms"],
        [(f"{n:,}", label, f"{s:.3f}", f"{t:.3f}") for n, label, s, t in rows],
    )
    write_results(
        "tombstones",
        {
            "reps": args.reps,
            "rows": [
                {
                    "tombstones": n,
                    "case": label,
                    "server_ms": round(s, 3),
                    "round_trip_ms": round(t, 3),
                }
                for n, label, s, t in rows
            ],
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tombstones", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--counts", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
