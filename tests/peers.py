"""A small ActivityPub server on a loopback address, for tests that need a remote peer.

It serves actors (with keys and optional `alsoKnownAs`), WebFinger for them, and inboxes that
record every POST and answer with statuses a test chooses (fault injection). It is a real HTTP
server over TCP, so our safe client, signatures and delivery code run exactly as in production.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from activitypub import httpsig, keys

AS = "https://www.w3.org/ns/activitystreams"


@dataclasses.dataclass(frozen=True)
class Received:
    """One POST the peer received."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.body)
        return value


class Peer:
    """A fake remote server at https://{host}:{port}, its certificate signed by a test CA."""

    def __init__(self, ca: trustme.CA, workdir: Path, host: str = "127.0.0.2") -> None:
        self.host = host
        self.port = _free_port(host)
        cert = ca.issue_cert(host, "localhost")
        self._certfile, self._keyfile = workdir / f"{host}.pem", workdir / f"{host}.key"
        cert.cert_chain_pems[0].write_to_path(str(self._certfile))
        cert.private_key_pem.write_to_path(str(self._keyfile))
        self.actors: dict[str, dict[str, Any]] = {}
        self.private_keys: dict[str, str] = {}
        self.received: list[Received] = []
        self.inbox_statuses: list[int] = []  # answered in order, then 202
        self.retry_after: str | None = None  # sent with 429 and 503 answers
        self.inbox_delay = 0.0  # seconds each inbox POST takes (a slow receiver)
        self.actor_fetches: list[str] = []  # paths of actor documents fetched from us
        self.content_type = "application/activity+json"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base(self) -> str:
        return f"https://{self.host}:{self.port}"

    def add_actor(self, name: str, *, also_known_as: tuple[str, ...] = ()) -> str:
        """Create an actor `{base}/users/{name}` with its own key; return its id."""
        actor_id = f"{self.base}/users/{name}"
        pair = keys.generate_rsa_keypair()
        self.private_keys[actor_id] = pair.private_pem
        self.actors[name] = {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": actor_id,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{actor_id}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": keys.public_key_document(actor_id, pair.public_pem),
            "alsoKnownAs": list(also_known_as),
        }
        return actor_id

    def signed_post(
        self, actor_id: str, url: str, activity: Mapping[str, Any], *, now: datetime | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a POST signed by one of our actors, as a real server sends it."""
        body = orjson.dumps(activity)
        headers = {"content-type": "application/activity+json"}
        headers |= {
            k.lower(): v
            for k, v in httpsig.sign_headers(
                method="POST",
                url=url,
                headers=headers,
                body=body,
                key_id=keys.key_id(actor_id),
                private_pem=self.private_keys[actor_id],
                now=now or datetime.now(UTC),
            ).items()
        }
        return headers, body

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/users/{name}", self._actor, methods=["GET"]),
                Route("/users/{name}/inbox", self._inbox, methods=["POST"]),
                Route("/inbox", self._inbox, methods=["POST"]),
                Route("/.well-known/webfinger", self._webfinger, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(
            app,
            host=self.host,
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=str(self._certfile),
            ssl_keyfile=str(self._keyfile),
            timeout_graceful_shutdown=0,  # do not wait for our client's keep-alive connections
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110  (uvicorn offers no event to await)
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def _actor(self, request: Request) -> Response:
        self.actor_fetches.append(request.url.path)
        actor = self.actors.get(request.path_params["name"])
        if actor is None:
            return Response(status_code=404)
        return Response(orjson.dumps(actor), media_type=self.content_type)

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(request.url.path, dict(request.headers), body))
        if self.inbox_delay:
            await asyncio.sleep(self.inbox_delay)
        status = self.inbox_statuses.pop(0) if self.inbox_statuses else 202
        headers = (
            {"retry-after": self.retry_after} if self.retry_after and status in (429, 503) else {}
        )
        return Response(status_code=status, headers=headers)

    async def _webfinger(self, request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        name = resource.removeprefix("acct:").partition("@")[0]
        actor = self.actors.get(name)
        if actor is None:
            return Response(status_code=404)
        jrd = {
            "subject": f"acct:{name}@{self.host}:{self.port}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": actor["id"]}],
        }
        return Response(orjson.dumps(jrd), media_type="application/jrd+json")


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
