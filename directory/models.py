"""The directory's domain values: entries, linked accounts, proofs and consents."""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime


class EntryStatus(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"
    DISPUTED = "disputed"


class Network(enum.StrEnum):
    FEDIVERSE = "fediverse"
    BLUESKY = "bluesky"


class XProofMethod(enum.StrEnum):
    """How the X side of an entry was proven; `level` orders them (DESIGN §3 Proofs)."""

    ARCHIVE = "archive"  # the person's own account.js: self-asserted, never enough to publish
    VOUCHED = "vouched"  # the organisation vouches, e.g. its CLI import of members
    MODERATOR = "moderator"  # a moderator checked a one-time code in the X bio or a post
    X_OAUTH = "x_oauth"  # OAuth 2.0 with the organisation's own X app

    @property
    def level(self) -> int:
        return _X_PROOF_LEVELS[self]


_X_PROOF_LEVELS = {
    XProofMethod.ARCHIVE: 0,
    XProofMethod.VOUCHED: 1,
    XProofMethod.MODERATOR: 2,
    XProofMethod.X_OAUTH: 3,
}
MIN_PUBLISH_LEVEL = 1


class AccountProofMethod(enum.StrEnum):
    VOUCHED = "vouched"
    MASTODON_OAUTH = "mastodon_oauth"
    ALIAS = "alias"
    ATPROTO_OAUTH = "atproto_oauth"
    APP_PASSWORD = "app_password"  # noqa: S105  (a proof method, not a password)
    PROFILE_CODE = "profile_code"


class Purpose(enum.StrEnum):
    """What a person consents to, one purpose at a time (DESIGN §3 Consent)."""

    LISTED = "listed"
    FEDERATED = "federated"
    FINDABLE = "findable"
    PUBLIC = "public"
    ANNOUNCE = "announce"
    NOTIFY = "notify"


CONSENT_TEXT_VERSION = "2026-11-v1"


@dataclasses.dataclass(frozen=True)
class NewAccount:
    """A new account to link to an entry, before it is stored."""

    network: Network
    handle: str
    handle_key: str
    profile_url: str
    proof_method: AccountProofMethod | None = None
    is_primary: bool = False


@dataclasses.dataclass(frozen=True)
class LinkedAccount:
    """A new account of an entry, as stored."""

    id: int
    network: Network
    handle: str
    profile_url: str
    canonical_id: str | None
    proof_method: AccountProofMethod | None
    verified_at: datetime | None
    is_primary: bool


@dataclasses.dataclass(frozen=True)
class Entry:
    """One person's mapping from an X account to new accounts, with its state."""

    id: int
    x_account_id: int
    x_handle: str | None
    display_name: str | None
    status: EntryStatus
    x_proof_method: XProofMethod | None
    x_proof_level: int
    consents: frozenset[Purpose]
    origin_host: str | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    withdrawn_at: datetime | None
    accounts: tuple[LinkedAccount, ...] = ()


@dataclasses.dataclass(frozen=True)
class ConsentRecord:
    """One row of an entry's consent history."""

    purpose: Purpose
    granted: bool
    text_version: str
    source: str
    recorded_at: datetime
