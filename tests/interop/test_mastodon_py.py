"""Hirondelle's Mastodon client API read by Mastodon.py 2.x, the reference Python client.

Mastodon.py is synchronous (requests), so its calls run in a worker thread while Hirondelle,
served for real by uvicorn, answers on the test's event loop. The same calls run against
Hirondelle over TLS (a requests session trusting the test CA) and over plain http.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests
from mastodon import Mastodon, MastodonNetworkError

from directory.services.moves import Moved, confirm_move
from tests.factories import published_entry
from tests.interop.conftest import Hirondelle, TlsFiles, serve_hirondelle
from tests.peers import Peer

JACK, JACKIE, QUIET = 12, 13, 14


@dataclasses.dataclass(frozen=True)
class Served:
    hirondelle: Hirondelle
    ca: str | None  # the CA file when served over TLS


@pytest.fixture(params=["https", "http"])
async def served(
    request: pytest.FixtureRequest, database_dsn: str, tls: TlsFiles
) -> AsyncIterator[Served]:
    """Hirondelle over TLS (https://localhost:<port>), then over plain http (127.0.0.1)."""
    with_tls = request.param == "https"
    async with serve_hirondelle(database_dsn, tls.ca, tls if with_tls else None) as hirondelle:
        yield Served(hirondelle, tls.ca if with_tls else None)


def _mastodon(served: Served) -> Mastodon:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would beat verify
    session.verify = served.ca or True
    return Mastodon(api_base_url=served.hirondelle.base, session=session, request_timeout=10)


async def _call(served: Served, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call a Mastodon.py method in a thread (it blocks; Hirondelle runs on this loop)."""
    client = _mastodon(served)
    return await asyncio.to_thread(getattr(client, name), *args, **kwargs)


async def _people(served: Served, peer: Peer) -> str:
    """jack; jackie, who moved to alice on `peer`; jack_quiet, findable but not public.
    Returns alice's actor id."""
    hirondelle = served.hirondelle
    pool = hirondelle.pool
    await published_entry(pool, x_account_id=str(JACK), x_handle="jack", findable=True)
    alice = peer.add_actor("alice", also_known_as=(hirondelle.actor_id(JACKIE),))
    await published_entry(
        pool,
        x_account_id=str(JACKIE),
        x_handle="jackie",
        display_name="Jackie",
        fediverse=f"alice@{peer.host}:{peer.port}",
        findable=True,
    )
    await published_entry(
        pool, x_account_id=str(QUIET), x_handle="jack_quiet", findable=True, public=False
    )
    assert await confirm_move(hirondelle.federation, JACKIE) == Moved(alice, already=False)
    return alice


def _check_jack(account: Any, hirondelle: Hirondelle) -> None:
    assert account.id == str(JACK)
    assert (account.username, account.acct, account.display_name) == ("jack", "jack", "Jack")
    assert account.url == f"{hirondelle.federation.urls.base}/@jack"
    assert account.uri == hirondelle.actor_id(JACK)
    assert [(f.name, f.value) for f in account.fields] == [
        ("X", "https://x.com/jack"),
        ("Fediverse", "https://mastodon.test/@jack"),
    ]
    assert account.moved is None


async def test_mastodon_py__instance(served: Served) -> None:
    # Given Hirondelle, served over TLS or over plain http
    hirondelle = served.hirondelle
    # When Mastodon.py reads the instance: instance() picks v2, since version >= 4.0.0
    v2 = await _call(served, "instance")
    v1 = await _call(served, "instance_v1")
    # Then both documents describe this directory, with a version Mastodon.py can parse
    assert v2.domain == hirondelle.domain
    assert v2.api_versions.mastodon == 2
    assert v2.version.startswith("4.3.0 ")
    assert v1.uri == hirondelle.domain
    assert v1.version.startswith("4.3.0 ")
    # And the client detected the version from /api/v1/instance/
    client = _mastodon(served)
    await asyncio.to_thread(client.retrieve_mastodon_version)
    assert (client.mastodon_major, client.mastodon_minor) == (4, 3)


async def test_mastodon_py__accounts(served: Served, peer: Peer) -> None:
    # Given jack, jackie (moved to alice on another server) and a non-public jack_quiet
    hirondelle = served.hirondelle
    alice = await _people(served, peer)
    # When Mastodon.py looks jack up, Then it gets a complete Account
    _check_jack(await _call(served, "account_lookup", "jack"), hirondelle)
    # And the moved entry carries `moved`, an Account for alice
    jackie = await _call(served, "account_lookup", f"jackie@{hirondelle.domain}")
    assert jackie.uri == hirondelle.actor_id(JACKIE)
    assert jackie.moved.uri == alice
    assert jackie.moved.acct == f"alice@{peer.host}:{peer.port}"
    # And search and the directory find the public entries only
    found = await _call(served, "account_search", "ja")
    assert sorted(a.username for a in found) == ["jack", "jackie"]
    results = await _call(served, "search_v2", "ja")
    assert sorted(a.username for a in results.accounts) == ["jack", "jackie"]
    assert (results.statuses, results.hashtags) == ([], [])
    listed = await _call(served, "directory")
    assert sorted(a.username for a in listed) == ["jack", "jackie"]
    _check_jack(next(a for a in listed if a.username == "jack"), hirondelle)


async def test_mastodon_py__nodeinfo(hirondelle: Hirondelle, tls: TlsFiles) -> None:
    # Given Hirondelle served over TLS, as deployed
    served = Served(hirondelle, tls.ca)
    # When Mastodon.py reads NodeInfo (/.well-known/nodeinfo, then the 2.0 document it links)
    nodeinfo = await _call(served, "instance_nodeinfo")
    # Then it is Hirondelle's, with registrations closed
    assert nodeinfo.software.name == "hirondelle"
    assert nodeinfo.openRegistrations is False


async def test_mastodon_py__nodeinfo_over_plain_http_follows_an_https_link(
    hirondelle_http: Hirondelle,
) -> None:
    # Given Hirondelle served over plain http (a local setup: deployments serve https)
    served = Served(hirondelle_http, None)
    # When Mastodon.py reads NodeInfo, Then it fails: /.well-known/nodeinfo links
    # https://{HIRONDELLE_DOMAIN}/nodeinfo/2.0 (every URL we publish is https, directory/urls.py)
    # and Mastodon.py fetches the link as given, so it speaks TLS to a plain-http server.
    with pytest.raises(MastodonNetworkError):
        await _call(served, "instance_nodeinfo")
    async with httpx.AsyncClient(base_url=hirondelle_http.base) as client:
        links = (await client.get("/.well-known/nodeinfo")).json()["links"]
    assert f"https://{hirondelle_http.domain}/nodeinfo/2.0" in [link["href"] for link in links]
