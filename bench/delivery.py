"""Delivery throughput: the worker POSTs signed activities to a local inbox sink, end to end.

    python -m bench.findable                     # once: findable entries with keys
    python -m bench.delivery                     # both scenarios, the app and proposed fixes
    python -m bench.delivery --scenarios fanout --variants app --profile

A sink (`python -m bench.serve sink`: uvicorn + Starlette, answers 202 and counts POSTs)
listens on 127.0.0.1 over plain http (--tls: https, with a throwaway trustme CA given to the
application as HIRONDELLE_CA_BUNDLE), pinned with PostgreSQL (--sink-cpus). This process
runs the real application's lifespan (bench/asgi.py `started`: pool, federation context,
safe client) with HIRONDELLE_UNSAFE_ALLOW_HTTP=1 and
HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES=127.0.0.0/8, pinned to --worker-cpus; it counts
the TCP connections the safe client opens (calls of `GuardedBackend.connect_tcp`).
Deliveries are queued with `directory.store.deliveries.enqueue` in the benchmark database,
then `directory.worker.Worker(fed).run_once()` runs until none is due, and is timed:
claiming, key lookup, signing (`SignedAuth` → `httpsig.sign_headers`), the POST through the
safe client, and `mark_sent`. Scenarios:

* `fanout`: one entry actor's Update (its actor document, ~2.4 KB) to --deliveries distinct
  inboxes (`http://127.0.0.1:<port>/users/u<n>/inbox`): one key, always in cache;
* `actors`: --actor-deliveries Accepts, each from another findable entry (bench/findable.py:
  keys from a pool of 256, more than the caches of 16 signers and 64 parsed private keys) to
  one inbox each: what a burst of follows to many entries, or a bulk Update, costs.

Variants (--variants), each run --reps times, interleaved: `app`, the code as it is, and
proposed fixes applied by monkeypatching *this process only* (directory/ and activitypub/
are not changed):

* `signer-cache`: httpsig still signs, but its signer is parsed once per key for the life of
  the process (`httpsig._rsa_signer`'s LRU holds 16), and `sign_headers`' check of the key
  (`keys.load_private_key`, an LRU of 64 that validates the RSA key on each parse, ~35 ms)
  parses once with `unsafe_skip_rsa_key_validation=True` (our own keys, from our database);
* `signer`: the same key handling, and the signature made with `cryptography`
  (RSASSA-PKCS1-v1_5 with SHA-256: the same bytes as httpsig's pycryptodome, 5x faster);
  DESIGN.md names httpsig as a dependency, so this one is a decision for the owners;
* `keep-alive`: `activitypub.deliver._post` reads the inbox's answer (up to 64 KB) before
  closing it, so that httpcore keeps the connection for the next POST to that host;
* `signer-cache+keep-alive`, `signer+keep-alive`: both.

The fixes' caches last as long as the process (the first run of a variant parses the keys it
meets; the figures are medians of --reps runs).
Every run checks that the sink received every POST and that every delivery row is `done`;
the queued rows and the sink's host row are deleted after each run. --profile adds one
cProfile'd run per scenario and variant (not counted in the figures) and prints where a
delivery's CPU goes (cumulative µs per delivery, inflated by the profiler).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import dataclasses
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import trustme
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub import deliver, httpsig, safehttp
from activitypub.vocab import ACTIVITY_JSON
from bench import serve
from bench.asgi import started
from bench.common import (
    TICKS_PER_SECOND,
    WORK,
    cpu_ticks,
    entry_count,
    print_table,
    write_results,
)
from bench.findable import Findable, key_pool, load_sample
from bench.lookup import _backend_pids
from bench.processes import HttpServer, postgres_pinned, running
from bench.server import database_dsn
from directory.app import create_app
from directory.services import actors
from directory.services.federation import Federation
from directory.settings import load_settings
from directory.store import deliveries, federation as federation_store
from directory.worker import Worker

DOMAIN = "localhost:8443"
MARK = "bench-delivery"  # in every queued activity id, for the clean-up
VARIANTS = (
    "app",
    "signer-cache",
    "signer",
    "keep-alive",
    "signer-cache+keep-alive",
    "signer+keep-alive",
)
SCENARIOS = ("fanout", "actors")

# Functions whose cumulative profile time says where a delivery's time goes:
# (file name ends with, function name) -> label. cProfile credits a coroutine with its own
# running segments only: work done in event-loop callbacks (socket I/O, TLS) is not under them.
_PROFILED = {
    ("deliveries.py", "claim_due"): "  deliveries.claim_due",
    ("worker.py", "_auth"): "  worker._auth (entry key query)",
    ("deliver.py", "post_activity"): "  deliver.post_activity (sign + POST)",
    ("safehttp.py", "check_url"): "    safehttp.check_url",
    ("_client.py", "send"): "    httpx AsyncClient.send (incl. signing)",
    ("auth.py", "auth_flow"): "      SignedAuth.auth_flow",
    ("httpsig.py", "sign_headers"): "        httpsig.sign_headers",
    ("httpsig.py", "_rsa_signer"): "          _rsa_signer (cache miss: httpsig Signer)",
    ("keys.py", "load_private_key"): "          keys.load_private_key (cache miss)",
    ("httpsig/sign.py", "_sign_rsa"): "          httpsig Signer._sign_rsa (pycryptodome RSA)",
    ("_models.py", "aclose"): "    httpx Response.aclose",
    ("worker.py", "_record"): "  worker._record (mark_sent: 2 statements)",
}


@dataclasses.dataclass(frozen=True)
class Outcome:
    scenario: str
    variant: str
    deliveries: int
    seconds: float
    worker_cpu_us: float  # this process's CPU per delivery
    pg_cpu_us: float  # the pool's PostgreSQL backends, per delivery
    sink_cpu_us: float
    connections: int  # TCP connections the worker opened (GuardedBackend.connect_tcp calls)

    @property
    def per_second(self) -> float:
        return self.deliveries / self.seconds


DRAIN_LIMIT = 64 * 1024  # keep-alive: read at most this much of an inbox's answer


@contextmanager
def variant_applied(variant: str) -> Iterator[None]:
    """Apply proposed fixes ("a+b") to this process's modules for the duration (`app`: none)."""
    fixes = set(variant.split("+")) - {"app"}
    unknown = fixes - {"signer", "signer-cache", "keep-alive"}
    assert not unknown, unknown
    assert not {"signer", "signer-cache"} <= fixes, "one signer fix at a time"
    patches: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if "signer-cache" in fixes:
        patches.append((vars(httpsig), {"_rsa_signer": _httpsig_signer, **_KEY_LOADER}))
    if "signer" in fixes:
        patches.append((vars(httpsig), {"_rsa_signer": _cryptography_signer, **_KEY_LOADER}))
    if "keep-alive" in fixes:
        patches.append((vars(deliver), {"_post": _post_and_drain}))
    saved = [(names, {name: names[name] for name in patch}) for names, patch in patches]
    for names, patch in patches:
        names.update(patch)
    try:
        yield
    finally:
        for names, old in saved:
            names.update(old)


