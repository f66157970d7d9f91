"""Entry use cases: creation, publication rules, accounts, proofs, consents and withdrawal."""

from __future__ import annotations

import asyncpg
import orjson
import pytest

from directory.errors import Conflict, InvalidInput, NotFound
from directory.models import AccountProofMethod, EntryStatus, Network, Purpose, XProofMethod
from directory.services import entries
from directory.store import directory as public
from tests.factories import published_entry


async def test_create__pending_with_no_consent(pool: asyncpg.Pool) -> None:
    entry = await entries.create_entry(
        pool, x_account_id="1234567890123456789", x_handle="@Jack", display_name=" Jack  D "
    )
    assert entry.status is EntryStatus.PENDING
    assert entry.x_account_id == 1234567890123456789
    assert (entry.x_handle, entry.display_name) == ("Jack", "Jack D")
    assert entry.consents == frozenset()
    assert entry.x_proof_method is None


async def test_create__display_name_defaults_to_handle(pool: asyncpg.Pool) -> None:
    entry = await entries.create_entry(pool, x_account_id="5", x_handle="solo", display_name="")
    assert entry.display_name == "solo"


@pytest.mark.parametrize(
    ("x_id", "handle", "name", "code"),
    [
        ("abc", "jack", "Jack", "invalid_x_account_id"),
        ("12", "jack\u200b", "Jack", "invalid_x_handle"),
        ("12", "sixteen_chars_xx", "Jack", "invalid_x_handle"),
        ("12", "jack", "J\u202eack", "invalid_display_name"),
    ],
)
async def test_create__refuses_bad_values(
    pool: asyncpg.Pool, x_id: str, handle: str, name: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        await entries.create_entry(pool, x_account_id=x_id, x_handle=handle, display_name=name)
    assert raised.value.code == code


async def test_create__one_live_local_entry_per_x_id_and_handle(pool: asyncpg.Pool) -> None:
    await entries.create_entry(pool, x_account_id="12", x_handle="jack", display_name="")
    with pytest.raises(Conflict):
        await entries.create_entry(pool, x_account_id="12", x_handle="other", display_name="")
    with pytest.raises(Conflict):  # handles compare case-insensitively
        await entries.create_entry(pool, x_account_id="13", x_handle="JACK", display_name="")


@pytest.mark.parametrize(
    ("consent", "proof", "account", "problem"),
    [
        (False, True, True, "not consented to be listed"),
        (True, False, True, "X account is not proven"),
        (True, True, False, "no new account"),
    ],
)
async def test_publish__needs_consent_proof_and_account(
    pool: asyncpg.Pool, consent: bool, proof: bool, account: bool, problem: str
) -> None:
    entry = await entries.create_entry(pool, x_account_id="12", x_handle="jack", display_name="")
    if consent:
        await entries.set_consents(pool, entry.id, {Purpose.LISTED: True}, source="self")
    if proof:
        await entries.record_x_proof(
            pool, entry.id, method=XProofMethod.VOUCHED, statement="", recorded_by="t"
        )
    if account:
        await entries.add_account(
            pool, entry.id, network=Network.FEDIVERSE, handle="jack@m.test", proof=None
        )
    with pytest.raises(Conflict, match=problem):
        await entries.publish_entry(pool, entry.id)
    assert (await entries.get_entry(pool, entry.id)).status is EntryStatus.PENDING


async def test_publish__archive_proof_alone_is_not_enough(pool: asyncpg.Pool) -> None:
    entry = await entries.create_entry(pool, x_account_id="12", x_handle="jack", display_name="")
    await entries.set_consents(pool, entry.id, {Purpose.LISTED: True}, source="self")
    await entries.add_account(
        pool, entry.id, network=Network.BLUESKY, handle="jack.bsky.test", proof=None
    )
    await entries.record_x_proof(
        pool, entry.id, method=XProofMethod.ARCHIVE, statement="account.js", recorded_by="t"
    )
    with pytest.raises(Conflict, match="archive alone proves nothing"):
        await entries.publish_entry(pool, entry.id)


async def test_proof__the_strongest_is_kept(pool: asyncpg.Pool) -> None:
    entry = await entries.create_entry(pool, x_account_id="12", x_handle="jack", display_name="")
    for method in (XProofMethod.MODERATOR, XProofMethod.VOUCHED, XProofMethod.ARCHIVE):
        entry = await entries.record_x_proof(
            pool, entry.id, method=method, statement="", recorded_by="t"
        )
    assert (entry.x_proof_method, entry.x_proof_level) == (XProofMethod.MODERATOR, 2)


async def test_published_entry__document_is_rendered(pool: asyncpg.Pool) -> None:
    entry = await published_entry(
        pool,
        x_account_id="1234567890123456789",
        fediverse="@Jack@Mastodon.test",
        bluesky="jack.bsky.test",
    )
    doc = await public.doc_by_x_account_id(pool, entry.x_account_id)
    assert doc is not None
    body = orjson.loads(doc)
    assert body["x_account_id"] == "1234567890123456789"  # a string: beyond 2^53
    assert body["x_proof"] == {"method": "vouched", "level": 1}
    assert [(a["network"], a["handle"], a["primary"]) for a in body["accounts"]] == [
        ("fediverse", "Jack@mastodon.test", True),
        ("bluesky", "jack.bsky.test", True),
    ]
    assert body["accounts"][0]["url"] == "https://mastodon.test/@Jack"
    assert body["accounts"][0]["proof"]["method"] == "vouched"


async def test_account_changes__rerender_the_document(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    entry = await entries.add_account(
        pool, entry.id, network=Network.FEDIVERSE, handle="jack2@other.test", proof=None
    )
    doc = orjson.loads(await public.doc_by_x_account_id(pool, 12) or "null")
    assert [a["handle"] for a in doc["accounts"]] == ["jack@mastodon.test", "jack2@other.test"]
    assert [a["primary"] for a in doc["accounts"]] == [True, False]
    second = next(a for a in entry.accounts if a.handle == "jack2@other.test")
    await entries.remove_account(pool, entry.id, second.id)
    doc = orjson.loads(await public.doc_by_x_account_id(pool, 12) or "null")
    assert [a["handle"] for a in doc["accounts"]] == ["jack@mastodon.test"]


async def test_accounts__duplicates_and_last_account(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    with pytest.raises(Conflict, match="already linked"):
        await entries.add_account(
            pool, entry.id, network=Network.FEDIVERSE, handle="JACK@mastodon.test", proof=None
        )
    with pytest.raises(Conflict, match="withdraw the entry instead"):
        await entries.remove_account(pool, entry.id, entry.accounts[0].id)
    with pytest.raises(NotFound):
        await entries.remove_account(pool, entry.id, 999_999)
    with pytest.raises(InvalidInput):
        await entries.add_account(
            pool, entry.id, network=Network.BLUESKY, handle="not a handle", proof=None
        )


async def test_consents__history_is_kept_and_current_state_follows(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool, public=True)
    await entries.set_consents(pool, entry.id, {Purpose.PUBLIC: False}, source="self")
    await entries.set_consents(
        pool, entry.id, {Purpose.FINDABLE: True, Purpose.PUBLIC: True}, source="self"
    )
    entry = await entries.get_entry(pool, entry.id)
    assert entry.consents == {Purpose.LISTED, Purpose.PUBLIC, Purpose.FINDABLE}
    history = await entries.consent_history(pool, entry.id)
    assert [(h.purpose, h.granted) for h in history][-3:] == [
        (Purpose.PUBLIC, False),
        (Purpose.FINDABLE, True),
        (Purpose.PUBLIC, True),
    ]
    assert all(h.text_version for h in history)


async def test_consents__withdrawing_listed_goes_through_withdraw(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    with pytest.raises(Conflict, match="use withdraw"):
        await entries.set_consents(pool, entry.id, {Purpose.LISTED: False}, source="self")


async def test_withdraw__leaves_a_tombstone_without_personal_data(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool, bluesky="jack.bsky.test")
    gone = await entries.withdraw_entry(pool, entry.id)
    assert gone.status is EntryStatus.WITHDRAWN
    assert (gone.x_handle, gone.display_name, gone.accounts) == (None, None, ())
    assert gone.consents == frozenset()
    assert gone.withdrawn_at is not None
    row = await pool.fetchrow("SELECT * FROM entries WHERE id = $1", entry.id)
    assert row is not None
    assert (row["doc"], row["name_key"], row["x_proof_method"]) == (None, None, None)
    for table in ("accounts", "proofs", "consents"):
        count = await pool.fetchval(f"SELECT count(*) FROM {table} WHERE entry_id = $1", entry.id)
        assert count == 0, table
    assert await public.doc_by_x_account_id(pool, 12) is None
    with pytest.raises(Conflict, match="withdrawn"):
        await entries.withdraw_entry(pool, entry.id)


async def test_withdraw__the_person_may_register_again(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    await entries.withdraw_entry(pool, entry.id)
    again = await published_entry(pool)
    assert again.id != entry.id
    assert (await entries.find_local_entry(pool, "12")).id == again.id


async def test_find_local_entry__by_id_handle_or_tombstone(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    assert (await entries.find_local_entry(pool, "@JACK")).id == entry.id
    assert (await entries.find_local_entry(pool, "12")).id == entry.id
    await entries.withdraw_entry(pool, entry.id)
    assert (await entries.find_local_entry(pool, "12")).status is EntryStatus.WITHDRAWN
    with pytest.raises(NotFound):
        await entries.find_local_entry(pool, "@jack")
    with pytest.raises(InvalidInput):
        await entries.find_local_entry(pool, "@not a handle")


async def test_update__handle_changes_and_collisions(pool: asyncpg.Pool) -> None:
    entry = await published_entry(pool)
    await published_entry(pool, x_account_id="13", x_handle="other")
    updated = await entries.update_entry(pool, entry.id, x_handle="jack_new", display_name="J")
    assert updated.x_handle == "jack_new"
    assert await public.doc_by_x_handle(pool, "jack_new") is not None
    assert await public.doc_by_x_handle(pool, "jack") is None
    with pytest.raises(Conflict):
        await entries.update_entry(pool, entry.id, x_handle="Other", display_name="")


async def test_list__by_status(pool: asyncpg.Pool) -> None:
    await published_entry(pool)
    await entries.create_entry(pool, x_account_id="13", x_handle="pending1", display_name="")
    listed = await entries.list_entries(pool, status=EntryStatus.PENDING)
    assert [e.x_handle for e in listed] == ["pending1"]
    assert len(await entries.list_entries(pool, status=None)) == 2


async def test_vouched_account_proof__is_recorded(pool: asyncpg.Pool) -> None:
    entry = await entries.create_entry(pool, x_account_id="12", x_handle="jack", display_name="")
    entry = await entries.add_account(
        pool,
        entry.id,
        network=Network.FEDIVERSE,
        handle="jack@m.test",
        proof=AccountProofMethod.VOUCHED,
    )
    account = entry.accounts[0]
    assert account.proof_method is AccountProofMethod.VOUCHED
    assert account.verified_at is not None
    assert account.is_primary
