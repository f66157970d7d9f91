"""Make a sample of the benchmark entries findable from Mastodon, with keys, for bench.activitypub.

    python -m bench.findable                  # 5,000 random entries (idempotent: reuses a sample)
    python -m bench.findable --sample 20000   # a larger sample (adds entries to the existing one)
    python -m bench.findable --undo           # back to listed + public only; keys removed

WebFinger and entry actors show an entry only when it is published *and* has the `findable`
consent (directory/store/federation.py); the generator grants `listed` and `public` only. For
`--sample` entries drawn uniformly over the whole table (random entry ids, as bench/common.py
does) this script:

* appends a `findable` consent row per entry (source `bench:findable`, the current consent text
  version), the application's own path: the statement-level trigger `consents_apply` sets
  `entries.consent_findable`, and `entries_render` re-renders the entry's document. No trigger
  is disabled and the other 10M rows are not touched;
* gives each entry a row in `entry_keys`. Entry actors make an RSA-2048 key on first use
  (~40 ms each here); the benchmarks measure serving, so keys come from a pool of `--keys`
  distinct pairs (default 256, generated on all cores) assigned round robin. 256 is more than
  the application's in-process key caches hold (16 httpsig signers, 64 parsed private keys), so
  a delivery benchmark over many entries still sees the cache misses production would;
* makes sure the instance actor's key exists (directory.store.keys.instance_key);
* records the sample in `bench.findable` (entry_id, x_account_id, x_handle) for the benchmarks,
  then VACUUM (ANALYZE) the tables it changed.

`--undo` deletes the consent rows it added, sets consent_findable back to false for the sample,
deletes the sample's entry keys and drops `bench.findable` (the instance key stays).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import random
import sys
from pathlib import Path

import asyncpg

from bench.common import WORK, Timer, entry_count
from bench.server import database_dsn
from directory.models import CONSENT_TEXT_VERSION
from directory.services.federation import make_rsa_key
from directory.store import keys as key_store

SOURCE = "bench:findable"
KEY_POOL = WORK / "findable-keys.json"


@dataclasses.dataclass(frozen=True)
class Findable:
    """A sampled entry that WebFinger and the actor endpoint serve."""

    entry_id: int
    x_account_id: int
    x_handle: str


def _one_key(_: int) -> tuple[str, str]:
    return make_rsa_key()


def key_pool(count: int, *, path: Path = KEY_POOL) -> list[tuple[str, str]]:
    """`count` distinct RSA-2048 (private PEM, public PEM) pairs, made once and kept in WORK."""
    pairs: list[tuple[str, str]] = []
    if path.exists():
        pairs = [(p[0], p[1]) for p in json.loads(path.read_text())]
    if len(pairs) < count:
        with multiprocessing.Pool() as workers:
            pairs += workers.map(_one_key, range(count - len(pairs)))
        WORK.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(pairs))
        path.chmod(0o600)
    return pairs[:count]


async def load_sample(conn: asyncpg.Connection) -> list[Findable]:
    """The findable sample, in a fixed order (empty if bench.findable does not exist)."""
    if not await conn.fetchval("SELECT to_regclass('bench.findable') IS NOT NULL"):
        return []
    rows = await conn.fetch(
        "SELECT entry_id, x_account_id, x_handle FROM bench.findable ORDER BY position"
    )
    return [Findable(int(r[0]), int(r[1]), str(r[2])) for r in rows]


async def _draw(conn: asyncpg.Connection, count: int, taken: set[int], seed: int) -> list[int]:
    """`count` random published, local entry ids not in `taken`."""
    top = int(await conn.fetchval("SELECT max(id) FROM entries"))
    rng = random.Random(seed)
    found: list[int] = []
    while len(found) < count:
        wanted = [
            i for i in rng.sample(range(1, top + 1), 2 * (count - len(found))) if i not in taken
        ]
        rows = await conn.fetch(
            """SELECT id FROM entries WHERE id = ANY($1::bigint[]) AND status = 'published'
               AND origin_host IS NULL""",
            wanted,
        )
        for row in rows:
            if len(found) < count and int(row[0]) not in taken:
                taken.add(int(row[0]))
                found.append(int(row[0]))
    return found


async def prepare(dsn: str, sample: int, pairs: list[tuple[str, str]], seed: int) -> list[Findable]:
    conn = await asyncpg.connect(dsn)
    try:
        entries = await entry_count(conn)
        await conn.execute(
            """CREATE SCHEMA IF NOT EXISTS bench;
               CREATE TABLE IF NOT EXISTS bench.findable (
                   position integer PRIMARY KEY, entry_id bigint NOT NULL UNIQUE,
                   x_account_id bigint NOT NULL, x_handle text NOT NULL)"""
        )
        existing = await load_sample(conn)
        missing = sample - len(existing)
        if missing <= 0:
            print(f"{len(existing):,} findable entries already prepared (bench.findable)")
        else:
            taken = {f.entry_id for f in existing}
            with Timer() as timer:
                new_ids = await _draw(conn, missing, taken, seed + len(existing))
                async with conn.transaction():
                    await conn.execute(
                        """INSERT INTO consents (entry_id, purpose, granted, text_version, source)
                           SELECT id, 'findable', true, $2, $3 FROM unnest($1::bigint[]) AS id""",
                        new_ids,
                        CONSENT_TEXT_VERSION,
                        SOURCE,
                    )
                    await conn.executemany(
                        """INSERT INTO entry_keys (entry_id, private_pem, public_pem)
                           VALUES ($1, $2, $3) ON CONFLICT (entry_id) DO NOTHING""",
                        [
                            (entry_id, *pairs[(len(existing) + n) % len(pairs)])
                            for n, entry_id in enumerate(new_ids)
                        ],
                    )
                    await conn.execute(
                        """INSERT INTO bench.findable (position, entry_id, x_account_id, x_handle)
                           SELECT $2 + n, e.id, e.x_account_id, e.x_handle
                           FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, n)
                           JOIN entries e ON e.id = t.id""",
                        new_ids,
                        len(existing),
                    )
            print(f"{missing:,} entries made findable, with keys ({timer.seconds:.1f} s)")
        await key_store.instance_key(conn, make_rsa_key)
        with Timer() as timer:
            await conn.execute("VACUUM (ANALYZE) entries, consents, entry_keys, bench.findable")
        print(f"VACUUM (ANALYZE) ({timer.seconds:.1f} s)")
        found = await load_sample(conn)
        visible = await conn.fetchval(
            """SELECT count(*) FROM bench.findable f JOIN entries e ON e.id = f.entry_id
               JOIN entry_keys k ON k.entry_id = e.id
               WHERE e.consent_findable AND e.status = 'published' AND e.origin_host IS NULL""",
        )
        if visible != len(found):
            raise SystemExit(f"only {visible} of {len(found)} sampled entries are findable")
        print(
            f"{len(found):,} findable entries with keys, out of {entries:,}; instance key present"
        )
        return found
    finally:
        await conn.close()


async def undo(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        sample = await load_sample(conn)
        ids = [f.entry_id for f in sample]
        async with conn.transaction():
            await conn.execute("DELETE FROM consents WHERE source = $1", SOURCE)
            await conn.execute(
                "UPDATE entries SET consent_findable = false WHERE id = ANY($1::bigint[])", ids
            )
            await conn.execute("DELETE FROM entry_keys WHERE entry_id = ANY($1::bigint[])", ids)
            await conn.execute("DROP TABLE IF EXISTS bench.findable")
        await conn.execute("VACUUM (ANALYZE) entries, consents, entry_keys")
        print(f"{len(ids):,} entries back to not findable; their keys deleted")
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.findable", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--sample", type=int, default=5000, help="entries to make findable")
    parser.add_argument("--keys", type=int, default=256, help="distinct RSA key pairs to share")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--undo", action="store_true", help="undo what this script did")
    parser.add_argument("--dsn", help="benchmark database DSN (default: bench.server's)")
    args = parser.parse_args(argv)
    dsn = database_dsn(args.dsn)
    if args.undo:
        asyncio.run(undo(dsn))
    else:
        # Before the event loop starts: the pool forks.
        with Timer() as timer:
            pairs = key_pool(args.keys)
        print(f"key pool: {len(pairs)} RSA-2048 pairs ({timer.seconds:.1f} s)", flush=True)
        asyncio.run(prepare(dsn, args.sample, pairs, args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