# The fixes' caches live as long as the process, as they would in the worker: the first run
# of a variant parses each key once (256 keys in `actors`), later runs find them parsed.
_PRIVATE_KEYS: dict[str, rsa.RSAPrivateKey] = {}
_HTTPSIG_SIGNERS: dict[str, Callable[[bytes], str]] = {}


def _private_key(pem: str) -> rsa.RSAPrivateKey:
    """keys.load_private_key for our own keys: parsed once, RSA key validation skipped."""
    key = _PRIVATE_KEYS.get(pem)
    if key is None:
        loaded = serialization.load_pem_private_key(
            pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
        assert isinstance(loaded, rsa.RSAPrivateKey)
        key = _PRIVATE_KEYS[pem] = loaded
    return key


# sign_headers looks both names up in its module's globals.
_KEY_LOADER = {"load_private_key": _private_key}


def _httpsig_signer(private_pem: str) -> Callable[[bytes], str]:
    """httpsig._rsa_signer with a cache per key for the process's life instead of 16 entries."""
    sign = _HTTPSIG_SIGNERS.get(private_pem)
    if sign is None:
        signer = httpsig._httpsig().Signer(private_pem, algorithm="rsa-sha256")
        sign = _HTTPSIG_SIGNERS[private_pem] = signer.sign
    return sign


def _cryptography_signer(private_pem: str) -> Callable[[bytes], str]:
    """httpsig._rsa_signer made with cryptography: RSASSA-PKCS1-v1_5 over SHA-256, base64."""
    key = _private_key(private_pem)

    def sign(message: bytes) -> str:
        signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    return sign


async def _post_and_drain(
    client: httpx.AsyncClient, url: httpx.URL, body: bytes, auth: httpx.Auth
) -> tuple[int, str | None]:
    """activitypub.deliver._post, reading up to DRAIN_LIMIT of the answer before closing it:
    httpcore returns an HTTP/1.1 connection to its pool only once the response was read to
    its end; closed half-read, the connection is dropped and the next POST opens a new one."""
    request = client.build_request(
        "POST", url, content=body, headers={"Content-Type": ACTIVITY_JSON}
    )
    response = await client.send(request, auth=auth, stream=True, follow_redirects=False)
    try:
        read = 0
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > DRAIN_LIMIT:
                break
    finally:
        await response.aclose()
    return response.status_code, response.headers.get("retry-after")


@contextmanager
def counted_connections() -> Iterator[list[int]]:
    """Count the TCP connections the safe client opens (every one goes through connect_tcp)."""
    count = [0]
    original = safehttp.GuardedBackend.connect_tcp

    async def connect_tcp(self: safehttp.GuardedBackend, *args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return await original(self, *args, **kwargs)

    safehttp.GuardedBackend.connect_tcp = connect_tcp  # type: ignore[method-assign]
    try:
        yield count
    finally:
        safehttp.GuardedBackend.connect_tcp = original  # type: ignore[method-assign]


def make_certificates() -> Path:
    """A throwaway CA and a certificate for 127.0.0.1 (trustme), in WORK/tls."""
    folder = WORK / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    leaf.private_key_pem.write_to_path(str(folder / "key.pem"))
    leaf.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    return folder


async def enqueue(
    fed: Federation,
    scenario: str,
    count: int,
    sample: list[Findable],
    sink_base: str,
    run: str,
) -> int:
    """Queue `count` deliveries for `scenario`; return how many rows were queued."""
    pool = fed.pool
    payload: dict[str, Any]
    async with pool.acquire() as conn, conn.transaction():
        if scenario == "fanout":
            entry = sample[0]
            found = await federation_store.findable_by_x_id(conn, entry.x_account_id)
            assert isinstance(found, federation_store.ActorEntry)
            assert found.public_key_pem is not None
            document = actors.entry_actor(fed.urls, found, found.public_key_pem)
            activity_id = fed.urls.activity(MARK, f"{run}-update")
            payload = {
                "@context": document["@context"],
                "id": activity_id,
                "type": "Update",
                "actor": document["id"],
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
                "object": document,
            }
            await deliveries.enqueue(
                conn,
                activity_id=activity_id,
                entry_id=entry.entry_id,
                actor_uri=document["id"],
                kind="Update",
                payload=payload,
                inboxes=[f"{sink_base}/users/u{n}/inbox" for n in range(count)],
            )
        else:
            if count > len(sample):
                raise SystemExit(f"--actor-deliveries {count} > the findable sample")
            for n, entry in enumerate(sample[:count]):
                actor_uri = fed.urls.entry_actor(entry.x_account_id)
                activity_id = fed.urls.activity(MARK, f"{run}-accept-{n}")
                follower = f"{sink_base}/users/u{n}"
                payload = {
                    "@context": "https://www.w3.org/ns/activitystreams",
                    "id": activity_id,
                    "type": "Accept",
                    "actor": actor_uri,
                    "object": {
                        "id": f"{follower}#follows/{uuid.uuid4()}",
                        "type": "Follow",
                        "actor": follower,
                        "object": actor_uri,
                    },
                }
                await deliveries.enqueue(
                    conn,
                    activity_id=activity_id,
                    entry_id=entry.entry_id,
                    actor_uri=actor_uri,
                    kind="Accept",
                    payload=payload,
                    inboxes=[f"{follower}/inbox"],
                )
    queued: int = await pool.fetchval(
        """SELECT count(*) FROM deliveries d JOIN outbox_activities o ON o.id = d.activity_id
           WHERE o.activity_id LIKE $1 AND d.state = 'pending'""",
        f"%/{MARK}/{run}-%",
    )
    return queued


async def clean_up(pool: asyncpg.Pool, sink_host: str) -> None:
    await pool.execute("DELETE FROM outbox_activities WHERE activity_id LIKE $1", f"%/{MARK}/%")
    await pool.execute("DELETE FROM hosts WHERE host = $1", sink_host)


def _profile_summary(profiler: cProfile.Profile, deliveries_made: int) -> list[tuple[str, str]]:
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, str], float] = {}
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, function), row in raw.items():
        for key in _PROFILED:
            if filename.endswith(key[0]) and function == key[1]:
                table[key] = table.get(key, 0.0) + float(row[3])  # cumulative seconds
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    rows = [("whole profiled run (CPU seen by cProfile)", f"{total / deliveries_made * 1e6:,.0f}")]
    for key, label in _PROFILED.items():
        if key in table:
            rows.append((label, f"{table[key] / deliveries_made * 1e6:,.0f}"))
    return rows


