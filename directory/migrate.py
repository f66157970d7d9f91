"""Apply the forward-only SQL migrations in order, once each, under an advisory lock."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from directory.db import Conn

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
# Any constant works; it only has to be the same in every Hirondelle process.
_LOCK_KEY = 0x6869726F6E64  # "hirond"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree, or one failed to apply."""


@dataclasses.dataclass(frozen=True)
class Migration:
    """One migration file: its number, file name and SQL text."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_dir() -> Path:
    """Where the migration files are: inside the installed wheel, or the source checkout."""
    packaged = Path(__file__).parent / "_migrations"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "migrations"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    """Read NNNN_name.sql files in version order; refuse gaps, duplicates and stray names."""
    return list(_load(directory or migrations_dir()))


@functools.cache
def _load(folder: Path) -> tuple[Migration, ...]:
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match.group(1)), path.name, path.read_text("utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"{migration.name}: expected migration number {expected:04d}")
    return tuple(found)


async def apply_migrations(
    connection: Conn, migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """Apply every pending migration, each in its own transaction; return those applied."""
    wanted = list(migrations) if migrations is not None else load_migrations()
    await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await connection.execute(_CREATE_TABLE)
        applied = await _applied_checksums(connection)
        _check_known(wanted, applied)
        done: list[Migration] = []
        for migration in wanted:
            if migration.version in applied:
                _check_unchanged(migration, applied[migration.version])
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            done.append(migration)
        return done
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)


async def pending_migrations(
    connection: Conn, migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """The migrations not yet applied (empty when the schema is current)."""
    wanted = list(migrations) if migrations is not None else load_migrations()
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    applied = await _applied_checksums(connection) if exists else {}
    _check_known(wanted, applied)
    return [m for m in wanted if m.version not in applied]


async def _applied_checksums(connection: Conn) -> dict[int, str]:
    rows = await connection.fetch("SELECT version, checksum FROM schema_migrations")
    return {row["version"]: row["checksum"] for row in rows}


def _check_known(wanted: Sequence[Migration], applied: dict[int, str]) -> None:
    newer = sorted(set(applied) - {m.version for m in wanted})
    if newer:
        raise MigrationError(
            f"the database has migration(s) {', '.join(f'{v:04d}' for v in newer)} that this"
            " release does not know: it was migrated by a newer Hirondelle"
        )


def _check_unchanged(migration: Migration, checksum: str) -> None:
    if migration.checksum != checksum:
        raise MigrationError(
            f"{migration.name} was changed after it was applied; "
            "migrations are forward-only: add a new file instead"
        )
