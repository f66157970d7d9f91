"""Import an organisation's CSV of members: it vouches for each X account and holds consent.

The file is read whole, every row is checked, and then either everything is written in one
transaction or nothing is (unless a partial import is asked for). Each refused row is reported
with its line number and reason.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import asyncpg

from directory.models import Purpose
from directory.store import imports as store
from matching import identifiers as ids

COLUMNS = ("x_account_id", "x_handle", "display_name", "fediverse", "bluesky")
MAX_FIELD = 1000
STATEMENT = (
    "The organisation imported this entry, vouching for the X account and stating that it holds"
    " the person's consent."
)
ProgressFn = Callable[[str], None]
_T = TypeVar("_T")


class _CsvReader(Protocol):
    line_num: int

    def __next__(self) -> list[str]: ...


@dataclasses.dataclass(frozen=True)
class RowError:
    """A refused row: its line number in the file (1 is the header) and why."""

    line: int
    reason: str


@dataclasses.dataclass(frozen=True)
class ParsedFile:
    rows: list[store.ImportRow]
    errors: list[RowError]


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import did: rows read, entries created and updated, rows refused."""

    rows: int
    created: int
    updated: int
    errors: list[RowError]
    committed: bool


class ImportFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, emptiness)."""


def parse_file(data: bytes) -> ParsedFile:
    """Decode and check every row of an import file; raise ImportFileError if it is unreadable."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _read_header(reader)
    rows: list[store.ImportRow] = []
    errors: list[RowError] = []
    seen_ids: dict[int, int] = {}
    seen_handles: dict[str, int] = {}
    for line, fields in _records(reader, errors):
        if not any(field.strip() for field in fields):
            continue
        result = parse_row(line, dict(zip(header, fields, strict=False)), len(fields), len(header))
        if isinstance(result, RowError):
            errors.append(result)
            continue
        duplicate = _duplicate(result, seen_ids, seen_handles)
        if duplicate is not None:
            errors.append(duplicate)
            continue
        rows.append(result)
    return ParsedFile(rows=rows, errors=sorted(errors, key=lambda e: e.line))


def parse_row(
    line: int, record: dict[str, str], width: int, expected: int
) -> store.ImportRow | RowError:
    """Check one row; return it ready to store, or the first reason it is refused."""
    if width != expected:
        return RowError(line, f"expected {expected} fields, found {width}")
    if any(len(value) > MAX_FIELD for value in record.values()):
        return RowError(line, f"a field is longer than {MAX_FIELD} characters")
    x_id = ids.parse_x_account_id(record["x_account_id"])
    handle = ids.parse_x_handle(record["x_handle"])
    name = ids.parse_display_name(record["display_name"])
    fedi = _optional(record["fediverse"], ids.parse_fediverse_handle)
    bsky = _optional(record["bluesky"], ids.parse_bluesky_handle)
    if isinstance(x_id, ids.Invalid):
        return RowError(line, x_id.detail)
    if isinstance(handle, ids.Invalid):
        return RowError(line, handle.detail)
    if isinstance(name, ids.Invalid):
        return RowError(line, name.detail)
    if isinstance(fedi, ids.Invalid):
        return RowError(line, fedi.detail)
    if isinstance(bsky, ids.Invalid):
        return RowError(line, bsky.detail)
    if fedi is None and bsky is None:
        return RowError(line, "give a fediverse or a Bluesky handle (or both)")
    shown = name or handle
    return store.ImportRow(
        line=line,
        x_account_id=x_id,
        x_handle=handle,
        display_name=shown,
        name_key=ids.search_key(shown),
        fediverse=None if fedi is None else (fedi.address, fedi.key, fedi.profile_url),
        bluesky=None if bsky is None else (bsky.handle, bsky.key, bsky.profile_url),
    )


async def import_rows(
    pool: asyncpg.Pool,
    parsed: ParsedFile,
    *,
    consents: frozenset[Purpose],
    source: str,
    partial: bool = False,
    update_existing: bool = False,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Write checked rows in one transaction: all of them, or with `partial`, the good ones.

    Rows that clash with the directory (a person who withdrew, an entry that exists, a handle
    that belongs to someone else) are reported together with the file's own bad rows.
    """
    if Purpose.LISTED not in consents:
        raise ValueError("an import publishes entries, so it needs the 'listed' consent")
    say = progress or (lambda _message: None)
    total = len(parsed.rows) + len(parsed.errors)
    async with pool.acquire() as conn, conn.transaction():
        say(f"checking {len(parsed.rows):,} rows against the directory")
        await store.stage_rows(conn, parsed.rows)
        clashes = await store.find_clashes(conn, update_existing=update_existing)
        errors = sorted(
            [*parsed.errors, *(RowError(c.line, c.reason) for c in clashes)],
            key=lambda e: e.line,
        )
        if errors and not partial:
            return ImportReport(total, 0, 0, errors, committed=False)  # only temp rows to drop
        await store.drop_lines(conn, [c.line for c in clashes])
        say("writing entries, accounts, proofs and consents")
        counts = await store.apply_staged(
            conn, consents=consents, recorded_by=source, statement=STATEMENT
        )
    return ImportReport(total, counts.created, counts.updated, errors, committed=True)


def _decode(data: bytes) -> str:
    if not data.strip():
        raise ImportFileError(f"the file is empty; expected a header: {','.join(COLUMNS)}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(
            f"line {line}: the file is not UTF-8 (byte 0x{data[error.start]:02x});"
            " save it as CSV UTF-8"
        ) from None


def _read_header(reader: _CsvReader) -> list[str]:
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error) as error:
        raise ImportFileError(f"line 1: unreadable header ({error})") from None
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        raise ImportFileError(
            f"line 1: the header must name the columns {','.join(COLUMNS)}"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    return header


def _records(reader: _CsvReader, errors: list[RowError]) -> Iterator[tuple[int, list[str]]]:
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            errors.append(RowError(line, f"malformed CSV: {error}"))
            return
        yield line, fields


def _optional(raw: str, parse: Callable[[str], _T | ids.Invalid]) -> _T | ids.Invalid | None:
    return None if not raw.strip() else parse(raw)


def _duplicate(
    row: store.ImportRow, seen_ids: dict[int, int], seen_handles: dict[str, int]
) -> RowError | None:
    key = ids.x_handle_key(row.x_handle)
    earlier = seen_ids.get(row.x_account_id) or seen_handles.get(key)
    if earlier is not None:
        return RowError(row.line, f"the same X account or handle is already on line {earlier}")
    seen_ids[row.x_account_id] = row.line
    seen_handles[key] = row.line
    return None
