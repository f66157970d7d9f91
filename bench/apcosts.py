"""Where WebFinger's and the actor fetch's cost goes: PostgreSQL per statement, app in-process.

    python -m bench.apcosts                    # ~2 min
    python -m bench.apcosts --statements 20000 --requests 20000

1. PostgreSQL CPU per statement: each query form prepared once and run --statements times
   serially on one connection (keys from the findable sample of bench/findable.py, warm),
   the backend's utime + stime from /proc. Forms: bare's lookup, the actor query
   (`store.federation._ACTOR` by X id) and the same without the accounts aggregate or without
   the key join, and WebFinger's query (`store.federation.findable_id_by_handle`'s SQL when
   the module has it, the two columns) against the full actor query by handle.
2. The application in-process (bench/asgi.py, no HTTP server), 16 requests in flight,
   --requests per variant, median of 3: CPU µs per request of this process (application plus
   the small driver) for the bare app, the actor fetch as it is, then with its service
   function replaced by cheaper stand-ins (the validated cache of bench/proposals.py, bare's
   query and a constant document, a constant document without a query), WebFinger as it is
   and with `resolve_resource` replaced by a constant, and /healthz. What disappears with
   each stand-in is what the replaced part costs.

This process runs on --cpus, the PostgreSQL backends it opens on --pg-cpus.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.applications import Starlette

from bench import proposals, serve
from bench.asgi import call, drive, started
from bench.common import TICKS_PER_SECOND, cpu_ticks, entry_count, print_table, write_results
from bench.findable import Findable, load_sample
from bench.processes import postgres_pinned
from bench.server import database_dsn
from directory.app import create_app
from directory.services import discovery
from directory.settings import load_settings
from directory.store import federation as store

DOMAIN = "localhost:8443"
_FINDABLE = "e.origin_host IS NULL AND e.status = 'published' AND e.consent_findable"
_NO_ACCOUNTS = f"""SELECT e.id, e.x_account_id, e.x_handle, e.display_name, e.created_at,
       e.consent_public, e.moved_to, k.public_pem
FROM entries e LEFT JOIN entry_keys k ON k.entry_id = e.id WHERE {_FINDABLE}"""
_NO_KEY = f"""SELECT e.id, e.x_account_id, e.x_handle, e.display_name, e.created_at,
       e.consent_public, e.moved_to,
       (SELECT json_agg(json_build_array(a.network, a.handle, a.profile_url,
                                         a.verified_at IS NOT NULL)
                        ORDER BY a.network, NOT a.is_primary, a.id)
        FROM accounts a WHERE a.entry_id = e.id)::text AS accounts
