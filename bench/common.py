"""Helpers shared by the benchmarks: statistics, results files, machine facts, ids sampling."""

from __future__ import annotations

import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import asyncpg
from asyncpg.pool import PoolConnectionProxy

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("HIRONDELLE_BENCH_RESULTS", "") or Path(__file__).parent / "results")
# A dedicated connection or one borrowed from a pool.
Conn = asyncpg.Connection | PoolConnectionProxy
WORK = Path(os.environ.get("HIRONDELLE_BENCH_DIR", "/work/benchdata")) / "work"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}" if seconds >= 0.01 else f"{seconds * 1000:.2f}"


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict[str, object]:
    """CPU, memory and software facts for results files and the README."""
    model = "?"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def source() -> str:
    """The code measured: a snapshot's commit (bench/snapshot.py) or the working tree's HEAD."""
    marker = ROOT / "COMMIT"
    if marker.exists():
        return f"snapshot of {marker.read_text().strip()}"
    done = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"working tree at {done.stdout.strip() or '?'}"


def write_results(name: str, payload: dict[str, object]) -> Path:
    """Save a benchmark's figures as bench/results/<name>.json (the latest run wins)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {"measured_at": now_utc(), "source": source(), "machine": machine(), **payload}
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a Markdown table (ready to paste into the README)."""
    cells = [[str(c) for c in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    print("\n".join(lines), flush=True)


async def entry_count(conn: Conn) -> int:
    """How many entries the generator loaded (bench.meta), or a count(*) if absent."""
    exists = await conn.fetchval("SELECT to_regclass('bench.meta') IS NOT NULL")
    if exists:
        value = await conn.fetchval("SELECT entries FROM bench.meta")
        if value is not None:
            return int(value)
    return int(await conn.fetchval("SELECT count(*) FROM entries"))


async def sample_x_ids(conn: Conn, count: int, *, seed: int) -> list[int]:
    """`count` distinct X ids of published entries, uniformly spread over the whole table.

    Entry ids are drawn at random (not TABLESAMPLE SYSTEM, whose whole-page samples would
    give an unrealistically small working set).
    """
    top = int(await conn.fetchval("SELECT max(id) FROM entries"))
    rng = random.Random(seed)
    wanted = min(count, top)
    picked = rng.sample(range(1, top + 1), wanted)
    rows = await conn.fetch(
        "SELECT x_account_id FROM entries WHERE id = ANY($1::bigint[]) AND status = 'published'",
        picked,
    )
    found = [int(row[0]) for row in rows]
    rng.shuffle(found)
    return found


async def missing_x_ids(conn: Conn, count: int, *, seed: int) -> list[int]:
    """`count` snowflake-like X ids that no entry has."""
    rng = random.Random(seed)
    candidates = list({rng.randrange(2**60, 2**63 - 1) for _ in range(count + 100)})
    taken = await conn.fetch(
        "SELECT x_account_id FROM entries WHERE x_account_id = ANY($1::bigint[])", candidates
    )
    used = {int(row[0]) for row in taken}
    return [c for c in candidates if c not in used][:count]


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


async def server_facts(conn: Conn) -> dict[str, str]:
    """PostgreSQL's version and the settings that matter for these benchmarks."""
    names = [
        "shared_buffers",
        "effective_cache_size",
        "work_mem",
        "maintenance_work_mem",
        "random_page_cost",
        "jit",
        "max_parallel_workers_per_gather",
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_level",
    ]
    rows = await conn.fetch(
        "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1::text[])",
        names,
    )
    facts = {str(row[0]): str(row[1]) for row in rows}
    return {"version": str(await conn.fetchval("SHOW server_version")), **facts}


class Timer:
    """`with Timer() as t: ...; t.seconds`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
