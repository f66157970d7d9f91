"""The federation context: what every ActivityPub use case needs, injected in one object."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import httpx

from activitypub import keys
from activitypub.addresses import AddressPolicy
from activitypub.auth import SignedAuth
from activitypub.safehttp import FetchPolicy
from directory import __version__
from directory.db import Conn, Executor
from directory.services.actor_cache import ActorCache
from directory.settings import Settings
from directory.store import keys as key_store
from directory.store.keys import KeyMaker
from directory.urls import Urls


def make_rsa_key() -> tuple[str, str]:
    """A fresh RSA-2048 key pair as (private PEM, public PEM)."""
    pair = keys.generate_rsa_keypair()
    return pair.private_pem, pair.public_pem


def utc_now() -> datetime:
    return datetime.now(UTC)


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The safe client's rules: https on 443 to public addresses, unless a test loosens them.

    HIRONDELLE_UNSAFE_ALLOW_PRIVATE_ADDRESSES (local tests only) also lifts the port rule,
    since test peers listen on arbitrary ports.
    """
    allowed = tuple(ipaddress.ip_network(n) for n in settings.federation_allow_private)
    return FetchPolicy(
        addresses=AddressPolicy(allowed=allowed),
        allow_http=settings.federation_allow_http,
        allowed_ports=frozenset(range(1, 65536)) if allowed else None,
        user_agent=f"Hirondelle/{__version__} (+https://{settings.domain}/)",
    )


@dataclasses.dataclass(frozen=True)
class Federation:
    """Our URLs, the database, the safe HTTP client and its policy, the clock and key maker.

    `actor_cache` keeps entry actors' and WebFinger answers; it is off (serves nothing) unless
    a web process listens to entry changes (services/cache_listener.py).
    """

    urls: Urls
    pool: asyncpg.Pool
    client: httpx.AsyncClient
    policy: FetchPolicy
    now: Callable[[], datetime] = utc_now
    make_key: KeyMaker = make_rsa_key
    software_version: str = __version__
    actor_cache: ActorCache = dataclasses.field(default_factory=lambda: ActorCache(0))

    async def instance_key(self, conn: Executor | None = None) -> tuple[str, str]:
        """The instance actor's (private, public) PEMs."""
        return await key_store.instance_key(conn or self.pool, self.make_key)

    async def entry_key(self, conn: Conn, entry_id: int) -> tuple[str, str]:
        """An entry actor's (private, public) PEMs, made on first use."""
        return await key_store.entry_key(conn, entry_id, self.make_key)

    def instance_auth(self, private_pem: str) -> httpx.Auth:
        """Sign fetches as the instance actor (authorized-fetch servers require it)."""
        return SignedAuth(
            key_id=keys.key_id(self.urls.instance_actor()), private_pem=private_pem, now=self.now
        )
