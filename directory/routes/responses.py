"""JSON responses shared by every route: documents as they are stored, and errors."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import Response

from directory.errors import InvalidInput
from directory.services.federation import Federation

JSON = "application/json"
ACTIVITY_JSON = "application/activity+json"


def document(doc: str, status: int = 200) -> Response:
    """Send a stored JSON document unchanged."""
    return Response(doc.encode(), status_code=status, media_type=JSON)


def documents(key: str, docs: Iterable[str], **extra: object) -> Response:
    """Send `{"<key>": [doc, …], **extra}` by joining stored documents, without re-parsing them."""
    head = b'{"' + key.encode() + b'":['
    tail = b"".join(b"," + orjson.dumps(k) + b":" + orjson.dumps(v) for k, v in extra.items())
    body = b"".join((head, ",".join(docs).encode(), b"]", tail, b"}"))  # one copy of the body
    return Response(body, media_type=JSON)


def data(value: object, status: int = 200) -> Response:
    """Send any JSON-serialisable value."""
    return Response(orjson.dumps(value), status_code=status, media_type=JSON)


def error(status: int, code: str, detail: str) -> Response:
    """The one error shape: `{"error": code, "detail": message}`."""
    return data({"error": code, "detail": detail}, status)


def federation_of(request: Request) -> Federation:
    """The application's federation context."""
    federation: Federation = request.app.state.federation
    return federation


def activity_json(document: object, status: int = 200) -> Response:
    """Send an ActivityStreams document with the content type Mastodon requires."""
    return Response(orjson.dumps(document), status_code=status, media_type=ACTIVITY_JSON)


def pool_of(request: Request) -> asyncpg.Pool:
    """The application's database pool."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


def int_param(raw: str | None, name: str, *, default: int) -> int:
    """A whole-number query parameter, or InvalidInput naming it."""
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 6:
        raise InvalidInput(f"{name} must be a whole number", code=f"invalid_{name}")
    return int(raw)