FROM entries e WHERE {_FINDABLE}"""
_TWO_COLUMNS = f"SELECT e.x_account_id, e.x_handle FROM entries e WHERE {_FINDABLE}"


async def statement_costs(
    dsn: str, sample: list[Findable], count: int
) -> list[tuple[str, float, float]]:
    """(form, PostgreSQL CPU µs per statement, client wall µs per statement)."""
    x_ids = [f.x_account_id for f in sample]
    handles = [f.x_handle.lower() for f in sample]
    forms: list[tuple[str, str, list[Any]]] = [
        ("bare: 3 columns by X id", serve._BARE_QUERY, x_ids),
        (
            "actor: store.federation._ACTOR by X id",
            store._ACTOR + " AND e.x_account_id = $1",
            x_ids,
        ),
        ("  … without the accounts json_agg", _NO_ACCOUNTS + " AND e.x_account_id = $1", x_ids),
        ("  … without the entry_keys join", _NO_KEY + " AND e.x_account_id = $1", x_ids),
        (
            "WebFinger: the full _ACTOR by handle",
            store._ACTOR + " AND e.x_handle_key = $1",
            handles,
        ),
        ("WebFinger: 2 columns by handle", _TWO_COLUMNS + " AND e.x_handle_key = $1", handles),
    ]
    conn = await asyncpg.connect(dsn, server_settings={"jit": "off"})
    results = []
    try:
        backend = int(await conn.fetchval("SELECT pg_backend_pid()"))
        for name, sql, keys in forms:
            statement = await conn.prepare(sql)
            for key in keys[:1000]:
                assert await statement.fetchrow(key) is not None, name
            ticks = cpu_ticks(backend)
            wall = asyncio.get_running_loop().time()
            for i in range(count):
                await statement.fetchrow(keys[i % len(keys)])
            wall = asyncio.get_running_loop().time() - wall
            pg_us = (cpu_ticks(backend) - ticks) * 1e6 / TICKS_PER_SECOND / count
            results.append((name, pg_us, wall * 1e6 / count))
            print(f"  {name:<42} PostgreSQL {pg_us:5.1f} µs", flush=True)
    finally:
        await conn.close()
    return results


async def _cpu_us(
    app: Starlette, paths: list[str], headers: dict[str, str], requests: int
) -> float:
    runs = []
    for _ in range(3):

        async def one(i: int) -> None:
            answer = await call(app, "GET", paths[i % len(paths)], headers)
            if answer.status != 200:
                raise SystemExit(f"{paths[i % len(paths)]} answered {answer.status}")

        runs.append((await drive(requests, 16, one)).cpu_us)
    return statistics.median(runs)


async def in_process(dsn: str, sample: list[Findable], requests: int) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []

    def note(name: str, value: float) -> None:
        results.append((name, value))
        print(f"  {name:<58} {value:6.1f} µs CPU/request", flush=True)

    bare = serve.bare_app(dsn)
    async with started(bare):
        paths = [f"{serve.BARE_PATH}{f.x_account_id}" for f in sample]
        note("bare app (1 fetchrow + JSONResponse)", await _cpu_us(bare, paths, {}, requests))
    settings = load_settings(
        {"DATABASE_URL": dsn, "HIRONDELLE_LOG_LEVEL": "warning", "HIRONDELLE_DOMAIN": DOMAIN}
    )
    app = create_app(settings, dsn=dsn)
    actor_headers = {"host": DOMAIN, "accept": "application/activity+json"}
    jrd_headers = {"host": DOMAIN, "accept": "application/jrd+json, application/json"}
    actor_paths = [f"/x/{f.x_account_id}" for f in sample]
    resource = "acct:{}@" + DOMAIN
    webfinger_paths = [
        "/.well-known/webfinger?resource="
        + urllib.parse.quote(resource.format(f.x_handle), safe="")
        for f in sample
    ]
    original_actor = discovery.entry_actor_document
    original_resolve = discovery.resolve_resource
    constant = {"id": f"https://{DOMAIN}/x/1", "type": "Person"}

    async def bare_query_constant(fed: Any, raw_x_id: str) -> dict[str, Any]:
        await fed.pool.fetchrow(serve._BARE_QUERY, int(raw_x_id))
        return constant

    async def constant_only(fed: Any, raw_x_id: str) -> dict[str, Any]:
        return constant

    stand_ins: list[tuple[str, Callable[[Any, str], Awaitable[dict[str, Any]]]]] = [
        ("app GET /x/{id} as it is", original_actor),
        ("  … with the validated actor cache (proposals actor-cache)", original_actor),
        ("  … service replaced by bare's query + a constant document", bare_query_constant),
        ("  … service replaced by a constant document, no query", constant_only),
    ]
    async with started(app):
        fed = app.state.federation
        try:
            for name, function in stand_ins:
                if "validated" in name:
                    function = proposals.cached_actor_documents(original_actor)
                discovery.entry_actor_document = function  # type: ignore[assignment]
                note(name, await _cpu_us(app, actor_paths, actor_headers, requests))
            discovery.entry_actor_document = original_actor
            note(
                "app WebFinger as it is",
                await _cpu_us(app, webfinger_paths, jrd_headers, requests),
            )
            found = await original_resolve(fed, resource.format(sample[0].x_handle))

            async def resolved(fed: Any, resource: str) -> discovery.Found:
                return found

            discovery.resolve_resource = resolved
            note(
                "  … resolve_resource replaced by a constant (no parse, no query)",
                await _cpu_us(app, webfinger_paths, jrd_headers, requests),
            )
            note("app GET /healthz", await _cpu_us(app, ["/healthz"], {"host": DOMAIN}, requests))
        finally:
            discovery.entry_actor_document = original_actor
            discovery.resolve_resource = original_resolve
    return results


async def _prepare(dsn: str) -> tuple[int, list[Findable]]:
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        if not sample:
            raise SystemExit("no findable sample: run `python -m bench.findable` first")
        return await entry_count(conn), sample
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apcosts", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--statements", type=int, default=20_000, help="executions per form")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per variant run")
    parser.add_argument("--cpus", default="1", help="CPUs for this process ('' = any)")
    parser.add_argument("--pg-cpus", default="0", help="taskset list for PostgreSQL backends")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    if args.cpus:
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
    dsn = database_dsn(args.dsn)
    entries, sample = asyncio.run(_prepare(dsn))
    with postgres_pinned(args.pg_cpus, dsn):
        print("PostgreSQL CPU per statement (serial, one connection):")
        statements = asyncio.run(statement_costs(dsn, sample, args.statements))
        print("the application in-process (16 in flight):")
        variants = asyncio.run(in_process(dsn, sample, args.requests))
    print()
    print_table(
        ["statement", "PostgreSQL CPU µs", "round trip µs"],
        [(name, f"{pg:.1f}", f"{wall:.0f}") for name, pg, wall in statements],
    )
    print()
    print_table(["in-process variant", "CPU µs/request"], [(n, f"{v:.0f}") for n, v in variants])
    write_results(
        f"apcosts-{entries}",
        {
            "entries": entries,
            "settings": {
                k: getattr(args, k) for k in ("statements", "requests", "cpus", "pg_cpus")
            },
            "statements": [
                {"form": n, "pg_cpu_us": round(pg, 1), "round_trip_us": round(w, 1)}
                for n, pg, w in statements
            ],
            "in_process_cpu_us": {n.strip(" …"): round(v, 1) for n, v in variants},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
