"""HTTP signatures in-process: verification with a warm key cache, signing, and the inbox path.

    python -m bench.findable                 # once: a findable sample (inbox targets)
    python -m bench.signatures               # N = 2,000
    python -m bench.signatures --n 5000 --profile

1. Primitives, N calls each, repeated --batches times (median batch): `httpsig.verify` of a
   realistic signed POST (a Mastodon Follow, ~230 B, signed by `sign_headers` with an RSA-2048
   key as Mastodon signs: `(request-target) host date digest content-type`) with the parsed
   public key cached (the warm path: `keys.load_public_key` is an LRU cache), and its parts;
   `sign_headers` with its signer cached (what each delivery pays), the same signature made
   with `cryptography` directly, and what a key-cache miss costs (parsing a private key for
   `cryptography` and for httpsig, a public key).
2. The inbox path: POST /x/<x_id>/inbox through the real application, called in-process as
   ASGI (bench/asgi.py, no HTTP server), N distinct Follows from --actors remote actors that
   are already in `remote_actors` (fetched_at = now, so nothing is fetched). Each request
   looks the signer up by keyId, verifies, checks origins and stores an `inbox_items` row.
   Once one request at a time (latency) and once --concurrency at a time (throughput);
   CPU µs per request of this process (application plus the small driver) and of the
   application's PostgreSQL backends. The rows and actors are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import dataclasses
import functools
import hashlib
import io
import pstats
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import httpsig as httpsig_library
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub import httpsig, keys
from bench.asgi import call, drive, started
from bench.common import TICKS_PER_SECOND, cpu_ticks, entry_count, print_table, write_results
from bench.findable import Findable, key_pool, load_sample
from bench.lookup import _backend_pids
from bench.serve import APP_APPLICATION_NAME
from bench.server import database_dsn
from directory.app import create_app
from directory.settings import load_settings
from directory.store import remote_actors
from directory.store.remote_actors import RemoteActor

DOMAIN = "localhost:8443"  # the app's HIRONDELLE_DOMAIN here; requests carry this Host
PEER = "peer.bench.example"
USER_AGENT = "http.rb/5.1.1 (Mastodon/4.3.2; +https://peer.bench.example/)"


@dataclasses.dataclass(frozen=True)
class Signer:
    actor: str
    key_id: str
    private_pem: str
    public_pem: str


def signers(count: int) -> list[Signer]:
    """`count` remote actors on PEER, each with its own key (from bench/findable's key pool)."""
    pairs = key_pool(max(count, 1))
    found = []
    for n, (private_pem, public_pem) in enumerate(pairs[:count]):
        actor = f"https://{PEER}/users/bench{n}"
        found.append(Signer(actor, keys.key_id(actor), private_pem, public_pem))
    return found


def follow(signer: Signer, target_x_id: int) -> bytes:
    """A Follow as Mastodon 4.3 sends it."""
    return orjson.dumps(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"https://{PEER}/{uuid.uuid4()}",
            "type": "Follow",
            "actor": signer.actor,
            "object": f"https://{DOMAIN}/x/{target_x_id}",
        }
    )


