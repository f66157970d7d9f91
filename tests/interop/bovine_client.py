"""bovine 0.5.19 as an independent ActivityPub client of Hirondelle, for test_bovine.py.

Runs with the bovine venv's python (tests/interop/.venv-bovine/bin/python; setup.sh makes it):
bovine pins cryptography 45 and PyLD 2.0.4, which our own venv cannot have. It reads one JSON
request on stdin and prints one JSON result on stdout:

- `{"command": "follow", "acct": "jack@localhost:8443", "actor_id": ..., "key_id": ...,
  "private_key_pem": ..., "ca_file": ..., "follow_id": ...}`: resolve the acct with bovine's
  WebFinger, GET the actor with a draft-cavage signature, POST a signed Follow to its inbox.
- `{"command": "verify", "method": ..., "url": ..., "headers": {...}, "body": ...,
  "ca_file": ...}`: check a request Hirondelle sent (our Accept) with bovine's own verifier,
  fetching the signer's key from Hirondelle; prints the key owner, or null.

mypy checks this file with the rest (bovine itself is not installed in our venv: its imports
carry `type: ignore[import-not-found]`, so only bovine's own objects are unchecked).
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import sys
from typing import Any

import aiohttp  # type: ignore[import-not-found]
from bovine import BovineActor  # type: ignore[import-not-found]
from bovine.clients import lookup_uri_with_webfinger  # type: ignore[import-not-found]
from bovine.crypto import build_validate_http_signature_raw  # type: ignore[import-not-found]
from bovine.crypto.types import CryptographicIdentifier  # type: ignore[import-not-found]

AS = "https://www.w3.org/ns/activitystreams"


def _session(ca_file: str) -> aiohttp.ClientSession:
    """An aiohttp session that trusts the tests' throwaway CA (and nothing else)."""
    context = ssl.create_default_context(cafile=ca_file)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        timeout=aiohttp.ClientTimeout(total=20),
    )


def _sent(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The headers bovine sent with the request that got `response` (lowercase names)."""
    return {k.lower(): v for k, v in response.request_info.headers.items()}


async def follow(request: dict[str, Any]) -> dict[str, Any]:
    async with _session(request["ca_file"]) as session:
        # WebFinger: https://<host>/.well-known/webfinger?resource=acct:<user>@<host>
        actor_uri, _ = await lookup_uri_with_webfinger(session, f"acct:{request['acct']}")
        result: dict[str, Any] = {"webfinger": actor_uri}
        if actor_uri is None:
            return result
        actor = BovineActor(
            actor_id=request["actor_id"],
            public_key_url=request["key_id"],
            secret=request["private_key_pem"],
        )
        await actor.init(session=session)
        # A draft-cavage signed GET: (request-target) host date accept
        response = await actor.client.get(actor_uri)
        text = await response.text()
        result["get"] = {
            "status": response.status,
            "content_type": response.headers.get("content-type"),
            "signature": _sent(response).get("signature"),
            "document": json.loads(text) if response.status == 200 else text,
        }
        if response.status != 200:
            return result
        inbox = result["get"]["document"]["inbox"]
        activity = {
            "@context": AS,
            "id": request["follow_id"],
            "type": "Follow",
            "actor": request["actor_id"],
            "object": actor_uri,
        }
        # A draft-cavage signed POST: bovine's Digest token is lowercase (`sha-256=`)
        response = await actor.client.post(inbox, json.dumps(activity))
        sent = _sent(response)
        result["post"] = {
            "inbox": inbox,
            "status": response.status,
            "body": await response.text(),
            "digest": sent.get("digest"),
            "signature": sent.get("signature"),
        }
        return result


async def verify(request: dict[str, Any]) -> dict[str, Any]:
    async with _session(request["ca_file"]) as session:

        async def key_of(key_id: str) -> Any:
            response = await session.get(key_id, headers={"accept": "application/activity+json"})
            document = json.loads(await response.text())
            return CryptographicIdentifier.from_public_key(document.get("publicKey", document))

        body: bytes = request["body"].encode("utf-8")

        async def read_body() -> bytes:
            return body

        validate = build_validate_http_signature_raw(key_of)
        headers = {k.lower(): v for k, v in request["headers"].items()}
        owner = await validate(request["method"], request["url"], headers, read_body)
        return {"owner": owner}


class _Collect(logging.Handler):
    """Keeps bovine's log messages, to explain a refusal in the JSON answer."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def main() -> None:
    request = json.load(sys.stdin)
    command = {"follow": follow, "verify": verify}[request["command"]]
    collect = _Collect()
    logging.getLogger("bovine").addHandler(collect)
    logging.getLogger("bovine").setLevel(logging.DEBUG)
    result = asyncio.run(command(request))
    print(json.dumps({**result, "log": collect.lines}))


if __name__ == "__main__":
    main()