def check_signers(private_pem: str) -> None:
    """The proposed signers make the very signature httpsig makes (PKCS#1 v1.5 is deterministic)."""
    message = b"(request-target): post /inbox\nhost: example.org"
    expected = httpsig._httpsig().Signer(private_pem, algorithm="rsa-sha256").sign(message)
    assert _cryptography_signer(private_pem)(message) == expected
    assert _httpsig_signer(private_pem)(message) == expected


async def check_database(dsn: str) -> tuple[int, list[Findable]]:
    """The entry count and findable sample; refuse if other work is pending."""
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        if not sample:
            raise SystemExit("no findable sample: run `python -m bench.findable` first")
        other = await conn.fetchval(
            """SELECT (SELECT count(*) FROM deliveries WHERE state = 'pending')
                    + (SELECT count(*) FROM inbox_items WHERE state = 'pending')"""
        )
        if other:
            raise SystemExit(
                f"{other} pending deliveries or inbox items: the worker would run them"
            )
        return await entry_count(conn), sample
    finally:
        await conn.close()


async def run(
    args: argparse.Namespace, dsn: str, sink: HttpServer, sample: list[Findable]
) -> tuple[list[Outcome], dict[str, list[tuple[str, str]]]]:
    outcomes: list[Outcome] = []
    profiles: dict[str, list[tuple[str, str]]] = {}
    sink_host = f"127.0.0.1:{sink.port}"
    environment = {
        "DATABASE_URL": dsn,
        "HIRONDELLE_LOG_LEVEL": "warning",
        "HIRONDELLE_DOMAIN": DOMAIN,
        "HIRONDELLE_UNSAFE_ALLOW_HTTP": "1",
        "HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES": "127.0.0.0/8",
    }
    if sink.ca_file:
        environment["HIRONDELLE_CA_BUNDLE"] = sink.ca_file
    settings = load_settings(environment)
    app = create_app(settings, dsn=dsn)
    async with started(app):
        fed: Federation = app.state.federation
        try:
            plan = [(s, v) for _ in range(args.reps) for s in args.scenarios for v in args.variants]
            if args.profile:
                plan += [(s, f"profile:{v}") for s in args.scenarios for v in args.variants]
            for number, (scenario, variant) in enumerate(plan):
                count = args.deliveries if scenario == "fanout" else args.actor_deliveries
                outcome, profiler = await one_run(
                    fed, dsn, sink, scenario, variant, count, sample, f"r{number}"
                )
                if profiler is not None:
                    profiles[f"{scenario}, {variant}"] = _profile_summary(profiler, count)
                else:
                    outcomes.append(outcome)
                print(
                    f"  {scenario:<7} {variant:<27} {outcome.deliveries:5} in"
                    f" {outcome.seconds:6.2f} s: {outcome.per_second:7.0f}/s;"
                    f" worker {outcome.worker_cpu_us:6.0f} µs CPU/delivery,"
                    f" PostgreSQL {outcome.pg_cpu_us:4.0f}, sink {outcome.sink_cpu_us:4.0f};"
                    f" {outcome.connections} connections",
                    flush=True,
                )
                await clean_up(fed.pool, sink_host)
        finally:
            await clean_up(fed.pool, sink_host)
    return outcomes, profiles