def signed_post(signer: Signer, path: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of a signed POST to https://DOMAIN<path>, as a Mastodon server sends them."""
    headers = {
        "Content-Type": "application/activity+json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "gzip",
    }
    headers |= httpsig.sign_headers(
        method="POST",
        url=f"https://{DOMAIN}{path}",
        headers=headers,
        body=body,
        key_id=signer.key_id,
        private_pem=signer.private_pem,
        now=now,
    )
    return headers


# activitypub/httpsig.py's _SIGNATURE_PARAM with the quoted string written as an unrolled loop
# ("[^"\\]*(?:\\.[^"\\]*)*") instead of one alternation per character ((?:[^"\\]|\\.)*):
# the same matches, without a regex step per character of the 344-character signature.
_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM_UNROLLED = re.compile(
    rf'[ \t]*({_TCHARS})[ \t]*=[ \t]*({_TCHARS}|"[^"\\]*(?:\\.[^"\\]*)*")[ \t]*'
)
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_params_unrolled(value: str) -> dict[str, str]:
    """httpsig._parse_params with _PARAM_UNROLLED (error handling kept short)."""
    text = value.removeprefix("Signature ")
    params: dict[str, str] = {}
    position = 0
    while True:
        match = _PARAM_UNROLLED.match(text, position)
        if match is None:
            raise ValueError("the Signature header cannot be parsed")
        key, raw = match.groups()
        params[key] = _QUOTED_PAIR.sub(r"\1", raw[1:-1]) if raw.startswith('"') else raw
        position = match.end()
        if position == len(text):
            return params
        if text[position] != ",":
            raise ValueError("the Signature header cannot be parsed")
        position += 1


def timed_batches(n: int, batches: int, action: Callable[[int], object]) -> list[float]:
    """µs per call of `action(i)`, for each of `batches` batches of `n` calls."""
    results = []
    for _ in range(batches):
        start = time.perf_counter()
        for i in range(n):
            action(i)
        results.append((time.perf_counter() - start) / n * 1e6)
    return results


def primitives(n: int, batches: int) -> list[tuple[str, list[float], int]]:
    """(name, µs per call per batch, calls per batch) for the signature primitives."""
    signer = signers(1)[0]
    path = "/x/1234567890123456789/inbox"
    body = follow(signer, 1234567890123456789)
    now = datetime.now(UTC)
    headers = signed_post(signer, path, body, now)
    # Warm: the public key is parsed once (LRU), as for a known remote actor.
    verified = httpsig.verify(
        method="POST",
        path=path,
        headers=headers,
        body=body,
        public_pem=signer.public_pem,
        now=now,
        max_body_bytes=1024 * 1024,
        expected_host=DOMAIN,
    )
    assert verified.key_id == signer.key_id
    fields = {k.lower(): v for k, v in headers.items()}
    params = httpsig.parse_signature(fields["signature"])
    assert parse_params_unrolled(fields["signature"]) == dict(params.params)
    public_key = keys.load_public_key(signer.public_pem)
    assert isinstance(public_key, rsa.RSAPublicKey)
    private_key = keys.load_private_key(signer.private_pem)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    message = (
        f"(request-target): post {path}\nhost: {DOMAIN}\ndate: {fields['date']}\n"
        f"digest: {fields['digest']}\ncontent-type: application/activity+json"
    ).encode()
    public_key.verify(params.signature, message, padding.PKCS1v15(), hashes.SHA256())
    few = max(n // 100, 5)

    def verify(i: int) -> object:
        return httpsig.verify(
            method="POST",
            path=path,
            headers=headers,
            body=body,
            public_pem=signer.public_pem,
            now=now,
            max_body_bytes=1024 * 1024,
            expected_host=DOMAIN,
        )

    def sign(i: int) -> object:
        return httpsig.sign_headers(
            method="POST",
            url=f"https://{DOMAIN}{path}",
            headers={"Content-Type": "application/activity+json"},
            body=body,
            key_id=signer.key_id,
            private_pem=signer.private_pem,
            now=now,
        )

    def sign_cryptography(i: int) -> object:
        signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature)

    pem = signer.private_pem.encode()
    cases: list[tuple[str, Callable[[int], object], int]] = [
        ("httpsig.verify, warm key cache (whole check)", verify, n),
        (
            "  parse the Signature header",
            lambda i: httpsig.parse_signature(fields["signature"]),
            n,
        ),
        (
            "    its parameter split, httpsig._parse_params",
            lambda i: httpsig._parse_params(fields["signature"]),
            n,
        ),
        (
            "    … the same with an unrolled quoted-string regex (proposed)",
            lambda i: parse_params_unrolled(fields["signature"]),
            n,
        ),
        ("  SHA-256 of the body (Digest)", lambda i: hashlib.sha256(body).digest(), n),
        (
            "  RSA-2048 PKCS#1 v1.5 verify (cryptography)",
            lambda i: public_key.verify(
                params.signature, message, padding.PKCS1v15(), hashes.SHA256()
            ),
            n,
        ),
        ("httpsig.sign_headers, signer cached (each delivery)", sign, n),
        ("  the same RSA signature with cryptography", sign_cryptography, n),
        (
            "key cache miss: cryptography load_pem_private_key",
            lambda i: serialization.load_pem_private_key(pem, None),
            few,
        ),
        (
            "  … with unsafe_skip_rsa_key_validation=True",
            lambda i: serialization.load_pem_private_key(
                pem, None, unsafe_skip_rsa_key_validation=True
            ),
            n,
        ),
        (
            "key cache miss: httpsig Signer(private_pem) (pycryptodome)",
            lambda i: httpsig_library.Signer(signer.private_pem, algorithm="rsa-sha256"),
            few,
        ),
        (
            "key cache miss: load_pem_public_key",
            lambda i: serialization.load_pem_public_key(signer.public_pem.encode()),
            n,
        ),
    ]
    return [(name, timed_batches(calls, batches, action), calls) for name, action, calls in cases]


async def inbox_path(
    dsn: str, sample: list[Findable], n: int, concurrency: int, actors: int, profile: bool
) -> tuple[list[tuple[str, float, float, float, float]], str]:
    """(mode, req/s, process CPU µs/req, PostgreSQL CPU µs/req, wall µs/req) per mode."""
    settings = load_settings(
        {"DATABASE_URL": dsn, "HIRONDELLE_LOG_LEVEL": "warning", "HIRONDELLE_DOMAIN": DOMAIN}
    )
    app = create_app(settings, dsn=dsn)
    remote = signers(actors)
    results: list[tuple[str, float, float, float, float]] = []
    profile_text = ""
    async with started(app):
        pool: asyncpg.Pool = app.state.pool
        now = datetime.now(UTC)
        for signer in remote:
            await remote_actors.save(
                pool,
                RemoteActor(
                    uri=signer.actor,
                    host=PEER,
                    inbox=f"{signer.actor}/inbox",
                    shared_inbox=f"https://{PEER}/inbox",
                    key_id=signer.key_id,
                    public_key_pem=signer.public_pem,
                    username=signer.actor.rsplit("/", 1)[1],
                    also_known_as=(),
                    fetched_at=now,
                ),
            )
        try:
            modes = [("one at a time", 1), (f"{concurrency} at a time", concurrency)]
            if profile:
                modes.append(("profiled", concurrency))
            for mode, lanes in [("warm-up", concurrency), *modes]:
                count = n if mode != "warm-up" else max(n // 10, 50)
                requests = _requests(remote, sample, count)

                async def one(i: int, requests: list[tuple[str, dict[str, str], bytes]]) -> None:
                    path, headers, body = requests[i]
                    answer = await call(app, "POST", path, headers, body)
                    if answer.status != 202:
                        raise SystemExit(f"inbox answered {answer.status}: {answer.body!r}")

                pids = await _backend_pids(dsn, APP_APPLICATION_NAME)
                before = sum(cpu_ticks(pid) for pid in pids)
                profiler = cProfile.Profile() if mode == "profiled" else None
                if profiler is not None:
                    profiler.enable()
                result = await drive(count, lanes, functools.partial(one, requests=requests))
                if profiler is not None:
                    profiler.disable()
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("tottime").print_stats(25)
                    profile_text = out.getvalue()
                pg_ticks = sum(cpu_ticks(pid) for pid in pids) - before
                pg_us = pg_ticks * 1e6 / TICKS_PER_SECOND / count
                if mode != "warm-up":
                    wall_us = result.seconds / count * 1e6
                    results.append((mode, result.rps, result.cpu_us, pg_us, wall_us))
                    print(
                        f"  {mode:<16} {result.rps:7.0f} req/s  {result.cpu_us:5.0f} µs CPU/req"
                        f"  PostgreSQL {pg_us:4.0f} µs/req",
                        flush=True,
                    )
        finally:
            deleted = await pool.execute(
                "DELETE FROM inbox_items WHERE actor_uri LIKE $1", f"https://{PEER}/%"
            )
            await pool.execute("DELETE FROM remote_actors WHERE host = $1", PEER)
            print(f"  cleaned up: {deleted.split()[-1]} inbox items, {len(remote)} remote actors")
    return results, profile_text


def _requests(
    remote: list[Signer], sample: list[Findable], count: int
) -> list[tuple[str, dict[str, str], bytes]]:
    """`count` signed Follows (signed now: the signature window is 5 minutes)."""
    now = datetime.now(UTC)
    made = []
    for i in range(count):
        signer = remote[i % len(remote)]
        target = sample[(i * 7919) % len(sample)].x_account_id
        path = f"/x/{target}/inbox"
        body = follow(signer, target)
        made.append((path, signed_post(signer, path, body, now), body))
    return made


async def _sample(dsn: str) -> tuple[int, list[Findable]]:
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        if not sample:
            raise SystemExit("no findable sample: run `python -m bench.findable` first")
        pending = await conn.fetchval(
            "SELECT count(*) FROM inbox_items WHERE state = 'pending' AND actor_uri NOT LIKE $1",
            f"https://{PEER}/%",
        )
        if pending:
            print(f"note: {pending} other pending inbox items in this database")
        return await entry_count(conn), sample
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.signatures", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--n", type=int, default=2000, help="calls per batch, inbox requests")
    parser.add_argument("--batches", type=int, default=5, help="batches of each primitive")
    parser.add_argument("--concurrency", type=int, default=16, help="inbox requests in flight")
    parser.add_argument("--actors", type=int, default=16, help="distinct remote signers")
    parser.add_argument("--profile", action="store_true", help="also profile the inbox path")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    dsn = database_dsn(args.dsn)
    entries, sample = asyncio.run(_sample(dsn))
    print(f"primitives: {args.batches} batches of {args.n:,} calls (key parsing: fewer)")
    measured = primitives(args.n, args.batches)
    print_table(
        ["operation", "µs per call (median batch)", "min batch", "calls per batch"],
        [
            (name, f"{statistics.median(us):,.1f}", f"{min(us):,.1f}", calls)
            for name, us, calls in measured
        ],
    )
    print(f"\ninbox path, in-process ASGI, {args.n:,} signed Follows, {args.actors} signers:")
    inbox, profile_text = asyncio.run(
        inbox_path(dsn, sample, args.n, args.concurrency, args.actors, args.profile)
    )
    print()
    print_table(
        ["inbox POST", "req/s", "wall µs/req", "process CPU µs/req", "PG CPU µs/req"],
        [
            (mode, f"{rps:,.0f}", f"{wall:.0f}", f"{cpu:.0f}", f"{pg:.0f}")
            for mode, rps, cpu, pg, wall in inbox
        ],
    )
    if profile_text:
        print("\nprofile of the inbox path (cProfile, by own time):")
        print(profile_text)
    write_results(
        f"signatures-{entries}",
        {
            "entries": entries,
            "settings": {k: getattr(args, k) for k in ("n", "batches", "concurrency", "actors")},
            "primitives_us": {
                name.strip(" …"): {
                    "median": round(statistics.median(us), 2),
                    "min": round(min(us), 2),
                    "calls_per_batch": calls,
                }
                for name, us, calls in measured
            },
            "inbox": [
                {
                    "mode": mode,
                    "rps": round(rps),
                    "wall_us_per_request": round(wall, 1),
                    "process_cpu_us_per_request": round(cpu, 1),
                    "pg_cpu_us_per_request": round(pg, 1),
                }
                for mode, rps, cpu, pg, wall in inbox
            ],
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
