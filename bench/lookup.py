"""HTTP lookup benchmark: the real app's GET /entries/{x_id} against a bare baseline, with wrk.

    python -m bench.lookup                         # 3 interleaved pairs of 15 s runs
    python -m bench.lookup --runs 5 --duration 20 --connections 32

Both servers run at once on the same database (bench/serve.py), pinned to --server-cpus;
wrk is pinned to --wrk-cpus; PostgreSQL backends forked for the servers' pools are pinned to
--pg-cpus (default: with wrk, so that the server under test has a core to itself). Each wrk
request asks for a random X id among --ids ids sampled from the whole table (bench/lookup.lua).
Runs alternate bare, app, bare, app, … after a warm-up of each. Reported: req/s, p50 and p99
latency (wrk's, not corrected for coordinated omission), CPU µs per request of the server
process and of its PostgreSQL backends (utime + stime from /proc), and the app/bare ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg

from bench import serve
from bench.common import (
    TICKS_PER_SECOND,
    WORK,
    cpu_ticks,
    entry_count,
    median,
    print_table,
    sample_x_ids,
    write_results,
)
from bench.processes import HttpServer, postgres_pinned, running
from bench.server import database_dsn

LUA = Path(__file__).parent / "lookup.lua"
PATHS = {"bare": serve.BARE_PATH, "app": serve.APP_PATH}
APPLICATION_NAMES = {"bare": serve.BARE_APPLICATION_NAME, "app": serve.APP_APPLICATION_NAME}
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


@dataclasses.dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers plus socket errors


@dataclasses.dataclass(frozen=True)
class Run:
    server: str
    number: int
    wrk: WrkResult
    server_us: float  # CPU µs per request of the uvicorn process
    pg_us: float  # CPU µs per request of its PostgreSQL backends (nan: some ended mid-run)


def parse_wrk(output: str) -> WrkResult:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if found is None:
            raise ValueError(f"no {percent}% latency in wrk output:\n{output}")
        return float(found.group(1)) * _UNITS[found.group(2)]

    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s),", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if total is None or rps is None:
        raise ValueError(f"unexpected wrk output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return WrkResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _UNITS[total.group(3)] / 1000,
        rps=float(rps.group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        errors=errors,
    )


async def _backend_pids(dsn: str, application_name: str) -> list[int]:
    conn = await asyncpg.connect(dsn, server_settings={"application_name": "bench-admin"})
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
        return [int(row[0]) for row in rows]
    finally:
        await conn.close()


def _ticks(pids: list[int]) -> dict[int, int]:
    found = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):  # a backend that went away
            found[pid] = cpu_ticks(pid)
    return found


def run_wrk(
    args: argparse.Namespace, url: str, seconds: int, script: Path, script_args: list[str]
) -> str:
    """Run wrk with `args.threads`, `args.connections` and `args.wrk_cpus`; return its output."""
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s"]
    command += ["--latency", "-s", str(script), url, "--", *script_args]
    if args.wrk_cpus:
        command = ["taskset", "-c", args.wrk_cpus, *command]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return done.stdout


def wrk(args: argparse.Namespace, server: HttpServer, ids_file: Path, seconds: int) -> str:
    return run_wrk(args, server.url, seconds, LUA, [str(ids_file), PATHS[server.which]])


def measured(
    dsn: str, server_pid: int, application_name: str, load: Callable[[], str]
) -> tuple[WrkResult, float, float]:
    """Run `load` (a wrk run); return its result and the CPU µs per request of the server
    process and of its PostgreSQL backends (those with `application_name`; nan when some
    backend ended during the run, its CPU time gone with it)."""
    before_server = cpu_ticks(server_pid)
    before_pg = _ticks(asyncio.run(_backend_pids(dsn, application_name)))
    result = parse_wrk(load())
    after_server = cpu_ticks(server_pid)
    after_pg = _ticks(asyncio.run(_backend_pids(dsn, application_name)))
    # Backends that started during the run count whole. Those that ended took their CPU time
    # with them (asyncpg's default pool replaces each connection after 50,000 queries).
    pg_ticks = sum(ticks - before_pg.get(pid, 0) for pid, ticks in after_pg.items())
    lost = len(before_pg.keys() - after_pg.keys())
    if lost:
        print(f"  ({lost} PostgreSQL backends of {application_name} were replaced)", flush=True)
    per_request = 1e6 / TICKS_PER_SECOND / max(result.requests, 1)
    server_us = (after_server - before_server) * per_request
    return result, server_us, math.nan if lost else pg_ticks * per_request


def measure(
    args: argparse.Namespace, dsn: str, server: HttpServer, ids_file: Path, number: int
) -> Run:
    name = APPLICATION_NAMES[server.which]
    result, server_us, pg_us = measured(
        dsn, server.pid, name, lambda: wrk(args, server, ids_file, args.duration)
    )
    return Run(server=server.which, number=number, wrk=result, server_us=server_us, pg_us=pg_us)


async def prepare_ids(dsn: str, count: int) -> tuple[Path, int, str]:
    conn = await asyncpg.connect(dsn)
    try:
        entries = await entry_count(conn)
        found = await sample_x_ids(conn, count, seed=7)
        one = str(found[0])
    finally:
        await conn.close()
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"lookup-ids-{entries}.txt"
    path.write_text("\n".join(str(x) for x in found) + "\n")
    return path, entries, one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lookup", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--runs", type=int, default=3, help="runs of each server (interleaved)")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ids", type=int, default=100_000, help="X ids to pick from")
    parser.add_argument("--server-cpus", default="1", help="taskset list for uvicorn ('' = any)")
    parser.add_argument("--wrk-cpus", default="0", help="taskset list for wrk ('' = any)")
    parser.add_argument("--pg-cpus", default="0", help="taskset list for PostgreSQL backends")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    dsn = database_dsn(args.dsn)
    ids_file, entries, one = asyncio.run(prepare_ids(dsn, args.ids))
    print(
        f"{entries:,} entries; wrk -t{args.threads} -c{args.connections} -d{args.duration}s;"
        f" server on CPUs {args.server_cpus or 'any'}, wrk on {args.wrk_cpus or 'any'},"
        f" PostgreSQL backends on {args.pg_cpus or 'any'}",
        flush=True,
    )
    runs: list[Run] = []
    with (
        postgres_pinned(args.pg_cpus, dsn),
        running("bare", dsn, args.server_cpus, serve.BARE_PATH + one) as bare,
        running("app", dsn, args.server_cpus, serve.APP_PATH + one) as app,
    ):
        for server in (bare, app):
            wrk(args, server, ids_file, args.warmup)
        for number in range(1, args.runs + 1):
            for server in (bare, app):
                run = measure(args, dsn, server, ids_file, number)
                runs.append(run)
                print(
                    f"  {run.server:<4} #{number}: {run.wrk.rps:8.0f} req/s"
                    f"  p50 {run.wrk.p50_ms:.2f} ms  p99 {run.wrk.p99_ms:.2f} ms"
                    f"  server {run.server_us:.0f} µs/req  PostgreSQL {run.pg_us:.0f} µs/req"
                    f"  errors {run.wrk.errors}",
                    flush=True,
                )
    report(args, entries, runs)
    return 0


def report(args: argparse.Namespace, entries: int, runs: list[Run]) -> None:
    def of(name: str) -> list[Run]:
        return [r for r in runs if r.server == name]

    summary: dict[str, dict[str, float]] = {}
    for name in ("bare", "app"):
        mine = of(name)
        summary[name] = {
            "rps": median([r.wrk.rps for r in mine]),
            "p50_ms": median([r.wrk.p50_ms for r in mine]),
            "p99_ms": median([r.wrk.p99_ms for r in mine]),
            "server_us": median([r.server_us for r in mine]),
            "pg_us": median([r.pg_us for r in mine if not math.isnan(r.pg_us)] or [math.nan]),
            "errors": sum(r.wrk.errors for r in mine),
        }
    pair_ratios = [
        a.wrk.rps / b.wrk.rps for a, b in zip(of("app"), of("bare"), strict=True) if b.wrk.rps
    ]
    ratio = median(pair_ratios)
    cpu_ratio = summary["bare"]["server_us"] / summary["app"]["server_us"]
    print()
    print_table(
        ["run", "server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "PG CPU µs/req"],
        [
            (
                r.number,
                r.server,
                f"{r.wrk.rps:,.0f}",
                f"{r.wrk.p50_ms:.2f}",
                f"{r.wrk.p99_ms:.2f}",
                f"{r.server_us:.0f}",
                f"{r.pg_us:.0f}",
            )
            for r in runs
        ],
    )
    print()
    print_table(
        ["server", "req/s (median)", "p50 ms", "p99 ms", "server CPU µs/req", "PG CPU µs/req"],
        [
            (
                name,
                f"{s['rps']:,.0f}",
                f"{s['p50_ms']:.2f}",
                f"{s['p99_ms']:.2f}",
                f"{s['server_us']:.0f}",
                f"{s['pg_us']:.0f}",
            )
            for name, s in summary.items()
        ],
    )
    verdict = "met" if ratio >= 0.9 else "NOT met"
    print(
        f"\napp/bare throughput: median of pair ratios {ratio:.2f}"
        f" (pairs: {', '.join(f'{r:.2f}' for r in pair_ratios)});"
        f" bare/app server CPU per request {cpu_ratio:.2f}."
        f" Target ≥ 0.90: {verdict}."
    )
    errors = summary["bare"]["errors"] + summary["app"]["errors"]
    if errors:
        print(f"WARNING: {errors:.0f} non-2xx answers or socket errors")
    write_results(
        f"lookup-{entries}",
        {
            "entries": entries,
            "settings": {
                k: getattr(args, k)
                for k in (
                    "runs",
                    "duration",
                    "connections",
                    "threads",
                    "server_cpus",
                    "wrk_cpus",
                    "pg_cpus",
                )
            },
            "runs": [
                {
                    "server": r.server,
                    "run": r.number,
                    **dataclasses.asdict(r.wrk),
                    "server_cpu_us_per_request": round(r.server_us, 1),
                    "pg_cpu_us_per_request": _number(r.pg_us),
                }
                for r in runs
            ],
            "summary": {n: {k: _number(v) for k, v in d.items()} for n, d in summary.items()},
            "app_over_bare_rps": round(ratio, 3),
            "pair_ratios": [round(r, 3) for r in pair_ratios],
            "bare_over_app_server_cpu": round(cpu_ratio, 3),
        },
    )


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 1)


if __name__ == "__main__":
    sys.exit(main())
