"""The Mastodon client API subset, read-only, so Mastodon.py and apps can query the directory."""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.errors import InvalidInput
from directory.routes.responses import data, federation_of, int_param
from directory.services import mastodon_api

# A 1x1 transparent PNG: the avatar and header every Account needs to name.
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


async def instance_v1(request: Request) -> Response:
    """GET /api/v1/instance (and with the trailing slash Mastodon.py uses)."""
    return data(await mastodon_api.instance_v1(federation_of(request)))


async def instance_v2(request: Request) -> Response:
    """GET /api/v2/instance."""
    return data(await mastodon_api.instance_v2(federation_of(request)))


async def accounts_lookup(request: Request) -> Response:
    """GET /api/v1/accounts/lookup?acct=name."""
    acct = request.query_params.get("acct", "")
    if not acct:
        raise InvalidInput("give ?acct=name", code="missing_acct")
    return data(await mastodon_api.lookup(federation_of(request), acct))


async def accounts_search(request: Request) -> Response:
    """GET /api/v1/accounts/search?q=…&limit=…&offset=…"""
    params = request.query_params
    limit, offset = _page(params.get("limit"), params.get("offset"), default=40, maximum=80)
    found = await mastodon_api.search_accounts(
        federation_of(request), params.get("q", ""), limit=limit, offset=offset
    )
    return data(found)


async def search_v2(request: Request) -> Response:
    """GET /api/v2/search?q=…&type=…: accounts only (the directory has no posts or tags)."""
    params = request.query_params
    limit, offset = _page(params.get("limit"), params.get("offset"), default=20, maximum=40)
    accounts = []
    if params.get("type") in (None, "", "accounts"):
        accounts = await mastodon_api.search_accounts(
            federation_of(request), params.get("q", ""), limit=limit, offset=offset
        )
    return data({"accounts": accounts, "statuses": [], "hashtags": []})


async def directory(request: Request) -> Response:
    """GET /api/v1/directory?offset=…&limit=…"""
    params = request.query_params
    limit, offset = _page(params.get("limit"), params.get("offset"), default=40, maximum=80)
    return data(await mastodon_api.directory(federation_of(request), limit=limit, offset=offset))


async def static_image(request: Request) -> Response:
    """GET /static/avatar.png and /static/header.png."""
    return Response(_PNG, media_type="image/png", headers={"Cache-Control": "max-age=86400"})


def _page(
    raw_limit: str | None, raw_offset: str | None, *, default: int, maximum: int
) -> tuple[int, int]:
    limit = int_param(raw_limit, "limit", default=default)
    offset = int_param(raw_offset, "offset", default=0)
    if offset > 1000:
        raise InvalidInput("offset goes up to 1000", code="invalid_offset")
    return max(1, min(limit, maximum)), offset


routes = [
    Route("/api/v1/instance", instance_v1, methods=["GET"]),
    Route("/api/v1/instance/", instance_v1, methods=["GET"]),
    Route("/api/v2/instance", instance_v2, methods=["GET"]),
    Route("/api/v2/instance/", instance_v2, methods=["GET"]),
    Route("/api/v1/accounts/lookup", accounts_lookup, methods=["GET"]),
    Route("/api/v1/accounts/search", accounts_search, methods=["GET"]),
    Route("/api/v2/search", search_v2, methods=["GET"]),
    Route("/api/v1/directory", directory, methods=["GET"]),
    Route("/static/avatar.png", static_image, methods=["GET"]),
    Route("/static/header.png", static_image, methods=["GET"]),
]
