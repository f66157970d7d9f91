"""Bulk match benchmark: 5,000 and 100,000 X ids, all hits and half hits.

    python -m bench.match                 # 7 repetitions after 2 warm-up runs
    python -m bench.match --reps 11 --no-http

For each id set, measured in turn in every repetition (HTTP after the others, see run()):

* `bare`: `SELECT x_account_id, doc FROM entries WHERE x_account_id = ANY($1::bigint[]) AND
  status = 'published'`, one statement on one connection (the floor: what PostgreSQL and
  asyncpg cost);
* `service`: `directory.services.lookup.match_x_account_ids(pool, ids_as_strings)` on the
  application's own pool (directory.db.create_pool): parsing, chunking, parallel queries;
* `parse`: the service's id parsing alone (`lookup._parse_id_list`), to locate the time;
* `http`: POST /api/directory/v1/match to the real app under uvicorn, end to end (request
  body prepared in advance; the whole response read).

Ids are drawn uniformly over the whole table (random entry ids), misses are random
snowflake-like ids known to be absent. Reported: medians, and ratios to `bare`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import gc
import http.client
import random
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg
import orjson

from bench.common import (
    entry_count,
    median,
    missing_x_ids,
    print_table,
    sample_x_ids,
    write_results,
)
from bench.processes import running
from bench.server import database_dsn
from directory import db
from directory.services import lookup

MATCH_PATH = "/api/directory/v1/match"
# The published filter lets PostgreSQL use the partial index entries_published_x_account_id
# (there is no index on x_account_id alone): the same index the application's query uses.
_BARE = (
    "SELECT x_account_id, doc FROM entries"
    " WHERE x_account_id = ANY($1::bigint[]) AND status = 'published'"
)
TARGETS_MS = {5_000: 30.0, 100_000: 300.0}


@dataclasses.dataclass(frozen=True)
class IdSet:
    name: str
    ids: list[int]
    hits: int

    @property
    def strings(self) -> list[str]:
        return [str(x) for x in self.ids]


def id_sets(hits: list[int], misses: list[int], sizes: list[int], seed: int) -> list[IdSet]:
    rng = random.Random(seed)
    found: list[IdSet] = []
    for size in sizes:
        found.append(IdSet(f"{size:,} ids, all hits", hits[:size], size))
        half = size // 2
        mixed = hits[:half] + misses[: size - half]
        rng.shuffle(mixed)
        found.append(IdSet(f"{size:,} ids, 50% hits", mixed, half))
    return found


def post(port: int, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", MATCH_PATH, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


async def patched(action: Callable[[], Awaitable[object]], chunk: int, parallelism: int) -> object:
    """Run the service with other values of lookup.MATCH_CHUNK and MATCH_PARALLELISM."""
    saved = lookup.MATCH_CHUNK, lookup.MATCH_PARALLELISM
    lookup.MATCH_CHUNK, lookup.MATCH_PARALLELISM = chunk, parallelism
    try:
        return await action()
    finally:
        lookup.MATCH_CHUNK, lookup.MATCH_PARALLELISM = saved


def sweep_item(text: str) -> tuple[int, int]:
    chunk, _, parallelism = text.partition("x")
    return int(chunk), int(parallelism or 1)


async def timed(action: Callable[[], Awaitable[object]]) -> tuple[float, object]:
    start = time.perf_counter()
    result = await action()
    return time.perf_counter() - start, result


async def run(args: argparse.Namespace) -> None:
    dsn = database_dsn(args.dsn)
    sizes = sorted(args.sizes)
    conn = await asyncpg.connect(dsn)
    try:
        entries = await entry_count(conn)
        hits = await sample_x_ids(conn, max(sizes), seed=11)
        misses = await missing_x_ids(conn, max(sizes), seed=12)
    finally:
        await conn.close()
    sets = id_sets(hits, misses, sizes, seed=13)
    print(f"{entries:,} entries; {args.reps} repetitions after {args.warmup} warm-up runs")

    pool = await db.create_pool(dsn)
    bare_conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    parse_ids = getattr(lookup, "_parse_id_list", None)
    times: dict[tuple[str, str], list[float]] = {}
    try:
        with running("app", dsn, args.server_cpus, "/api/directory/v1/openapi.json") as app:
            for id_set in sets:
                strings = id_set.strings
                body = orjson.dumps({"x_account_ids": strings})

                async def bare(ids: list[int] = id_set.ids) -> object:
                    return await bare_conn.fetch(_BARE, ids)

                async def service(strings: list[str] = strings) -> object:
                    return await lookup.match_x_account_ids(pool, strings)

                async def parse(strings: list[str] = strings) -> object:
                    return parse_ids(strings) if parse_ids is not None else None

                async def over_http(body: bytes = body, port: int = app.port) -> object:
                    return post(port, body)

                kinds: dict[str, Callable[[], Awaitable[object]]] = {
                    "bare": bare,
                    "service": service,
                }
                if parse_ids is not None:
                    kinds["parse"] = parse
                if args.http:
                    kinds["http"] = over_http
                for chunk, parallelism in args.sweep:
                    kinds[f"service {chunk}x{parallelism}"] = functools.partial(
                        patched, service, chunk, parallelism
                    )
                # Check the answers once, then warm up.
                rows = await bare()
                assert isinstance(rows, list)
                assert len(rows) == id_set.hits, (len(rows), id_set.hits)
                result = await service()
                assert isinstance(result, lookup.MatchResult)
                assert len(result.docs) == id_set.hits, (len(result.docs), id_set.hits)
                if args.http:
                    status, payload = post(app.port, body)
                    assert status == 200, status
                    matches = len(orjson.loads(payload)["matches"])
                    assert matches == id_set.hits, matches
                    del payload
                # Keep no big object graph alive while timing: the parsed 100,000-document
                # answer, kept by mistake once, made every later run ~20 % slower (the garbage
                # collector walks it each time the decoding of 100,000 rows triggers it).
                del rows, result
                gc.collect()
                # In-process kinds interleaved, then HTTP on its own.
                phases = [{k: a for k, a in kinds.items() if k != "http"}]
                if "http" in kinds:
                    phases.append({"http": kinds["http"]})
                for phase in phases:
                    for _ in range(args.warmup):
                        for action in phase.values():
                            await action()
                    for _ in range(args.reps):
                        for kind, action in phase.items():
                            seconds, result = await timed(action)
                            del result
                            times.setdefault((id_set.name, kind), []).append(seconds)
                line = "  ".join(
                    f"{kind} {median(times[(id_set.name, kind)]) * 1000:.1f} ms" for kind in kinds
                )
                print(f"  {id_set.name:<24} {line}", flush=True)
    finally:
        await bare_conn.close()
        await pool.close()
    report(args, entries, sets, times)


def report(
    args: argparse.Namespace,
    entries: int,
    sets: list[IdSet],
    times: dict[tuple[str, str], list[float]],
) -> None:
    kinds = [k for k in ("bare", "service", "parse", "http") if any(t[1] == k for t in times)]
    kinds += sorted({t[1] for t in times} - set(kinds))
    rows = []
    summary = []
    for id_set in sets:
        med = {k: median(times[(id_set.name, k)]) * 1000 for k in kinds}
        row: list[object] = [id_set.name]
        for kind in kinds:
            row.append(f"{med[kind]:.1f}")
        row.append(f"{med['service'] / med['bare']:.2f}")
        if "http" in med:
            row.append(f"{med['http'] / med['bare']:.2f}")
        size = len(id_set.ids)
        target = TARGETS_MS.get(size)
        verdict = "" if target is None else ("met" if med["service"] <= target else "NOT met")
        row.append(f"≤ {target:.0f} ms: {verdict}" if target else "")
        rows.append(row)
        summary.append(
            {
                "set": id_set.name,
                "ids": size,
                "hits": id_set.hits,
                "median_ms": {k: round(v, 2) for k, v in med.items()},
                "all_ms": {k: [round(t * 1000, 2) for t in times[(id_set.name, k)]] for k in kinds},
                "service_over_bare": round(med["service"] / med["bare"], 3),
                "target_ms": target,
                "service_target_met": None if target is None else med["service"] <= target,
            }
        )
    headers = ["id set", *(f"{k} ms" for k in kinds), "service/bare"]
    if "http" in kinds:
        headers.append("http/bare")
    headers.append("service target")
    print()
    print_table(headers, rows)
    write_results(
        f"match-{entries}",
        {"entries": entries, "reps": args.reps, "warmup": args.warmup, "sets": summary},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.match", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    parser.add_argument("--no-http", dest="http", action="store_false")
    parser.add_argument(
        "--sweep",
        type=sweep_item,
        nargs="*",
        default=[],
        metavar="CHUNKxPARALLELISM",
        help="also time the service with these MATCH_CHUNK x MATCH_PARALLELISM, e.g. 100000x1",
    )
    parser.add_argument("--server-cpus", default="", help="taskset list for uvicorn ('' = any)")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
