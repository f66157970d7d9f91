"""Our actors over HTTP: the instance actor, entry actors, their collections and pages."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from directory.errors import NotFound
from directory.routes.negotiation import wants_activity_json
from directory.routes.responses import ACTIVITY_JSON, activity_json, federation_of
from directory.services import discovery
from directory.store.federation import ActorEntry

_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'",
    "X-Robots-Tag": "noindex",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept",
}


async def instance_actor(request: Request) -> Response:
    """GET /actor: the instance actor (never requires a signature, as Mastodon's)."""
    return activity_json(await discovery.instance_actor_document(federation_of(request)))


async def entry_actor(request: Request) -> Response:
    """GET /x/{x_id}: the entry actor as JSON (from the actor cache), or its page for browsers."""
    fed = federation_of(request)
    if wants_activity_json(request.headers.get("accept")):
        body = await discovery.entry_actor_body(fed, request.path_params["x_id"])
        return Response(body, media_type=ACTIVITY_JSON)
    document = await discovery.entry_actor_document(fed, request.path_params["x_id"])
    entry = await discovery.entry_by_handle(fed, document["preferredUsername"])
    return _page(fed.urls.entry_actor(entry.x_account_id), entry)


async def entry_page(request: Request) -> Response:
    """GET /@{handle}: the entry's page (rel=me links), or the actor JSON when asked for."""
    fed = federation_of(request)
    if wants_activity_json(request.headers.get("accept")):
        body = await discovery.entry_actor_body_by_handle(fed, request.path_params["handle"])
        return Response(body, media_type=ACTIVITY_JSON)
    entry = await discovery.entry_by_handle(fed, request.path_params["handle"])
    return _page(fed.urls.entry_actor(entry.x_account_id), entry)


async def collection(request: Request) -> Response:
    """GET /x/{x_id}/{followers|following|outbox}: counts only, items are not listed."""
    fed = federation_of(request)
    document = await discovery.entry_actor_document(fed, request.path_params["x_id"])
    name = request.path_params["name"]
    if name not in ("followers", "following", "outbox"):
        raise NotFound("no such collection")
    total = await discovery.collection_size(fed, int(request.path_params["x_id"]), name)
    return activity_json(
        {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{document['id']}/{name}",
            "type": "OrderedCollection",
            "totalItems": total,
        }
    )


def _page(actor_id: str, entry: ActorEntry) -> Response:
    name, handle = html.escape(entry.display_name), html.escape(entry.x_handle)
    links = "".join(
        f'<li>{html.escape(a.network.title())}: <a rel="me" href="{html.escape(a.url)}">'
        f"{html.escape(a.handle)}</a></li>"
        for a in entry.accounts
    )
    moved = (
        f'<p>Moved to <a href="{html.escape(entry.moved_to)}">{html.escape(entry.moved_to)}</a></p>'
        if entry.moved_to
        else ""
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="alternate" type="application/activity+json" href="{html.escape(actor_id)}">
<title>{name} (@{handle}) left X</title></head>
<body><main><h1>{name}</h1><p>@{handle} on X has moved. New accounts:</p>
<ul>{links}</ul>{moved}</main></body></html>
"""
    return HTMLResponse(body, headers=_PAGE_HEADERS)


routes = [
    Route("/actor", instance_actor, methods=["GET"]),
    Route("/x/{x_id}", entry_actor, methods=["GET"]),
    Route("/x/{x_id}/{name}", collection, methods=["GET"]),
    Route("/@{handle}", entry_page, methods=["GET"]),
]
