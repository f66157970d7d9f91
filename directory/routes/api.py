"""The directory's JSON API (`/api/directory/v1/…`): look up, search and bulk-match entries."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from directory.errors import DirectoryError, InvalidInput, UnsupportedMediaType
from directory.routes.openapi import openapi
from directory.routes.responses import document, documents, int_param, pool_of
from directory.services import lookup

PREFIX = "/api/directory/v1"


async def get_entry(request: Request) -> Response:
    """GET /entries/{x_account_id}: the published entry of one X account."""
    doc = await lookup.lookup_by_x_account_id(pool_of(request), request.path_params["x_id"])
    return document(doc)


async def find_entries(request: Request) -> Response:
    """GET /entries?x_handle=… (one entry) or ?account=… (entries linking a new handle)."""
    params = request.query_params
    if "x_handle" in params and "account" not in params:
        return document(await lookup.lookup_by_x_handle(pool_of(request), params["x_handle"]))
    if "account" in params and "x_handle" not in params:
        found = await lookup.lookup_by_new_handle(pool_of(request), params["account"])
        return documents("results", found)
    raise InvalidInput("give exactly one of x_handle or account", code="missing_parameter")


async def search(request: Request) -> Response:
    """GET /search?q=…&limit=…&cursor=…: ranked, paginated search."""
    params = request.query_params
    page = await lookup.search(
        pool_of(request),
        params.get("q", ""),
        limit=int_param(params.get("limit"), "limit", default=20),
        cursor=params.get("cursor"),
    )
    return documents("results", page.docs, next_cursor=page.next_cursor)


async def match(request: Request) -> Response:
    """POST /match with {"x_account_ids": [...]} or {"x_handles": [...]}."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise DirectoryError(f"the body is not valid JSON: {exc}", code="invalid_json") from None
    if not isinstance(body, dict) or len(body.keys() & {"x_account_ids", "x_handles"}) != 1:
        raise InvalidInput(
            'the body must be an object with "x_account_ids" or "x_handles"', code="invalid_body"
        )
    if "x_account_ids" in body:
        result = await lookup.match_x_account_ids(pool_of(request), body["x_account_ids"])
    else:
        result = await lookup.match_x_handles(pool_of(request), body["x_handles"])
    return documents("matches", result.docs, unmatched=result.unmatched)


async def openapi_document(request: Request) -> Response:
    """GET /openapi.json: this API, described with OpenAPI 3.1."""
    return document(openapi(request.app.state.settings.domain))


routes = [
    Route(f"{PREFIX}/entries/{{x_id}}", get_entry, methods=["GET"]),
    Route(f"{PREFIX}/entries", find_entries, methods=["GET"]),
    Route(f"{PREFIX}/search", search, methods=["GET"]),
    Route(f"{PREFIX}/match", match, methods=["POST"]),
    Route(f"{PREFIX}/openapi.json", openapi_document, methods=["GET"]),
]
