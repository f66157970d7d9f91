"""Answer the public directory's questions: look up, search and bulk-match entries.

Results are the stored JSON documents (text), ready to be sent as they are.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
from collections.abc import Iterable, Sequence

import asyncpg

from directory.errors import InvalidInput, NotFound, TooLarge
from directory.store import directory as store, search as search_store
from matching import identifiers as ids

MAX_MATCH_IDS = 100_000
# performance-baseline.md F3: a 100k-element array costs 22 ms of planning; chunks of ~10k
# keep planning cheap and let two connections share the work (also for a 5,000-id list:
# two chunks of 2,500 on two connections, bench/README.md).
MATCH_CHUNK = 10_000
MATCH_CHUNK_MIN = 1_000
MATCH_PARALLELISM = 2
MAX_SEARCH_LIMIT = 100
MAX_SEARCH_DEPTH = 1000
MAX_QUERY_LENGTH = 100


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """Documents of the matched entries (one per X id) and how many ids found nothing."""

    docs: list[str]
    unmatched: int


@dataclasses.dataclass(frozen=True)
class SearchPage:
    """One page of search results and the cursor of the next page (None at the end)."""

    docs: list[str]
    next_cursor: str | None


async def lookup_by_x_account_id(pool: asyncpg.Pool, raw_id: str) -> str:
    """The published entry for an X id, or NotFound."""
    x_id = ids.parse_x_account_id(raw_id)
    if isinstance(x_id, ids.Invalid):
        raise InvalidInput(x_id.detail, code=x_id.code)
    doc = await store.doc_by_x_account_id(pool, x_id)
    if doc is None:
        raise NotFound(f"no published entry for X account {x_id}")
    return doc


async def lookup_by_x_handle(pool: asyncpg.Pool, raw_handle: str) -> str:
    """The published, public entry for an X handle (case-insensitive), or NotFound."""
    handle = ids.parse_x_handle(raw_handle)
    if isinstance(handle, ids.Invalid):
        raise InvalidInput(handle.detail, code=handle.code)
    doc = await store.doc_by_x_handle(pool, ids.x_handle_key(handle))
    if doc is None:
        raise NotFound(f"no published entry for @{handle}")
    return doc


async def lookup_by_new_handle(pool: asyncpg.Pool, raw_handle: str) -> list[str]:
    """Published, public entries that link a fediverse (`@a@b.c`) or Bluesky (`a.b.c`) handle."""
    text = raw_handle.strip().removeprefix("@")
    parsed = ids.parse_fediverse_handle(text) if "@" in text else ids.parse_bluesky_handle(text)
    if isinstance(parsed, ids.Invalid):
        raise InvalidInput(parsed.detail, code=parsed.code)
    return await store.docs_by_new_handle(pool, parsed.key)


async def match_x_account_ids(pool: asyncpg.Pool, raw_ids: object) -> MatchResult:
    """Match up to 100,000 X ids (strings of digits) against published entries."""
    wanted = _parse_id_list(raw_ids)
    chunks = split_for_match(wanted)
    gate = asyncio.Semaphore(MATCH_PARALLELISM)

    async def run(chunk: list[int]) -> list[tuple[int, str]]:
        async with gate:
            return await store.match_x_account_ids(pool, chunk)

    found = await asyncio.gather(*(run(chunk) for chunk in chunks))
    docs = _one_per_key(row for rows in found for row in rows)
    return MatchResult(docs=docs, unmatched=len(wanted) - len(docs))


async def match_x_handles(pool: asyncpg.Pool, raw_handles: object) -> MatchResult:
    """Match up to 100,000 X handles against published, public entries."""
    if not isinstance(raw_handles, list):
        raise InvalidInput("x_handles must be a list of strings", code="invalid_x_handles")
    _check_count(raw_handles)
    keys: set[str] = set()
    for position, raw in enumerate(raw_handles):
        handle = ids.parse_x_handle(raw)
        if isinstance(handle, ids.Invalid):
            raise InvalidInput(f"x_handles[{position}]: {handle.detail}", code=handle.code)
        keys.add(ids.x_handle_key(handle))
    wanted = sorted(keys)
    found = await store.match_x_handles(pool, wanted)
    docs = _one_per_key(found)
    return MatchResult(docs=docs, unmatched=len(wanted) - len(docs))


async def search(pool: asyncpg.Pool, query: str, *, limit: int, cursor: str | None) -> SearchPage:
    """Search handles (X and new) by prefix, display names by prefix, then fuzzily."""
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_SEARCH_LIMIT}", code="invalid_limit")
    offset = _decode_cursor(cursor)
    key = ids.search_key(query)
    if not key or len(key) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"q must have 1 to {MAX_QUERY_LENGTH} characters", code="invalid_query")
    handle_prefix = key.removeprefix("@").replace(" ", "")
    async with pool.acquire() as conn:
        hits = await search_store.search_entries(
            conn,
            handle_prefix=handle_prefix or key,
            name_prefix=key,
            fuzzy=len(key) >= 3 and not _looks_like_handle(key),
            limit=offset + limit + 1,
        )
    seen: set[int] = set()
    ranked: list[str] = []
    for hit in sorted(hits, key=lambda h: h.tier):
        if hit.entry_id not in seen:
            seen.add(hit.entry_id)
            ranked.append(hit.doc)
    page = ranked[offset : offset + limit]
    more = len(ranked) > offset + limit and offset + limit < MAX_SEARCH_DEPTH
    return SearchPage(docs=page, next_cursor=_encode_cursor(offset + limit) if more else None)


def _looks_like_handle(key: str) -> bool:
    """A handle, not a name: display names are not searched fuzzily for it (bench/README.md)."""
    return " " not in key and any(ch.isdigit() or ch in "_@." for ch in key)


def split_for_match(wanted: list[int]) -> list[list[int]]:
    """Chunks of at most MATCH_CHUNK ids, spread over MATCH_PARALLELISM connections.

    A list of a few thousand ids is still split in two so that both connections (and both
    PostgreSQL backends) work; chunks stay above MATCH_CHUNK_MIN ids, below which the round
    trips cost more than they save.
    """
    per_connection = -(-len(wanted) // MATCH_PARALLELISM)
    size = max(MATCH_CHUNK_MIN, min(MATCH_CHUNK, per_connection))
    return [wanted[i : i + size] for i in range(0, len(wanted), size)]


def _parse_id_list(raw_ids: object) -> list[int]:
    if not isinstance(raw_ids, list):
        raise InvalidInput("x_account_ids must be a list of strings", code="invalid_x_account_ids")
    _check_count(raw_ids)
    parsed = ids.parse_x_account_ids(raw_ids)
    if isinstance(parsed, ids.InvalidAt):
        raise InvalidInput(
            f"x_account_ids[{parsed.index}]: {parsed.invalid.detail}", code=parsed.invalid.code
        )
    return sorted(set(parsed))


def _check_count(items: Sequence[object]) -> None:
    if len(items) > MAX_MATCH_IDS:
        raise TooLarge(
            f"at most {MAX_MATCH_IDS:,} identifiers per request (got {len(items):,})",
            code="too_many_identifiers",
        )


def _one_per_key(rows: Iterable[tuple[object, str]]) -> list[str]:
    """Keep one document per X id (several origins may claim one id; federation picks)."""
    docs: dict[object, str] = {}
    for key, doc in rows:
        docs.setdefault(key, doc)
    return list(docs.values())


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        offset = int(text.removeprefix("o:")) if text.startswith("o:") else -1
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if not 0 <= offset < MAX_SEARCH_DEPTH:
        raise InvalidInput("cursor is not one this server gave", code="invalid_cursor")
    return offset
