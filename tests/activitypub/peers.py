"""Tiny real HTTP(S) servers on loopback addresses, standing in for remote fediverse peers.

Each server answers one request per connection (`Connection: close`), records what it received
and counts every accepted connection, so tests can prove that nothing reached it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_address

import trustme

_REASONS = {200: "OK", 202: "Accepted", 302: "Found", 404: "Not Found", 410: "Gone"}


@dataclasses.dataclass(frozen=True)
class Received:
    """One request as the peer saw it; header names are lowercase."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    local_ip: str


@dataclasses.dataclass(frozen=True)
class Reply:
    """What the peer answers: status, headers, body, and optional misbehaviour."""

    status: int = 200
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    chunked: bool = False  # send the body with Transfer-Encoding: chunked, no Content-Length
    drip: float | None = None  # send headers, then one byte of body every `drip` seconds
    delay: float = 0.0  # wait this long before answering at all
    keep_alive: bool = False  # keep the connection open for the next request


Handler = Callable[[Received], Reply]


@dataclasses.dataclass
class Peer:
    """A running fake peer."""

    host: str
    port: int
    scheme: str
    connections: int = 0
    received: list[Received] = dataclasses.field(default_factory=list)

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"


def json_reply(body: bytes, content_type: str = "application/activity+json") -> Reply:
    return Reply(200, [("Content-Type", content_type)], body)


@contextlib.asynccontextmanager
async def serve(
    handler: Handler, *, host: str = "127.0.0.2", port: int = 0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Peer]:
    """Run a peer on `host` (always in 127.0.0.0/8) until the block ends."""
    assert host.startswith("127.")
    tasks: set[asyncio.Task[None]] = set()
    peer = Peer(host, port, "https" if tls else "http")

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer.connections += 1
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            while True:
                request = await _read_request(reader, writer)
                peer.received.append(request)
                reply = handler(request)
                await _write_reply(writer, reply)
                if not reply.keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            tasks.discard(task)
            writer.close()

    server = await asyncio.start_server(on_connect, host, port, ssl=tls)
    peer.port = server.sockets[0].getsockname()[1]
    try:
        yield peer
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def _read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Received:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    local_ip = writer.get_extra_info("sockname")[0]
    return Received(method, target, headers, body, local_ip)


async def _write_reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    await asyncio.sleep(reply.delay)
    reason = _REASONS.get(reply.status, "Status")
    head = [f"HTTP/1.1 {reply.status} {reason}"]
    head += [] if reply.keep_alive else ["Connection: close"]
    head += [f"{name}: {value}" for name, value in reply.headers]
    if reply.chunked:
        head.append("Transfer-Encoding: chunked")
    elif reply.drip is None:
        head.append(f"Content-Length: {len(reply.body)}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    if reply.drip is not None:
        for byte in reply.body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(reply.drip)
    elif reply.chunked:
        for start in range(0, len(reply.body), 65536):
            chunk = reply.body[start : start + 65536]
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
    else:
        writer.write(reply.body)
    await writer.drain()


def tls_server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    """A server TLS context with a certificate for `names`, issued by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def tls_client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client TLS context that trusts the test CA (pass it as `make_client(verify=...)`)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


class FakeResolver:
    """Answers from a script: each host has a list of answers, used in turn (the last repeats)."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self._answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPv4Address | IPv6Address]:
        script = self._answers.get(host)
        if script is None:
            raise OSError(f"unknown host {host}")
        answer = script[min(self.calls.count(host), len(script) - 1)]
        self.calls.append(host)
        return [ip_address(address) for address in answer]
