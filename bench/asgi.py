"""Call the real application in-process, without HTTP: its lifespan, and one request at a time.

Measures what the application costs (routing, middleware, handlers, database) without the
HTTP server's parsing or a client's, e.g. `await call(app, "POST", "/x/1/inbox", headers, body)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.types import Message


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@contextlib.asynccontextmanager
async def started(app: Starlette) -> AsyncIterator[Starlette]:
    """Run the application's lifespan (pool, federation context, gc.freeze) around a block."""
    async with app.router.lifespan_context(app):
        yield app


async def call(
    app: Starlette,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes = b"",
) -> Answer:
    """One request as uvicorn would pass it (`target`: raw path, then `?query` if any)."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        + ([(b"content-length", str(len(body)).encode())] if body else []),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0
    answer_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client never disconnects
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            answer_headers.update(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return Answer(status, answer_headers, b"".join(chunks))


@dataclasses.dataclass(frozen=True)
class Throughput:
    requests: int
    seconds: float
    cpu_seconds: float  # this process's CPU time (the application's, plus this driver's)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.requests * 1e6


async def drive(
    requests: int, concurrency: int, one: Callable[[int], Awaitable[object]]
) -> Throughput:
    """Run `one(i)` for i in range(requests), `concurrency` at a time; time the whole."""
    counter = iter(range(requests))

    async def lane() -> None:
        for i in counter:
            await one(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return Throughput(requests, time.perf_counter() - wall, time.process_time() - cpu)
