"""Search latency: `directory.services.lookup.search(pool, q, limit=20, cursor=None)`.

    python -m bench.search               # 25 timed runs per query after 2 warm-up runs
    python -m bench.search --runs 50 --query "marie dupont" --query jo

Queries cover common names and prefixes, rare names, one- and two-letter prefixes, fuzzy
misspellings and a miss. Reported per query: median and p95 latency (server side, on the
application's pool, no HTTP), and how many results came back. The slowest query (and any
--explain query) is then EXPLAINed (ANALYZE, BUFFERS) with the exact SQL and parameters the
service sent (captured through a recording pool): once as a custom plan and once as
PostgreSQL plans it after six executions of the prepared statement (what asyncpg's statement
cache gets). The plans are saved to bench/results/search-explain-<entries>.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import sys
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg

from bench.common import RESULTS, entry_count, median, percentile, print_table, write_results
from bench.server import database_dsn
from directory import db
from directory.services import lookup

# (category, query); "handle" is filled with an existing X handle at run time.
QUERIES: list[tuple[str, str]] = [
    ("common", "marie"),
    ("common", "jean"),
    ("common", "dupont"),
    ("common", "martin"),
    ("common", "marie dupont"),
    ("common", "john smith"),
    ("rare", "ysolde"),
    ("rare", "kerhervé"),
    ("rare", "perceval zwing"),
    ("rare", "handle"),
    ("short", "jo"),
    ("short", "ma"),
    ("short", "du"),
    ("short", "j"),
    ("fuzzy", "mari dupon"),
    ("fuzzy", "jon smth"),
    ("fuzzy", "dupond"),
    ("miss", "zzqxv"),
    ("miss", "qwxz kpl"),
]
TARGET_MS = 50.0  # median, for every category but "short"
SHORT_LIMIT_MS = 1000.0  # "two-letter queries must not take seconds"


class RecordingPool:
    """Passes fetch/fetchrow/fetchval to a pool and remembers the last statement and args."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.last: tuple[str, tuple[Any, ...]] | None = None

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> list[asyncpg.Record]:
        self.last = (query, args)
        return await self.pool.fetch(query, *args, **kwargs)

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> asyncpg.Record | None:
        self.last = (query, args)
        row: asyncpg.Record | None = await self.pool.fetchrow(query, *args, **kwargs)
        return row

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        self.last = (query, args)
        return await self.pool.fetchval(query, *args, **kwargs)

    async def execute(self, query: str, *args: Any) -> str:
        """Statements other than queries (the fuzzy tier's SET LOCAL) are not run here."""
        return "SKIPPED"

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[RecordingPool]:
        """The service borrows a connection: lend it this recorder."""
        yield self

    @contextlib.asynccontextmanager
    async def transaction(self, **_options: Any) -> AsyncIterator[None]:
        yield


@dataclasses.dataclass(frozen=True)
class Measured:
    category: str
    query: str
    seconds: list[float]
    results: int

    @property
    def median_ms(self) -> float:
        return median(self.seconds) * 1000

    @property
    def p95_ms(self) -> float:
        return percentile(self.seconds, 0.95) * 1000

    @property
    def target_ms(self) -> float:
        return SHORT_LIMIT_MS if self.category == "short" else TARGET_MS

    @property
    def met(self) -> bool:
        return self.median_ms <= self.target_ms


async def measure(
    pool: asyncpg.Pool, category: str, query: str, runs: int, warmup: int
) -> Measured:
    for _ in range(warmup):
        await lookup.search(pool, query, limit=20, cursor=None)
    seconds = []
    results = 0
    for _ in range(runs):
        start = time.perf_counter()
        page = await lookup.search(pool, query, limit=20, cursor=None)
        seconds.append(time.perf_counter() - start)
        results = len(page.docs)
    return Measured(category, query, seconds, results)


async def explain(dsn: str, pool: asyncpg.Pool, query: str) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) the statement `search` sends for `query`, two ways."""
    recorder = RecordingPool(pool)
    await lookup.search(cast(asyncpg.Pool, recorder), query, limit=20, cursor=None)
    assert recorder.last is not None
    sql, args = recorder.last
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    try:
        custom = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", *args)
        literals = [await conn.fetchval("SELECT quote_nullable($1::text)", str(a)) for a in args]
        await conn.execute(f"PREPARE bench_search AS {sql}")
        execute = f"EXECUTE bench_search({', '.join(literals)})"
        for _ in range(6):
            await conn.execute(execute)
        cached = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
    finally:
        await conn.close()
    return "\n".join(
        [
            f"-- search(q={query!r}, limit=20): the statement sent by the service",
            sql.strip(),
            f"-- parameters: {args!r}",
            "",
            "-- EXPLAIN (ANALYZE, BUFFERS), custom plan for these parameters:",
            *(row[0] for row in custom),
            "",
            "-- EXPLAIN (ANALYZE, BUFFERS) EXECUTE after 6 executions of PREPARE"
            " (the plan asyncpg's cached statement gets):",
            *(row[0] for row in cached),
            "",
        ]
    )


async def run(args: argparse.Namespace) -> None:
    dsn = database_dsn(args.dsn)
    pool = await db.create_pool(dsn)
    try:
        async with pool.acquire() as conn:
            entries = await entry_count(conn)
            handle = await conn.fetchval(
                "SELECT x_handle FROM entries WHERE id = (SELECT max(id) / 3 FROM entries)"
            )
        queries = [("custom", q) for q in args.query] if args.query else QUERIES
        queries = [(c, handle if q == "handle" else q) for c, q in queries]
        print(f"{entries:,} entries; {args.runs} runs per query after {args.warmup} warm-up runs")
        measured: list[Measured] = []
        for category, query in queries:
            found = await measure(pool, category, query, args.runs, args.warmup)
            measured.append(found)
            print(
                f"  {category:<6} {query!r:<18} median {found.median_ms:7.2f} ms"
                f"  p95 {found.p95_ms:7.2f} ms  {found.results} results",
                flush=True,
            )
        slowest = max(measured, key=lambda m: m.median_ms)
        explained = [slowest.query, *(q for q in args.explain or [] if q != slowest.query)]
        plans = "\n".join([await explain(dsn, pool, q) for q in explained])
    finally:
        await pool.close()
    RESULTS.mkdir(exist_ok=True)
    plan_file = RESULTS / f"search-explain-{entries}.txt"
    plan_file.write_text(plans)
    print()
    print_table(
        ["category", "query", "median ms", "p95 ms", "results", "target"],
        [
            (
                m.category,
                f"`{m.query}`",
                f"{m.median_ms:.2f}",
                f"{m.p95_ms:.2f}",
                m.results,
                f"≤ {m.target_ms:.0f} ms: {'met' if m.met else 'NOT met'}",
            )
            for m in measured
        ],
    )
    print(f"\nslowest: {slowest.query!r}; plans in {plan_file}")
    write_results(
        f"search-{entries}",
        {
            "entries": entries,
            "runs": args.runs,
            "queries": [
                {
                    "category": m.category,
                    "query": m.query,
                    "median_ms": round(m.median_ms, 3),
                    "p95_ms": round(m.p95_ms, 3),
                    "results": m.results,
                    "target_ms": m.target_ms,
                    "met": m.met,
                }
                for m in measured
            ],
            "slowest": slowest.query,
            "explain_file": plan_file.name,
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--query", action="append", help="run only these queries (repeatable)")
    parser.add_argument("--explain", action="append", help="also EXPLAIN this query (repeatable)")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
