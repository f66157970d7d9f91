"""Hirondelle against bovine 0.5.19, a second, independent ActivityPub implementation.

bovine runs in its own venv as a subprocess (bovine_client.py). Its actor document, with the
public key Hirondelle fetches to check bovine's signatures, is served by a tiny Starlette app in
this process (plain http on loopback: HIRONDELLE_UNSAFE_ALLOW_HTTP), whose inbox records what
Hirondelle delivers. bovine then checks our Accept's signature with its own verifier.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub import keys
from tests.factories import published_entry
from tests.interop.conftest import (
    BOVINE_PYTHON,
    EVENT_TIMEOUT,
    HERE,
    Hirondelle,
    TlsFiles,
    eventually,
    require_bovine,
    serve_asgi,
)

X_ID = 44196397
HANDLE = "bovine_fan"
BOVINE_TIMEOUT = 60.0  # seconds for one bovine_client.py run (imports take ~1 s)


@dataclasses.dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value


class BovineHome:
    """Where bovine's actor lives: its document (with its key) and its inbox, over http."""

    def __init__(self) -> None:
        pair = keys.generate_rsa_keypair()
        self.private_pem, self.public_pem = pair.private_pem, pair.public_pem
        self.base = ""
        self.received: list[Delivery] = []
        self.app = Starlette(
            routes=[
                Route("/actor", self._actor, methods=["GET"]),
                Route("/actor/inbox", self._inbox, methods=["POST"]),
                Route("/inbox", self._inbox, methods=["POST"]),
            ]
        )

    @property
    def actor_id(self) -> str:
        return f"{self.base}/actor"

    async def _actor(self, request: Request) -> Response:
        document = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Service",
            "preferredUsername": "bovine",
            "inbox": f"{self.actor_id}/inbox",
            "outbox": f"{self.actor_id}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": keys.public_key_document(self.actor_id, self.public_pem),
        }
        return Response(orjson.dumps(document), media_type="application/activity+json")

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Delivery(request.url.path, dict(request.headers), body))
        return Response(status_code=202)


@pytest.fixture
async def bovine_home() -> AsyncIterator[BovineHome]:
    """bovine's home server; first of all, bovine must be installed."""
    require_bovine()
    home = BovineHome()
    async with serve_asgi(home.app, "bovine-home") as port:
        home.base = f"http://127.0.0.1:{port}"
        yield home


async def run_bovine(request: dict[str, Any]) -> dict[str, Any]:
    """Run bovine_client.py with the bovine venv's python; its JSON answer."""
    require_bovine()
    process = await asyncio.create_subprocess_exec(
        str(BOVINE_PYTHON),
        str(HERE / "bovine_client.py"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(
            process.communicate(json.dumps(request).encode()), BOVINE_TIMEOUT
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"bovine_client.py did not finish in {BOVINE_TIMEOUT} s") from None
    assert process.returncode == 0, f"bovine_client.py failed:\n{err.decode(errors='replace')}"
    answer: dict[str, Any] = json.loads(out)
    return answer


async def test_bovine__webfinger_signed_get_and_follow_accepted(
    hirondelle: Hirondelle, bovine_home: BovineHome, tls: TlsFiles
) -> None:
    # Given a published, findable entry
    await published_entry(
        hirondelle.pool,
        x_account_id=str(X_ID),
        x_handle=HANDLE,
        display_name="Bovine Fan",
        fediverse="@fan@mastodon.test",
        findable=True,
    )
    actor_id = hirondelle.actor_id(X_ID)
    follow_id = f"{bovine_home.base}/follows/1"
    # When bovine resolves acct:bovine_fan@localhost:<port>, GETs the actor signed, and POSTs a
    # signed Follow to its inbox
    result = await run_bovine(
        {
            "command": "follow",
            "acct": f"{HANDLE}@{hirondelle.domain}",
            "actor_id": bovine_home.actor_id,
            "key_id": keys.key_id(bovine_home.actor_id),
            "private_key_pem": bovine_home.private_pem,
            "ca_file": tls.ca,
            "follow_id": follow_id,
        }
    )
    # Then WebFinger gives our entry actor
    assert result["webfinger"] == actor_id, result
    # And the signed (draft-cavage) GET returns the actor as ActivityPub JSON
    got = result["get"]
    assert got["status"] == 200, got
    assert got["content_type"].startswith("application/activity+json")
    assert got["signature"].count('headers="(request-target) host date accept"') == 1
    assert (got["document"]["id"], got["document"]["type"]) == (actor_id, "Person")
    assert got["document"]["preferredUsername"] == HANDLE
    assert got["document"]["publicKey"]["id"] == f"{actor_id}#main-key"
    # And our inbox accepts bovine's signed Follow, whose Digest token is lowercase sha-256
    posted = result["post"]
    assert posted["inbox"] == f"{actor_id}/inbox"
    assert posted["digest"].startswith("sha-256="), posted
    assert posted["status"] == 202, posted

    # And when our worker has run, the Accept arrives in bovine's inbox
    async def accepted() -> list[Delivery]:
        return [d for d in bovine_home.received if d.activity.get("type") == "Accept"]

    [accept] = await eventually(
        accepted, seconds=EVENT_TIMEOUT, what="our Accept at bovine's inbox"
    )
    assert accept.path == "/actor/inbox"
    assert accept.activity["actor"] == actor_id
    assert accept.activity["object"]["id"] == follow_id
    followers = await hirondelle.pool.fetch("SELECT actor_uri FROM followers")
    assert [row["actor_uri"] for row in followers] == [bovine_home.actor_id]
    # And bovine's own verifier accepts the Accept's signature (it fetches our key itself)
    verified = await run_bovine(
        {
            "command": "verify",
            "method": "POST",
            "url": f"{bovine_home.base}{accept.path}",
            "headers": accept.headers,
            "body": accept.body.decode(),
            "ca_file": tls.ca,
        }
    )
    assert verified["owner"] == actor_id, verified["log"]
