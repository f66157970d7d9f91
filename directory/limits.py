"""Refuse request bodies above a cap while they stream in (Content-Length is not trusted)."""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body went over the cap; answered with 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit:,} bytes")
        self.limit = limit


class BodyLimit:
    """ASGI middleware: count body bytes as they arrive and stop the request past `limit`."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and _over(value, self.limit):
                await _refuse(self.limit, send)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


async def _refuse(limit: int, send: Send) -> None:
    body = orjson.dumps({"error": "body_too_large", "detail": str(BodyTooLarge(limit))})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _over(value: bytes, limit: int) -> bool:
    return not value.isdigit() or len(value) > 15 or int(value) > limit
