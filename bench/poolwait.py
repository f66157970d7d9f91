"""Where the actor fetch's p99 goes at 64 connections: waiting for one of the pool's connections.

    python -m bench.poolwait                       # pool sizes 10 (the default) and 64
    python -m bench.poolwait --sizes 10 20 64 --requests 40000

The real application in-process (bench/asgi.py, no HTTP server), `--concurrency` actor fetches
in flight (GET /x/<x_id>, Accept: application/activity+json, random ids of the findable sample
of bench/findable.py), with HIRONDELLE_DB_POOL_SIZE set to each size in turn. asyncpg's
`Pool._acquire` is wrapped to time every wait for a connection. Reported: req/s, request
latency p50/p99/max, and the acquire wait p50/p90/p99/max. This process is pinned to
--cpus; PostgreSQL is not pinned.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import uvloop
from asyncpg.pool import Pool

from bench.asgi import call, started
from bench.common import entry_count, percentile, print_table, write_results
from bench.findable import load_sample
from bench.server import database_dsn
from directory.app import create_app
from directory.settings import load_settings

DOMAIN = "localhost:8443"
_WAITS: list[float] = []


def _timed_acquire(original: Any) -> Any:
    async def acquire(self: Pool, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's)
        start = time.perf_counter()
        try:
            return await original(self, timeout)
        finally:
            _WAITS.append(time.perf_counter() - start)

    return acquire


async def one_size(
    dsn: str, x_ids: list[int], size: int, requests: int, concurrency: int
) -> dict[str, float]:
    settings = load_settings(
        {
            "DATABASE_URL": dsn,
            "HIRONDELLE_LOG_LEVEL": "warning",
            "HIRONDELLE_DOMAIN": DOMAIN,
            "HIRONDELLE_DB_POOL_SIZE": str(size),
        }
    )
    app = create_app(settings, dsn=dsn)
    headers = {"host": DOMAIN, "accept": "application/activity+json"}
    rng = random.Random(size)
    result: dict[str, float] = {}
    async with started(app):
        for count in (requests // 8, requests):  # a warm-up, then the measured run
            _WAITS.clear()
            latencies: list[float] = []
            numbers = iter(range(count))

            async def lane(numbers: Iterator[int], latencies: list[float]) -> None:
                for _ in numbers:
                    start = time.perf_counter()
                    answer = await call(app, "GET", f"/x/{rng.choice(x_ids)}", headers)
                    latencies.append(time.perf_counter() - start)
                    if answer.status != 200:
                        raise SystemExit(f"actor answered {answer.status}")

            start = time.perf_counter()
            await asyncio.gather(*(lane(numbers, latencies) for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
            result = {
                "pool_size": size,
                "rps": count / elapsed,
                "p50_ms": percentile(latencies, 0.5) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000,
                "max_ms": max(latencies) * 1000,
                "wait_p50_ms": percentile(_WAITS, 0.5) * 1000,
                "wait_p90_ms": percentile(_WAITS, 0.9) * 1000,
                "wait_p99_ms": percentile(_WAITS, 0.99) * 1000,
                "wait_max_ms": max(_WAITS) * 1000,
            }
    return result


async def prepare(dsn: str) -> tuple[int, list[int]]:
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        if not sample:
            raise SystemExit("no findable sample: run `python -m bench.findable` first")
        return await entry_count(conn), [f.x_account_id for f in sample]
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.poolwait", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 64])
    parser.add_argument("--requests", type=int, default=40_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--cpus", default="1", help="CPUs for this process ('' = any)")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    dsn = database_dsn(args.dsn)
    entries, x_ids = asyncio.run(prepare(dsn))
    Pool._acquire = _timed_acquire(Pool._acquire)  # type: ignore[attr-defined]
    rows = []
    for size in args.sizes:
        row = uvloop.run(one_size(dsn, x_ids, size, args.requests, args.concurrency))
        rows.append(row)
        print(
            f"  pool {size}: {row['rps']:,.0f} req/s, p99 {row['p99_ms']:.1f} ms,"
            f" acquire wait p99 {row['wait_p99_ms']:.1f} ms",
            flush=True,
        )
    print()
    print_table(
        [
            "pool",
            "req/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "wait p50",
            "wait p90",
            "wait p99",
            "wait max",
        ],
        [
            (
                int(r["pool_size"]),
                f"{r['rps']:,.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['max_ms']:.1f}",
                f"{r['wait_p50_ms']:.2f}",
                f"{r['wait_p90_ms']:.2f}",
                f"{r['wait_p99_ms']:.2f}",
                f"{r['wait_max_ms']:.1f}",
            )
            for r in rows
        ],
    )
    write_results(
        f"poolwait-{entries}",
        {
            "entries": entries,
            "settings": {k: getattr(args, k) for k in ("requests", "concurrency", "cpus")},
            "rows": [{k: round(v, 3) for k, v in r.items()} for r in rows],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