async def one_run(
    fed: Federation,
    dsn: str,
    sink: HttpServer,
    scenario: str,
    variant: str,
    count: int,
    sample: list[Findable],
    run_id: str,
) -> tuple[Outcome, cProfile.Profile | None]:
    queued = await enqueue(fed, scenario, count, sample, sink.url, run_id)
    assert queued == count, (queued, count)
    async with httpx.AsyncClient(base_url=sink.url, verify=sink.verify) as client:
        before_sink = (await client.get(serve.SINK_COUNT_PATH)).json()["received"]
    pids = await _backend_pids(dsn, serve.APP_APPLICATION_NAME)
    pg_before = sum(cpu_ticks(pid) for pid in pids)
    sink_before = cpu_ticks(sink.pid)
    profiler = cProfile.Profile() if variant.startswith("profile:") else None
    with variant_applied(variant.removeprefix("profile:")), counted_connections() as connections:
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        handled = await Worker(fed).run_once()
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pg_ticks = sum(cpu_ticks(pid) for pid in pids) - pg_before
    sink_ticks = cpu_ticks(sink.pid) - sink_before
    async with httpx.AsyncClient(base_url=sink.url, verify=sink.verify) as client:
        received = (await client.get(serve.SINK_COUNT_PATH)).json()["received"] - before_sink
    done = await fed.pool.fetchval(
        """SELECT count(*) FROM deliveries d JOIN outbox_activities o ON o.id = d.activity_id
           WHERE o.activity_id LIKE $1 AND d.state = 'done'""",
        f"%/{MARK}/{run_id}-%",
    )
    if handled != count or received != count or done != count:
        raise SystemExit(f"handled {handled}, sink received {received}, done {done} of {count}")
    tick_us = 1e6 / TICKS_PER_SECOND / count
    outcome = Outcome(
        scenario=scenario,
        variant=variant,
        deliveries=count,
        seconds=wall,
        worker_cpu_us=cpu / count * 1e6,
        pg_cpu_us=pg_ticks * tick_us,
        sink_cpu_us=sink_ticks * tick_us,
        connections=connections[0],
    )
    return outcome, profiler


