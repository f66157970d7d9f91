"""Build test entries through the real services (never by writing rows by hand)."""

from __future__ import annotations

import asyncpg

from directory.models import AccountProofMethod, Entry, Network, Purpose, XProofMethod
from directory.services import entries


async def published_entry(
    pool: asyncpg.Pool,
    *,
    x_account_id: str = "12",
    x_handle: str = "jack",
    display_name: str = "Jack",
    fediverse: str | None = "@jack@mastodon.test",
    bluesky: str | None = None,
    public: bool = True,
    findable: bool = False,
) -> Entry:
    """A published, vouched entry with the given new accounts."""
    entry = await entries.create_entry(
        pool, x_account_id=x_account_id, x_handle=x_handle, display_name=display_name
    )
    for network, handle in ((Network.FEDIVERSE, fediverse), (Network.BLUESKY, bluesky)):
        if handle is not None:
            await entries.add_account(
                pool, entry.id, network=network, handle=handle, proof=AccountProofMethod.VOUCHED
            )
    await entries.record_x_proof(
        pool, entry.id, method=XProofMethod.VOUCHED, statement="test", recorded_by="tests"
    )
    await entries.set_consents(
        pool,
        entry.id,
        {Purpose.LISTED: True, Purpose.PUBLIC: public, Purpose.FINDABLE: findable},
        source="self",
    )
    return await entries.publish_entry(pool, entry.id)
