"""Create, change, publish and withdraw entries, with their accounts, proofs and consents."""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from directory.db import Conn
from directory.errors import Conflict, InvalidInput, NotFound
from directory.models import (
    CONSENT_TEXT_VERSION,
    MIN_PUBLISH_LEVEL,
    AccountProofMethod,
    ConsentRecord,
    Entry,
    EntryStatus,
    Network,
    NewAccount,
    Purpose,
    XProofMethod,
)
from directory.services import outbound
from directory.store import entries as store
from directory.urls import Urls
from matching import identifiers as ids


async def create_entry(
    pool: asyncpg.Pool, *, x_account_id: object, x_handle: object, display_name: object
) -> Entry:
    """Create a pending local entry; refuse a second live entry for one X id or handle."""
    x_id, handle, name = (
        _valid_x_id(x_account_id),
        _valid_handle(x_handle),
        _valid_name(display_name),
    )
    async with pool.acquire() as conn, conn.transaction():
        try:
            entry_id = await store.insert_entry(
                conn,
                x_account_id=x_id,
                x_handle=handle,
                display_name=name or handle,
                name_key=ids.search_key(name or handle),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"an entry for X id {x_id} or handle @{handle} is already in the directory",
                code="entry_exists",
            ) from None
        return await _read(conn, entry_id)


async def update_entry(
    pool: asyncpg.Pool, entry_id: int, *, x_handle: object, display_name: object
) -> Entry:
    """Change an entry's X handle (X handles change) and display name."""
    handle, name = _valid_handle(x_handle), _valid_name(display_name)
    async with pool.acquire() as conn, conn.transaction():
        await _live(conn, entry_id)
        try:
            await store.update_entry(
                conn,
                entry_id,
                x_handle=handle,
                display_name=name or handle,
                name_key=ids.search_key(name or handle),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"@{handle} belongs to another entry", code="handle_taken") from None
        return await _read(conn, entry_id)


async def add_account(
    pool: asyncpg.Pool,
    entry_id: int,
    *,
    network: Network,
    handle: object,
    proof: AccountProofMethod | None,
) -> Entry:
    """Link a new fediverse or Bluesky account to an entry."""
    account = parse_new_account(network, handle, proof=proof)
    async with pool.acquire() as conn, conn.transaction():
        entry = await _live(conn, entry_id)
        primary = not any(a.network is network and a.is_primary for a in entry.accounts)
        try:
            await store.insert_accounts(conn, entry_id, [_with_primary(account, primary)])
        except asyncpg.UniqueViolationError:
            raise Conflict(f"{account.handle} is already linked", code="account_exists") from None
        return await _read(conn, entry_id)


async def remove_account(pool: asyncpg.Pool, entry_id: int, account_id: int) -> Entry:
    """Unlink an account; a published entry keeps at least one."""
    async with pool.acquire() as conn, conn.transaction():
        entry = await _live(conn, entry_id)
        if all(account.id != account_id for account in entry.accounts):
            raise NotFound(f"entry {entry_id} has no account {account_id}")
        if entry.status is EntryStatus.PUBLISHED and len(entry.accounts) == 1:
            raise Conflict(
                "a published entry needs a new account; withdraw the entry instead",
                code="last_account",
            )
        await store.delete_account(conn, entry_id, account_id)
        return await _read(conn, entry_id)


async def record_x_proof(
    pool: asyncpg.Pool, entry_id: int, *, method: XProofMethod, statement: str, recorded_by: str
) -> Entry:
    """Record how the X side was proven; the entry keeps its strongest proof."""
    async with pool.acquire() as conn, conn.transaction():
        await _live(conn, entry_id)
        await store.insert_x_proof(
            conn, entry_id, method=method, statement=statement, recorded_by=recorded_by
        )
        return await _read(conn, entry_id)


async def set_consents(
    pool: asyncpg.Pool, entry_id: int, choices: Mapping[Purpose, bool], *, source: str
) -> Entry:
    """Record consent choices; withdrawing 'listed' from a published entry unpublishes it."""
    if not choices:
        raise InvalidInput("no consent choice given", code="no_choices")
    async with pool.acquire() as conn, conn.transaction():
        entry = await _live(conn, entry_id)
        if entry.status is EntryStatus.PUBLISHED and choices.get(Purpose.LISTED) is False:
            raise Conflict(
                "withdrawing the 'listed' consent withdraws the entry: use withdraw",
                code="use_withdraw",
            )
        await store.insert_consents(
            conn, entry_id, choices, text_version=CONSENT_TEXT_VERSION, source=source
        )
        return await _read(conn, entry_id)


async def publish_entry(pool: asyncpg.Pool, entry_id: int) -> Entry:
    """Publish an entry that has consent to be listed, a proven X side and a new account."""
    async with pool.acquire() as conn, conn.transaction():
        entry = await _live(conn, entry_id)
        problem = publish_problem(entry)
        if problem is not None:
            raise Conflict(problem, code="not_publishable")
        await store.set_published(conn, entry_id)
        return await _read(conn, entry_id)