def report(
    args: argparse.Namespace,
    entries: int,
    outcomes: list[Outcome],
    profiles: dict[str, list[tuple[str, str]]],
) -> None:
    def median_of(scenario: str, variant: str, value: Callable[[Outcome], float]) -> float:
        values = sorted(
            value(o) for o in outcomes if o.scenario == scenario and o.variant == variant
        )
        return values[len(values) // 2] if values else float("nan")

    rows = []
    for scenario in args.scenarios:
        for variant in args.variants:
            rows.append(
                (
                    scenario,
                    variant,
                    args.deliveries if scenario == "fanout" else args.actor_deliveries,
                    f"{median_of(scenario, variant, lambda o: o.per_second):,.0f}",
                    f"{median_of(scenario, variant, lambda o: o.seconds):.2f}",
                    f"{median_of(scenario, variant, lambda o: o.worker_cpu_us):,.0f}",
                    f"{median_of(scenario, variant, lambda o: o.pg_cpu_us):,.0f}",
                    f"{median_of(scenario, variant, lambda o: o.sink_cpu_us):,.0f}",
                    f"{median_of(scenario, variant, lambda o: o.connections):,.0f}",
                )
            )
    print()
    print_table(
        [
            "scenario",
            "variant",
            "deliveries",
            "deliveries/s",
            "seconds",
            "worker CPU µs/delivery",
            "PG CPU µs/delivery",
            "sink CPU µs/delivery",
            "TCP connections",
        ],
        rows,
    )
    for name, table in profiles.items():
        print(f"\nwhere a delivery's time goes ({name}; cProfile, cumulative µs per delivery):")
        print_table(["function", "µs/delivery"], table)
    write_results(
        f"delivery-{entries}" + (f"-{args.tag}" if args.tag else ""),
        {
            "entries": entries,
            "settings": {
                k: getattr(args, k)
                for k in (
                    "deliveries",
                    "actor_deliveries",
                    "reps",
                    "scenarios",
                    "variants",
                    "worker_cpus",
                    "sink_cpus",
                    "pg_cpus",
                    "tls",
                )
            },
            "runs": [
                {
                    **dataclasses.asdict(o),
                    "per_second": round(o.per_second, 1),
                }
                for o in outcomes
            ],
            "profiles_us_per_delivery": {name: dict(table) for name, table in profiles.items()},
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--deliveries", type=int, default=5000, help="fanout: inboxes")
    parser.add_argument(
        "--actor-deliveries", type=int, default=500, help="actors: activities (one entry each)"
    )
    parser.add_argument("--reps", type=int, default=3, help="runs of each scenario and variant")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--profile", action="store_true", help="one more, profiled, run of each")
    parser.add_argument("--tls", action="store_true", help="the sink speaks https (trustme CA)")
    parser.add_argument("--tag", default="", help="results file: delivery-<entries>-<tag>.json")
    parser.add_argument("--worker-cpus", default="1", help="CPUs for this process ('' = any)")
    parser.add_argument("--sink-cpus", default="0", help="taskset list for the sink ('' = any)")
    parser.add_argument("--pg-cpus", default="0", help="taskset list for PostgreSQL backends")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    dsn = database_dsn(args.dsn)
    entries, sample = asyncio.run(check_database(dsn))
    check_signers(key_pool(1)[0][0])
    if args.worker_cpus:
        os.sched_setaffinity(0, {int(c) for c in args.worker_cpus.split(",")})
    tls = make_certificates() if args.tls else None
    with (
        postgres_pinned(args.pg_cpus, dsn),
        running(
            "sink",
            dsn,
            args.sink_cpus,
            serve.SINK_COUNT_PATH,
            ["--tls-dir", str(tls)] if tls else [],
            str(tls / "ca.pem") if tls else None,
        ) as sink,
    ):
        outcomes, profiles = asyncio.run(run(args, dsn, sink, sample))
    report(args, entries, outcomes, profiles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
