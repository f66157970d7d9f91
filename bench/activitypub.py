"""ActivityPub surface over HTTP with wrk: WebFinger and actor fetches against the bare baseline.

    python -m bench.findable                                 # once: a findable sample with keys
    python -m bench.activitypub                              # 5 rounds of 15 s runs, -c64
    python -m bench.activitypub --runs 7 --connections 32

What a Mastodon server does when someone searches `@handle@directory` and opens the profile:

* `webfinger`: GET /.well-known/webfinger?resource=acct%3A<handle>%40localhost%3A<port>, with
  `Accept: application/jrd+json, application/json` (Mastodon's), a random handle of the
  findable sample per request (bench/findable.py);
* `actor`: GET /x/<x_id> with `Accept: application/activity+json`, a random X id of the sample;
* `bare`: the baseline of bench/lookup.py (bench/serve.py: bare Starlette, one asyncpg
  `fetchrow` by X id, a pool made like the application's) on the same sampled X ids.

The app runs with HIRONDELLE_DOMAIN=localhost:<port> and every request to it carries
`Host: localhost:<port>`. Servers, wrk and PostgreSQL are pinned as in bench/lookup.py
(uvicorn on --server-cpus, wrk and PostgreSQL backends on the other core). Each round runs the
three targets once (the order rotates every round), after a warm-up of each. Reported: req/s,
p50 and p99 (wrk's, not corrected for coordinated omission), CPU µs per request of the server
and of its PostgreSQL backends, and per round the ratios webfinger/bare and actor/bare; the
issue's targets are ≥ 0.85 of the baseline and p99 ≤ 25 ms at 64 connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import math
import shutil
import sys
import urllib.parse
from pathlib import Path

import asyncpg
import httpx

from bench import proposals, serve
from bench.common import WORK, entry_count, median, print_table, write_results
from bench.findable import Findable, load_sample
from bench.lookup import APPLICATION_NAMES, WrkResult, measured, run_wrk
from bench.processes import HttpServer, postgres_pinned, running
from bench.server import database_dsn

LUA = Path(__file__).parent / "paths.lua"
TARGETS = ("bare", "webfinger", "actor")
FIXED = ("webfinger-fix", "actor-fix")  # --proposals: the same requests to a patched app
JRD_ACCEPT = "application/jrd+json, application/json"  # activitypub/webfinger.py JRD_ACCEPT
AP_ACCEPT = "application/activity+json"
RATIO_TARGET = 0.85
P99_TARGET_MS = 25.0


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    server: HttpServer
    paths: Path
    headers: tuple[str, ...]  # "Name: value"
    application_name: str


@dataclasses.dataclass(frozen=True)
class Run:
    target: str
    round: int
    wrk: WrkResult
    server_us: float
    pg_us: float


def webfinger_path(handle: str, domain: str) -> str:
    resource = urllib.parse.quote(f"acct:{handle}@{domain}", safe="")
    return f"/.well-known/webfinger?resource={resource}"


def write_paths(name: str, paths: list[str]) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"activitypub-{name}-paths.txt"
    path.write_text("\n".join(paths) + "\n")
    return path


def check_answers(app: HttpServer, sample: list[Findable]) -> dict[str, int]:
    """One WebFinger and one actor fetch, checked as Mastodon would read them; body sizes."""
    domain = serve.app_domain(app.port)
    one = sample[0]
    with httpx.Client(base_url=app.url, headers={"Host": domain}, timeout=10) as client:
        jrd = client.get(webfinger_path(one.x_handle, domain), headers={"Accept": JRD_ACCEPT})
        actor = client.get(f"/x/{one.x_account_id}", headers={"Accept": AP_ACCEPT})
    if jrd.status_code != 200 or actor.status_code != 200:
        raise SystemExit(f"WebFinger {jrd.status_code}, actor {actor.status_code}: {jrd.text}")
    self_links = [link for link in jrd.json()["links"] if link["rel"] == "self"]
    document = actor.json()
    expected = f"https://{domain}/x/{one.x_account_id}"
    assert jrd.headers["content-type"].startswith("application/jrd+json"), jrd.headers
    assert [link["href"] for link in self_links] == [expected], self_links
    assert actor.headers["content-type"].startswith(AP_ACCEPT), actor.headers
    assert document["id"] == expected, document
    assert document["type"] == "Person", document
    assert document["publicKey"]["owner"] == expected, document["publicKey"]
    return {"webfinger_bytes": len(jrd.content), "actor_bytes": len(actor.content)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.activitypub", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--runs", type=int, default=5, help="rounds (each runs every target)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--server-cpus", default="1", help="taskset list for uvicorn ('' = any)")
    parser.add_argument("--wrk-cpus", default="0", help="taskset list for wrk ('' = any)")
    parser.add_argument("--pg-cpus", default="0", help="taskset list for PostgreSQL backends")
    parser.add_argument("--pool-size", type=int, default=10, help="both servers' pool size")
    parser.add_argument(
        "--proposals",
        nargs="?",
        const=",".join(proposals.DEFAULT),
        default="",
        help="also measure a third server with these fixes of bench/proposals.py applied"
        f" (comma-separated; default {','.join(proposals.DEFAULT)};"
        f" all: {','.join(proposals.PROPOSALS)})",
    )
    parser.add_argument("--tag", default="", help="results file: activitypub-<entries>-<tag>.json")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    dsn = database_dsn(args.dsn)
    entries, sample = asyncio.run(_sample(dsn))
    print(
        f"{entries:,} entries, {len(sample):,} findable; wrk -t{args.threads}"
        f" -c{args.connections} -d{args.duration}s; server on CPUs {args.server_cpus or 'any'},"
        f" wrk on {args.wrk_cpus or 'any'}, PostgreSQL backends on {args.pg_cpus or 'any'}",
        flush=True,
    )
    one = sample[0].x_account_id
    names = TARGETS + (FIXED if args.proposals else ())
    pool = ["--pool-size", str(args.pool_size)]
    fixes = ["--proposals", args.proposals] if args.proposals else []
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        stack.enter_context(postgres_pinned(args.pg_cpus, dsn))
        bare = stack.enter_context(
            running("bare", dsn, args.server_cpus, f"{serve.BARE_PATH}{one}", pool)
        )
        app = stack.enter_context(running("app", dsn, args.server_cpus, f"/x/{one}", pool))
        servers = {"app": app}
        if args.proposals:
            servers["fix"] = stack.enter_context(
                running("app", dsn, args.server_cpus, f"/x/{one}", pool + fixes)
            )
        sizes = check_answers(app, sample)
        if args.proposals:
            assert check_answers(servers["fix"], sample) == sizes
        targets = {
            "bare": Target(
                "bare",
                bare,
                write_paths("bare", [f"{serve.BARE_PATH}{f.x_account_id}" for f in sample]),
                (),
                APPLICATION_NAMES["bare"],
            )
        }
        for key, server in servers.items():
            domain = serve.app_domain(server.port)
            host = f"Host: {domain}"
            suffix = "" if key == "app" else "-fix"
            targets["webfinger" + suffix] = Target(
                "webfinger" + suffix,
                server,
                write_paths(
                    "webfinger" + suffix, [webfinger_path(f.x_handle, domain) for f in sample]
                ),
                (host, f"Accept: {JRD_ACCEPT}"),
                APPLICATION_NAMES["app"],
            )
            targets["actor" + suffix] = Target(
                "actor" + suffix,
                server,
                write_paths("actor" + suffix, [f"/x/{f.x_account_id}" for f in sample]),
                (host, f"Accept: {AP_ACCEPT}"),
                APPLICATION_NAMES["app"],
            )
        for target in targets.values():
            _wrk(args, target, args.warmup)
        for number in range(1, args.runs + 1):
            shift = (number - 1) % len(names)
            for name in names[shift:] + names[:shift]:
                target = targets[name]
                result, server_us, pg_us = measured(
                    dsn,
                    target.server.pid,
                    target.application_name,
                    functools.partial(_wrk, args, target, args.duration),
                )
                run = Run(name, number, result, server_us, pg_us)
                runs.append(run)
                print(
                    f"  {name:<13} #{number}: {result.rps:8.0f} req/s"
                    f"  p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms"
                    f"  server {server_us:.0f} µs/req  PostgreSQL {pg_us:.0f} µs/req"
                    f"  errors {result.errors}",
                    flush=True,
                )
    report(args, entries, len(sample), sizes, runs)
    return 0


async def _sample(dsn: str) -> tuple[int, list[Findable]]:
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        if not sample:
            raise SystemExit("no findable sample: run `python -m bench.findable` first")
        return await entry_count(conn), sample
    finally:
        await conn.close()


def _wrk(args: argparse.Namespace, target: Target, seconds: int) -> str:
    return run_wrk(args, target.server.url, seconds, LUA, [str(target.paths), *target.headers])


def report(
    args: argparse.Namespace,
    entries: int,
    findable: int,
    sizes: dict[str, int],
    runs: list[Run],
) -> None:
    def of(name: str) -> list[Run]:
        return sorted((r for r in runs if r.target == name), key=lambda r: r.round)

    names = [t for t in TARGETS + FIXED if any(r.target == t for r in runs)]
    summary: dict[str, dict[str, float]] = {}
    for name in names:
        mine = of(name)
        pg = [r.pg_us for r in mine if not math.isnan(r.pg_us)]
        summary[name] = {
            "rps": median([r.wrk.rps for r in mine]),
            "p50_ms": median([r.wrk.p50_ms for r in mine]),
            "p99_ms": median([r.wrk.p99_ms for r in mine]),
            "max_p99_ms": max(r.wrk.p99_ms for r in mine),
            "server_us": median([r.server_us for r in mine]),
            "pg_us": median(pg) if pg else math.nan,
            "errors": sum(r.wrk.errors for r in mine),
        }
    ratios = {
        name: [a.wrk.rps / b.wrk.rps for a, b in zip(of(name), of("bare"), strict=True)]
        for name in names
        if name != "bare"
    }
    print()
    print_table(
        ["round", "target", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "PG CPU µs/req"],
        [
            (
                r.round,
                r.target,
                f"{r.wrk.rps:,.0f}",
                f"{r.wrk.p50_ms:.2f}",
                f"{r.wrk.p99_ms:.2f}",
                f"{r.server_us:.0f}",
                f"{r.pg_us:.0f}",
            )
            for r in sorted(runs, key=lambda r: (r.round, names.index(r.target)))
        ],
    )
    print()
    rows = []
    for name, s in summary.items():
        if name == "bare":
            ratio, verdict = "", ""
        else:
            ratio = f"{median(ratios[name]):.2f}"
            met = median(ratios[name]) >= RATIO_TARGET and s["p99_ms"] <= P99_TARGET_MS
            verdict = "met" if met else "NOT met"
        rows.append(
            (
                name,
                f"{s['rps']:,.0f}",
                f"{s['p50_ms']:.2f}",
                f"{s['p99_ms']:.2f}",
                f"{s['server_us']:.0f}",
                f"{s['pg_us']:.0f}",
                ratio,
                verdict,
            )
        )
    print_table(
        [
            "target",
            "req/s (median)",
            "p50 ms",
            "p99 ms",
            "server CPU µs/req",
            "PG CPU µs/req",
            "/bare",
            f"≥ {RATIO_TARGET} and p99 ≤ {P99_TARGET_MS:.0f} ms",
        ],
        rows,
    )
    for name, values in ratios.items():
        cpu = summary[name]["server_us"] / summary["bare"]["server_us"]
        print(
            f"{name}/bare req/s per round: {', '.join(f'{v:.2f}' for v in values)}"
            f" (median {median(values):.2f}); server CPU per request {cpu:.2f} x bare's"
        )
    print(f"bodies: JRD {sizes['webfinger_bytes']} B, actor {sizes['actor_bytes']} B")
    errors = sum(s["errors"] for s in summary.values())
    if errors:
        print(f"WARNING: {errors:.0f} non-2xx answers or socket errors")
    write_results(
        f"activitypub-{entries}" + (f"-{args.tag}" if args.tag else ""),
        {
            "entries": entries,
            "findable": findable,
            "settings": {
                k: getattr(args, k)
                for k in (
                    "runs",
                    "duration",
                    "warmup",
                    "connections",
                    "threads",
                    "server_cpus",
                    "wrk_cpus",
                    "pg_cpus",
                    "pool_size",
                    "proposals",
                )
            },
            "bodies": sizes,
            "runs": [
                {
                    "target": r.target,
                    "round": r.round,
                    **dataclasses.asdict(r.wrk),
                    "server_cpu_us_per_request": round(r.server_us, 1),
                    "pg_cpu_us_per_request": _number(r.pg_us),
                }
                for r in runs
            ],
            "summary": {n: {k: _number(v) for k, v in d.items()} for n, d in summary.items()},
            "ratios_over_bare": {n: [round(v, 3) for v in vs] for n, vs in ratios.items()},
            "median_ratio_over_bare": {n: round(median(vs), 3) for n, vs in ratios.items()},
            "targets": {"ratio": RATIO_TARGET, "p99_ms": P99_TARGET_MS},
        },
    )


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