async def withdraw_entry(pool: asyncpg.Pool, entry_id: int, *, urls: Urls | None = None) -> Entry:
    """Withdraw an entry: erase its personal data and leave a tombstone (id, X id, dates).

    With `urls`, the entry actor's followers' servers are sent `Delete(actor)` in the same
    transaction (GDPR Art. 17(2); attacks.md J2), and the actor answers 410 from then on.
    """
    async with pool.acquire() as conn, conn.transaction():
        entry = await _live(conn, entry_id)
        if urls is not None:
            actor_id = urls.entry_actor(entry.x_account_id)
            await outbound.delete_actor(conn, urls, entry_id=entry_id, actor_id=actor_id)
        await store.make_tombstone(conn, entry_id)
        return await _read(conn, entry_id)


async def get_entry(pool: asyncpg.Pool, entry_id: int) -> Entry:
    """Read one entry of any status (for administrators)."""
    async with pool.acquire() as conn:
        return await _read(conn, entry_id)


async def find_local_entry(pool: asyncpg.Pool, reference: str) -> Entry:
    """Find a local entry by X id (digits) or X handle (`@name`), live ones first."""
    text = reference.strip()
    async with pool.acquire() as conn:
        if text.isascii() and text.isdigit():
            x_id = _valid_x_id(text)
            entry_id = await store.find_local_entry_id(conn, x_account_id=x_id)
            if entry_id is None:
                tombstone = await store.find_tombstone(conn, x_id)
                if tombstone is not None:
                    return tombstone
        else:
            key = ids.x_handle_key(_valid_handle(text))
            entry_id = await store.find_local_entry_id(conn, x_handle_key=key)
        if entry_id is None:
            raise NotFound(f"no entry for {text!r} in this directory")
        return await _read(conn, entry_id)


async def list_entries(
    pool: asyncpg.Pool, *, status: EntryStatus | None, after_id: int = 0, limit: int = 100
) -> list[Entry]:
    """Entries in creation order, optionally of one status, for administrators."""
    async with pool.acquire() as conn:
        return await store.list_entries(conn, status=status, after_id=after_id, limit=limit)


async def consent_history(pool: asyncpg.Pool, entry_id: int) -> list[ConsentRecord]:
    """An entry's consent history, oldest first."""
    async with pool.acquire() as conn:
        return await store.fetch_consent_history(conn, entry_id)


def publish_problem(entry: Entry) -> str | None:
    """Why an entry cannot be published yet, or None when it can."""
    if Purpose.LISTED not in entry.consents:
        return "the person has not consented to be listed"
    if entry.x_proof_level < MIN_PUBLISH_LEVEL:
        return "the X account is not proven (an uploaded archive alone proves nothing)"
    if not entry.accounts:
        return "the entry has no new account"
    return None


def parse_new_account(
    network: Network, handle: object, *, proof: AccountProofMethod | None
) -> NewAccount:
    """Validate a new handle for a network; raise InvalidInput with the reason."""
    parsed = (
        ids.parse_fediverse_handle(handle)
        if network is Network.FEDIVERSE
        else ids.parse_bluesky_handle(handle)
    )
    if isinstance(parsed, ids.Invalid):
        raise InvalidInput(parsed.detail, code=parsed.code)
    shown = parsed.address if isinstance(parsed, ids.FediverseHandle) else parsed.handle
    return NewAccount(network, shown, parsed.key, parsed.profile_url, proof)


def _with_primary(account: NewAccount, primary: bool) -> NewAccount:
    return NewAccount(
        account.network,
        account.handle,
        account.handle_key,
        account.profile_url,
        account.proof_method,
        primary,
    )


async def _read(conn: Conn, entry_id: int) -> Entry:
    entry = await store.fetch_entry(conn, entry_id)
    if entry is None:
        raise NotFound(f"no entry {entry_id}")
    return entry


async def _live(conn: Conn, entry_id: int) -> Entry:
    entry = await _read(conn, entry_id)
    if entry.status is EntryStatus.WITHDRAWN:
        raise Conflict(f"entry {entry_id} was withdrawn", code="withdrawn")
    return entry


def _valid_x_id(raw: object) -> int:
    parsed = ids.parse_x_account_id(raw)
    if isinstance(parsed, ids.Invalid):
        raise InvalidInput(parsed.detail, code=parsed.code)
    return parsed


def _valid_handle(raw: object) -> str:
    parsed = ids.parse_x_handle(raw)
    if isinstance(parsed, ids.Invalid):
        raise InvalidInput(parsed.detail, code=parsed.code)
    return parsed


def _valid_name(raw: object) -> str:
    parsed = ids.parse_display_name("" if raw is None else raw)
    if isinstance(parsed, ids.Invalid):
        raise InvalidInput(parsed.detail, code=parsed.code)
    return parsed
